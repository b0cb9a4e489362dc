import { describe, expect, test } from "bun:test";
import { viewNodes } from "../../src/cluster/_validate.ts";
import type { NodeReport, RegisterRequest } from "../../src/cluster/cluster-protocol.ts";
import { NodeTable, UnknownNodeError } from "../../src/cluster/node-table.ts";
import { InvalidMessageError } from "../../src/transport/transport-errors.ts";

function report(cpu: number, used = 0, pending = 0): NodeReport {
  return {
    total: { CPU: cpu },
    available: { CPU: cpu - used },
    pendingDemand: pending > 0 ? [{ demand: { CPU: 1 }, count: pending }] : [],
    store: { objects: 1, usedBytes: 10, capacityBytes: 100 },
  };
}

function request(nodeId: string, cpu = 1): RegisterRequest {
  return { nodeId, address: `127.0.0.1:${nodeId.length}`, pid: 1, hostname: "h", report: report(cpu) };
}

function table() {
  let now = 0;
  const t = new NodeTable({ deadAfterMs: 5000, now: () => now });
  return { t, advance: (ms: number) => (now += ms) };
}

describe("NodeTable", () => {
  test("a node silent past the limit is declared dead by sweep, the head's own node never", () => {
    const { t, advance } = table();
    t.register(request("head"), true);
    t.register(request("a"));
    advance(5000);
    expect(t.sweep()).toEqual([]);
    advance(1);
    const dead = t.sweep();
    expect(dead.map((d) => d.nodeId)).toEqual(["a"]);
    expect(dead[0]?.reason).toContain("no heartbeat for 5.0 s");
    expect(t.isAlive("head")).toBe(true);
    expect(t.sweep()).toEqual([]);
  });

  test("heartbeats keep a node alive and replace its report", () => {
    const { t, advance } = table();
    t.register(request("a", 2));
    for (let i = 0; i < 10; i++) {
      advance(1000);
      t.heartbeat("a", report(2, 1));
    }
    expect(t.sweep()).toEqual([]);
    expect(t.status("s", "addr").available).toEqual({ CPU: 1 });
  });

  test("status sums alive nodes only and merges pending demand of the same shape", () => {
    const { t } = table();
    t.register({ ...request("a", 2), report: report(2, 1, 3) });
    t.register({ ...request("b", 4), report: report(4, 0, 2) });
    t.register(request("c", 8));
    t.markDead("c", "gone");
    const s = t.status("s", "addr");
    expect(s.total).toEqual({ CPU: 6 });
    expect(s.available).toEqual({ CPU: 5 });
    expect(s.pendingDemand).toEqual([{ demand: { CPU: 1 }, count: 5 }]);
    expect(s.store).toEqual({ objects: 2, usedBytes: 20, capacityBytes: 200 });
    expect(s.nodes.find((n) => n.nodeId === "c")).toMatchObject({ state: "DEAD", deathReason: "gone" });
  });

  test("heartbeats of unknown or dead nodes, and a second register of one id, throw UnknownNodeError", () => {
    const { t } = table();
    expect(() => t.heartbeat("x", report(1))).toThrow(UnknownNodeError);
    t.register(request("a"));
    expect(() => t.register(request("a"))).toThrow(UnknownNodeError);
    t.markDead("a", "gone");
    expect(() => t.heartbeat("a", report(1))).toThrow(/declared dead/);
    expect(() => t.register(request("a"))).toThrow(/declared dead/);
    expect(t.markDead("a", "again")).toBeUndefined();
  });

  test("only the newest dead nodes are kept", () => {
    let now = 0;
    const t = new NodeTable({ deadAfterMs: 1, now: () => now, maxDeadKept: 2 });
    for (const id of ["a", "b", "c"]) {
      t.register(request(id));
      t.markDead(id, "gone");
    }
    now++;
    expect(t.status("s", "x").nodes.map((n) => n.nodeId)).toEqual(["b", "c"]);
  });

  test("view lists the alive nodes with address, hostname and last reported resources", () => {
    const { t } = table();
    t.register(request("head", 2), true);
    t.register(request("a", 4));
    t.register(request("bb", 8));
    t.heartbeat("a", report(4, 3));
    t.markDead("bb", "gone");
    expect(t.view()).toEqual([
      { nodeId: "head", address: "127.0.0.1:4", hostname: "h", total: { CPU: 2 }, available: { CPU: 2 } },
      { nodeId: "a", address: "127.0.0.1:1", hostname: "h", total: { CPU: 4 }, available: { CPU: 1 } },
    ]);
    // What a node receives checks out as the same list.
    expect(viewNodes(JSON.parse(JSON.stringify(t.view())), "nodes")).toEqual(t.view());
  });

  test("a malformed view is refused with the field that is wrong", () => {
    expect(() => viewNodes({}, "nodes")).toThrow(InvalidMessageError);
    expect(() => viewNodes([{ nodeId: "a", address: "x:1", hostname: "h", total: {} }], "nodes")).toThrow(
      "Invalid nodes[0].available: expected a map of amounts",
    );
    expect(() =>
      viewNodes(
        [{ nodeId: "a", address: "x:1", hostname: "h", total: { CPU: "2" }, available: {} }],
        "nodes",
      ),
    ).toThrow("Invalid nodes[0].total.CPU: expected a finite number");
  });
});
