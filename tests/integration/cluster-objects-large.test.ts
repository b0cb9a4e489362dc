/**
 * Large objects move between nodes without passing through the JS heap: a 512 MiB return made on
 * another node is pulled by the head's node in 1 MiB chunks straight into its shm store. The head's
 * peak resident memory (`VmHWM`, which counts the shm pages it writes) grows by about the object's
 * size, not twice it (a copy through the heap would add the object's size again).
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { reportOf, startCluster } from "../cluster-harness.ts";
import { runObjectsJob } from "../cluster-objects-helpers.ts";

setDefaultTimeout(240_000);
const MiB = 1 << 20;
const STORE = String(600 * MiB);

/** Peak resident memory of a process in bytes (Linux). */
function peakRss(pid: number): number {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/VmHWM:\s+(\d+) kB/);
  if (m === null) throw new Error(`No VmHWM in /proc/${pid}/status`);
  return Number(m[1]) * 1024;
}

describe("large objects", () => {
  // Reading a process's peak memory needs Linux's /proc; elsewhere there is nothing to measure with.
  test.skipIf(!existsSync("/proc/self/status"))(
    "a 512 MiB object is pulled between nodes in chunks, not through the JS heap",
    async () => {
      await using cluster = await startCluster({
        numCpus: 0,
        headArgs: ["--object-store-memory", STORE],
        headEnv: { RAYTS_OBJECT_TRANSFER: "http" },
      });
      const a = await cluster.addNode({ numCpus: 1, args: ["--object-store-memory", STORE] });
      const before = peakRss(cluster.head.pid);
      const out = await runObjectsJob(cluster, "large", [a.nodeId, a.nodeId], { timeoutMs: 200_000 });
      expect(out.stderr).toBe("");
      expect(out.code).toBe(0);
      expect(reportOf(out)).toEqual({ bytes: 512 * MiB, mismatches: 0, pulledByHead: 1 });
      const growth = peakRss(cluster.head.pid) - before;
      // The shm pages written (512 MiB) plus the runtime's own churn (about 100 MiB of 1 MiB chunks
      // awaiting collection); a copy through the heap adds another 512 MiB.
      expect(growth).toBeGreaterThan(400 * MiB);
      expect(growth).toBeLessThan(896 * MiB);
    },
  );
});
