/**
 * Refs nested in a value returned from another node: the task's node owns the object the ref points
 * to (`ObjectRef.owner` is its address), and the node receiving the value borrows it before the
 * value is released there, so the driver reads it (and passes it on) after the value that carried it
 * is gone.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { reportOf, startCluster } from "../cluster-harness.ts";
import { runObjectsJob } from "../cluster-objects-helpers.ts";

setDefaultTimeout(120_000);

describe("refs nested in returned values", () => {
  for (const transfer of ["http", "copy"]) {
    test(`a ref returned inside a value from another node is owned there and stays readable (${transfer})`, async () => {
      await using cluster = await startCluster({
        numCpus: 1,
        headEnv: transfer === "http" ? { RAYTS_OBJECT_TRANSFER: "http" } : {},
      });
      const a = await cluster.addNode({ numCpus: 1 });
      const out = await runObjectsJob(cluster, "nested", [a.nodeId, a.nodeId]);
      expect(out.stderr).toBe("");
      expect(out.code).toBe(0);
      const r = reportOf(out);
      expect(r.owner).toBe(r.a);
      expect(r.owner).toBe(a.address);
      expect(r).toMatchObject({ length: 1 << 18, first: 7, sum: 7 * (1 << 18) });
    });
  }

  test("refs nested in the items of a generator task on another node stay readable", async () => {
    await using cluster = await startCluster({ numCpus: 1, headEnv: { RAYTS_OBJECT_TRANSFER: "http" } });
    const a = await cluster.addNode({ numCpus: 1 });
    const out = await runObjectsJob(cluster, "nested-gen", [a.nodeId, a.nodeId]);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    expect(reportOf(out)).toEqual({ a: a.address, owners: [a.address, a.address], firsts: [5, 6] });
  });
});
