/**
 * The layout rules of placement groups (`choosePlacement`): which node gets which bundle per
 * strategy, given what each node has free and where the group's surviving bundles are.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { type Candidate, choosePlacement } from "../../src/placement/pg-choose.ts";

setDefaultTimeout(10_000);

const nodes = (...cpus: number[]) => cpus.map((cpu, i) => ({ nodeId: `n${i}`, free: { CPU: cpu } }));
const plan = (p: Map<string, number[]> | undefined) => (p === undefined ? undefined : Object.fromEntries(p));
const cpu = (n: number) => ({ CPU: n });

describe("choosing nodes for bundles", () => {
  test("PACK takes one node when one fits all, else as few as it can", () => {
    expect(plan(choosePlacement("PACK", [cpu(1), cpu(1)], [0, 1], [], nodes(1, 2)))).toEqual({ n1: [0, 1] });
    expect(plan(choosePlacement("PACK", [cpu(2), cpu(1), cpu(1)], [0, 1, 2], [], nodes(2, 2)))).toEqual({
      n0: [0],
      n1: [1, 2],
    });
    expect(choosePlacement("PACK", [cpu(2), cpu(2)], [0, 1], [], nodes(1, 2))).toBeUndefined();
  });

  test("STRICT_PACK needs one node, the one still holding the group when rescheduling", () => {
    expect(choosePlacement("STRICT_PACK", [cpu(1), cpu(1)], [0, 1], [], nodes(1, 1))).toBeUndefined();
    expect(
      plan(choosePlacement("STRICT_PACK", [cpu(1), cpu(1)], [1], ["n1", undefined], nodes(4, 1))),
    ).toEqual({
      n1: [1],
    });
    expect(
      choosePlacement("STRICT_PACK", [cpu(1), cpu(1)], [1], ["n1", undefined], nodes(4, 0)),
    ).toBeUndefined();
  });

  test("STRICT_SPREAD puts each bundle on a node without another bundle of the group", () => {
    expect(
      plan(choosePlacement("STRICT_SPREAD", [cpu(1), cpu(1), cpu(1)], [0, 1, 2], [], nodes(3, 3, 3))),
    ).toEqual({
      n0: [0],
      n1: [1],
      n2: [2],
    });
    expect(choosePlacement("STRICT_SPREAD", [cpu(1), cpu(1)], [0, 1], [], nodes(8))).toBeUndefined();
    // Rescheduling: the lost bundle 1 may not join bundle 0 on n0, though n0 has room.
    expect(
      choosePlacement("STRICT_SPREAD", [cpu(1), cpu(1)], [1], ["n0", undefined], nodes(8)),
    ).toBeUndefined();
    expect(
      plan(choosePlacement("STRICT_SPREAD", [cpu(1), cpu(1)], [1], ["n0", undefined], nodes(8, 1))),
    ).toEqual({
      n1: [1],
    });
  });

  test("SPREAD balances bundles over the nodes that fit, and doubles up when it must", () => {
    expect(
      plan(choosePlacement("SPREAD", [cpu(1), cpu(1), cpu(1), cpu(1)], [0, 1, 2, 3], [], nodes(2, 2))),
    ).toEqual({
      n0: [0, 2],
      n1: [1, 3],
    });
    expect(plan(choosePlacement("SPREAD", [cpu(1), cpu(1)], [0, 1], [], nodes(0, 2)))).toEqual({
      n1: [0, 1],
    });
  });

  test("a bundle's every resource must fit, custom ones included", () => {
    const free: Candidate[] = [
      { nodeId: "a", free: { CPU: 4 } },
      { nodeId: "b", free: { CPU: 1, disk: 1 } },
    ];
    expect(plan(choosePlacement("PACK", [{ CPU: 1, disk: 1 }], [0], [], free))).toEqual({ b: [0] });
    expect(choosePlacement("PACK", [{ CPU: 2, disk: 1 }], [0], [], free)).toBeUndefined();
  });
});
