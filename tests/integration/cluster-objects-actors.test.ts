/**
 * Actors on another node get their arguments and give their returns by the same HTTP pull path as
 * forwarded tasks: a 24 MiB argument (above the 16 MiB control frame) is pulled by the actor's node
 * from the owner, and the 24 MiB return is pulled by the driver's node from the actor's node.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { reportOf, startCluster } from "../cluster-harness.ts";
import { runObjectsJob } from "../cluster-objects-helpers.ts";

setDefaultTimeout(120_000);

describe("actor arguments and returns over HTTP", () => {
  test("a 24 MiB argument and a 24 MiB return cross between the driver and an actor on another node", async () => {
    await using cluster = await startCluster({ numCpus: 0, headEnv: { RAYTS_OBJECT_TRANSFER: "http" } });
    const a = await cluster.addNode({ numCpus: 1 });
    const out = await runObjectsJob(cluster, "actor-big", [a.nodeId, a.nodeId]);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    expect(reportOf(out)).toEqual({
      bytes: 24 * 1024 * 1024,
      mismatches: 0,
      argPulledByA: 1,
      argServedByHead: 1,
      returnServedByA: 1,
      returnPulledByHead: 1,
    });
  });
});
