/**
 * Cached copies: a node keeps the objects it pulled (other nodes may pull them from it) until their
 * owner frees them, but drops unreferenced cached copies when its store needs the room, so reading
 * more objects than its store holds, one after another, works.
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

describe("cached copies", () => {
  test("a node whose store is full of cached copies drops them to pull the next object", async () => {
    await using cluster = await startCluster({ numCpus: 0, headEnv: { RAYTS_OBJECT_TRANSFER: "http" } });
    const a = await cluster.addNode({ numCpus: 1, args: ["--object-store-memory", String(40 << 20)] });
    const out = await cluster.rayts([
      "--address",
      cluster.address,
      "--token",
      cluster.token,
      JOB,
      "evict",
      cluster.token,
      a.nodeId,
      a.nodeId,
    ]);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    const n = 3 << 19;
    const r = reportOf(out);
    expect(r.sums).toEqual([n, 2 * n, 3 * n, 4 * n]);
    // The last copy is still cached there; older ones made room for it.
    const cached = r.cachedOnA as boolean[];
    expect(cached[3]).toBe(true);
    expect(cached.filter((c) => !c).length).toBeGreaterThan(0);
  });
});
