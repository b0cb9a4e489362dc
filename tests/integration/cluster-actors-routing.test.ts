/**
 * Actors callable from every node: a real head and two nodes on port 0. A task on node B calls an
 * actor on the head's node and one on node C through the handles it was given (its node passes the
 * calls to the node holding each actor's record) and through `getActor` (names live in the head's
 * table, `getIfExists` included), reads a generator method of the one on C, creates a named actor
 * that the driver then finds, and kills one by its handle.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { resolve } from "node:path";
import { driverArgs, reportOf, startCluster } from "../cluster-harness.ts";

setDefaultTimeout(120_000);

const JOB = resolve(import.meta.dir, "..", "fixtures", "cluster-actors-routing-job.ts");

describe("actors called from any node", () => {
  test("a task on node B calls actors on the head's node and on node C by handle, by name and by generator method, creates one and kills one", async () => {
    await using cluster = await startCluster({ numCpus: 1 });
    const b = await cluster.addNode({ numCpus: 1 });
    const c = await cluster.addNode({ numCpus: 1 });
    await cluster.waitForStatus((s) => s.nodes.filter((n) => n.state === "ALIVE").length === 3);
    const head = (await cluster.status()).nodes.find((n) => n.isHead)!;
    const out = await cluster.rayts(driverArgs(cluster, JOB, b.nodeId, c.nodeId));
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    expect(reportOf(out.stdout)).toEqual({
      headWhere: head.nodeId,
      driverStream: [1, 2, 3].map((i) => `${i}@${c.nodeId}`),
      here: b.nodeId,
      byHandle: [1, 1, head.nodeId, c.nodeId],
      byName: [2, 2],
      streamed: [1, 2].map((i) => `${i}@${c.nodeId}`),
      reusedCount: 3,
      clashError: expect.stringContaining(
        'ActorDiedError: Actor name "on-head" is already taken in namespace "shared"',
      ),
      mineWhere: b.nodeId,
      headCount: 4,
      mine: [b.nodeId, 2],
      afterKill: "ActorDiedError",
    });
  });

  test("a driver cancels a queued and a running call of an actor on another node; force is refused", async () => {
    await using cluster = await startCluster({ numCpus: 1 });
    const b = await cluster.addNode({ numCpus: 1 });
    const job = resolve(import.meta.dir, "..", "fixtures", "cluster-actor-cancel-job.ts");
    const r = reportOf(await cluster.rayts(driverArgs(cluster, job, b.nodeId)));
    expect(r.where).toBe(b.nodeId);
    expect(r.queued).toBe("ERR_TASK_CANCELLED");
    expect(r.running).toBe("ERR_TASK_CANCELLED");
    expect(r.force).toContain("kill the actor instead");
    expect(r.after).toBe(b.nodeId);
  });
});
