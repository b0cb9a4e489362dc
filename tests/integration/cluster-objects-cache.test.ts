/**
 * Cached copies: a node keeps the objects it pulled (other nodes may pull them from it) until their
 * owner frees them, but drops unreferenced cached copies when its store needs the room, so reading
 * more objects than its store holds, one after another, works. A freed large copy whose block a
 * worker still holds makes the node ask its workers to collect, so the block comes back soon.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { reportOf, startCluster } from "../cluster-harness.ts";
import { runObjectsJob } from "../cluster-objects-helpers.ts";

setDefaultTimeout(120_000);

describe("cached copies", () => {
  test("a node whose store is full of cached copies drops them to pull the next object", async () => {
    await using cluster = await startCluster({ numCpus: 0, headEnv: { RAYTS_OBJECT_TRANSFER: "http" } });
    const a = await cluster.addNode({ numCpus: 1, args: ["--object-store-memory", String(40 << 20)] });
    const out = await runObjectsJob(cluster, "evict", [a.nodeId, a.nodeId]);
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

  test("a freed object's copy whose block a worker still viewed makes the node ask its workers to collect, and goes back to the store", async () => {
    await using cluster = await startCluster({ numCpus: 0, headEnv: { RAYTS_OBJECT_TRANSFER: "http" } });
    const a = await cluster.addNode({ numCpus: 1 });
    const out = await runObjectsJob(cluster, "free-held", [a.nodeId, a.nodeId]);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    const r = reportOf(out);
    expect(r.sum).toBe(2 << 20);
    expect(r.heldByA).toBeGreaterThanOrEqual(16 << 20);
    expect(r.releasedOnA).toBe(true);
    expect(r.gcRoundsOnA).toBeGreaterThanOrEqual(1);
  });
});
