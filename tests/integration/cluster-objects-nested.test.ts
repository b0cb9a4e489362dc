/**
 * Refs nested in a value returned from another node: the task's node owns the object the ref points
 * to (`ObjectRef.owner` is its address), and the node receiving the value borrows it before the
 * value is released there, so the driver reads it (and passes it on) after the value that carried it
 * is gone.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { resolve } from "node:path";
import { startCluster } from "../cluster-harness.ts";

setDefaultTimeout(120_000);
const JOB = resolve(import.meta.dir, "..", "fixtures", "cluster-objects-job.ts");

function reportOf(out: { stdout: string; stderr: string }): Record<string, unknown> {
  const line = out.stdout.split("\n").find((l) => l.startsWith("REPORT "));
  if (line === undefined) throw new Error(`No report in the driver's output: ${out.stdout}\n${out.stderr}`);
  return JSON.parse(line.slice("REPORT ".length)) as Record<string, unknown>;
}

describe("refs nested in returned values", () => {
  for (const transfer of ["http", "copy"]) {
    test(`a ref returned inside a value from another node is owned there and stays readable (${transfer})`, async () => {
      await using cluster = await startCluster({
        numCpus: 1,
        headEnv: transfer === "http" ? { RAYTS_OBJECT_TRANSFER: "http" } : {},
      });
      const a = await cluster.addNode({ numCpus: 1 });
      const out = await cluster.rayts([
        "--address",
        cluster.address,
        "--token",
        cluster.token,
        JOB,
        "nested",
        cluster.token,
        a.nodeId,
        a.nodeId,
      ]);
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
    const out = await cluster.rayts([
      "--address",
      cluster.address,
      "--token",
      cluster.token,
      JOB,
      "nested-gen",
      cluster.token,
      a.nodeId,
      a.nodeId,
    ]);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    expect(reportOf(out)).toEqual({ a: a.address, owners: [a.address, a.address], firsts: [5, 6] });
  });
});
