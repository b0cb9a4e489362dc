/** The work every system runs, as one plain function so each pool's worker file is a thin wrapper. */

/** One task of the peer workloads. */
export type Task = { kind: "tiny" } | { kind: "spin"; ms: number } | { kind: "read"; array: Float64Array };

/**
 * Runs `task`: `tiny` returns a constant, `spin` busy-loops for `ms`, `read` touches one element per
 * 4 KiB page of the array (so every page is mapped, yet copying, not summing, dominates).
 */
export function runTask(task: Task): number {
  switch (task.kind) {
    case "tiny":
      return 0;
    case "spin": {
      const end = performance.now() + task.ms;
      let n = 0;
      while (performance.now() < end) n++;
      return n;
    }
    case "read": {
      let sum = 0;
      const a = task.array;
      for (let i = 0; i < a.length; i += 512) sum += a[i]!;
      return sum + a.length;
    }
  }
}
