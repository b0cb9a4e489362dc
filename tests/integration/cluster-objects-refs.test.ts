/**
 * Reference counting across nodes: an actor on another node that keeps a ref (it arrived nested in a
 * call's argument) borrows the object from its owner, so the object stays alive at the owner after
 * the driver dropped its own ref; once the actor drops it too, the owner frees the object and tells
 * the node holding a copy to drop it (each node's `GET /objects` lists the values it holds). A
 * borrower whose node is killed stops counting. An object whose only copy was on a node that died is
 * lost, and the error says so (and that the task must be re-run).
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { reportOf, startCluster } from "../cluster-harness.ts";
import { runObjectsJob } from "../cluster-objects-helpers.ts";

setDefaultTimeout(120_000);

describe("borrowed objects", () => {
  for (const transfer of ["http", "copy"]) {
    test(`a borrower keeps an object alive after the owner's driver dropped it; freed everywhere once it lets go (${transfer})`, async () => {
      await using cluster = await startCluster({
        numCpus: 0,
        headEnv: transfer === "http" ? { RAYTS_OBJECT_TRANSFER: "http" } : {},
      });
      const a = await cluster.addNode({ numCpus: 1 });
      const out = await runObjectsJob(cluster, "borrow", [a.nodeId, a.nodeId]);
      expect(out.stderr).toBe("");
      expect(out.code).toBe(0);
      expect(reportOf(out)).toEqual({
        kept: true,
        readAfterDrop: 1 << 19,
        ownerAfterDrop: true,
        aAfterDrop: true,
        ownerFreed: true,
        aFreed: true,
      });
    });
  }

  test("the owner frees an object once its only borrower's node is killed", async () => {
    await using cluster = await startCluster({ numCpus: 0, headEnv: { RAYTS_OBJECT_TRANSFER: "http" } });
    const a = await cluster.addNode({ numCpus: 1 });
    const out = await runObjectsJob(cluster, "borrower-dies", [a.nodeId, String(a.pid)]);
    expect(out.code).toBe(0);
    expect(reportOf(out)).toEqual({ ownerAfterDrop: true, ownerFreed: true });
  });

  test("an object whose only copy was on a killed node is lost, and the error names that node and says to re-run the task", async () => {
    await using cluster = await startCluster({
      numCpus: 0,
      // Over HTTP the return stays on the node that made it until someone reads it.
      headEnv: { RAYTS_OBJECT_TRANSFER: "http" },
    });
    const a = await cluster.addNode({ numCpus: 1 });
    const out = await runObjectsJob(cluster, "holder-dies", [a.nodeId, String(a.pid)]);
    expect(out.code).toBe(0);
    const report = reportOf(out) as { onlyOnA: boolean; a: string; error?: Record<string, string> };
    expect(report.onlyOnA).toBe(true);
    expect(report.error?.name).toBe("ObjectLostError");
    expect(report.error?.code).toBe("ERR_OBJECT_LOST");
    expect(report.error?.message).toContain(`its only copies were on node ${report.a}, which died`);
    expect(report.error?.message).toContain("re-run the task that made it");
    expect(report.error?.message).not.toContain("keep an ObjectRef");
  });
});
