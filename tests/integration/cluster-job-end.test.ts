/**
 * A driver's tasks end with it on a real cluster: when its process exits, its running tasks' workers
 * are stopped on every node (their CPUs free, their side effects stop), its queued and infeasible
 * tasks are dropped (no pending demand left), while another driver's task on the same node runs on.
 * The infeasible task's warning reaches the connected driver's stderr.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { driverArgs, startCluster, type TestCluster } from "../cluster-harness.ts";
import { tempDir } from "../harness.ts";

setDefaultTimeout(120_000);

const JOB = resolve(import.meta.dir, "..", "fixtures", "cluster-job-end-job.ts");

function run(cluster: TestCluster, ...args: string[]) {
  return cluster.rayts(driverArgs(cluster, JOB, ...args));
}

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 50));
}

describe("a job's tasks end with its driver", () => {
  test("running tasks are stopped, queued and infeasible ones dropped; another driver's task runs on", async () => {
    await using cluster = await startCluster({ numCpus: 2 });
    const node = await cluster.addNode({ numCpus: 2 });
    const status = await cluster.waitForStatus(
      (s) => s.nodes.filter((n) => n.state === "ALIVE").length === 2,
    );
    const head = status.nodes.find((n) => n.isHead)?.nodeId ?? "";
    await using dir = tempDir("rayts-job-end-");
    const other = run(cluster, "other", dir.path, head);
    await until(() => existsSync(join(dir.path, "other-ready")));

    const held = await run(cluster, "hold", dir.path, head, node.nodeId);
    expect(held.stdout).toContain("READY");
    expect(held.code).toBe(0);
    // Issue 2: the connected driver hears that its task can never run.
    expect(held.stderr).toContain("rayts: warning: Task needsNever is infeasible");
    expect(held.stderr).toContain("rayts: warning: Actor Never is infeasible");

    // Every CPU but the other driver's is free again, and nothing of the ended job is pending.
    const after = await cluster.waitForStatus(
      (s) => s.available.CPU === 3 && s.pendingDemand.length === 0,
      60_000,
    );
    expect(after.total.CPU).toBe(4);
    const beats = ["h0", "n0", "n1"].map((n) => readFileSync(join(dir.path, `beat-${n}`), "utf8"));

    // The other driver's task, still running, finishes once released; the ended job's do not.
    writeFileSync(join(dir.path, "release"), "");
    const done = await other;
    expect(done.stderr).toBe("");
    expect(done.stdout).toContain("RESULT other");
    expect(done.code).toBe(0);
    expect(existsSync(join(dir.path, "done-other"))).toBe(true);
    for (const n of ["h0", "n0", "n1", "queued"]) expect(existsSync(join(dir.path, `done-${n}`))).toBe(false);
    expect(existsSync(join(dir.path, "started-queued"))).toBe(false);
    expect(["h0", "n0", "n1"].map((n) => readFileSync(join(dir.path, `beat-${n}`), "utf8"))).toEqual(beats);
  });
});
