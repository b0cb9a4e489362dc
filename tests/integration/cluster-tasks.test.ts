/**
 * Tasks placed on another node: a real head (often without CPUs of its own) and nodes on port 0, and
 * a driver connected to the head whose tasks are forwarded to a node by spillback, node affinity or a
 * custom resource; results (inline, 1 MiB in shared memory, errors) come back to the head's store;
 * a node killed with `kill -9` mid-task fails the task with NodeDiedError or retries it elsewhere.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { driverArgs, reportOf, startCluster, type TestCluster } from "../cluster-harness.ts";

const TIMEOUT = 90_000;
const JOB = resolve(import.meta.dir, "..", "fixtures", "cluster-tasks-job.ts");
const N = 1 << 17;

function run(cluster: TestCluster, ...args: string[]) {
  return cluster.rayts(driverArgs(cluster, JOB, ...args));
}

/** Resolves with the contents of `path` once it exists and is non-empty; throws at the deadline. */
async function waitForFile(path: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (existsSync(path)) {
      const text = readFileSync(path, "utf8");
      if (text.length > 0) return text;
    }
    if (Date.now() > deadline) throw new Error(`No ${path} within ${timeoutMs} ms`);
    await Bun.sleep(50);
  }
}

describe("tasks on other nodes", () => {
  test(
    "a head without CPUs spills tasks to a node; results, a 1 MiB result, ref arguments and errors come back",
    async () => {
      await using cluster = await startCluster({ numCpus: 0 });
      const node = await cluster.addNode({ numCpus: 2 });
      const out = await run(cluster, "spill");
      expect(out.stderr).toBe("");
      expect(out.code).toBe(0);
      const sum = (N * (N - 1)) / 4;
      expect(reportOf(out.stdout)).toEqual({
        squares: [1, 4, 9],
        big: ["Float64Array", N, 500.5],
        fromResult: sum + 1,
        fromPut: 2 * N,
        node: node.nodeId,
        error: "TaskError: RangeError",
      });
    },
    TIMEOUT,
  );

  test(
    "hard node affinity runs the task on that node; soft affinity to an unknown node runs anyway",
    async () => {
      await using cluster = await startCluster({ numCpus: 1 });
      const node = await cluster.addNode({ numCpus: 1 });
      const pinned = await run(cluster, "pin", node.nodeId);
      expect(pinned.stderr).toBe("");
      expect(reportOf(pinned.stdout)).toEqual({ node: node.nodeId });
      const soft = await run(cluster, "soft");
      expect(soft.stderr).toBe("");
      const status = await cluster.status();
      const head = status.nodes.find((n) => n.isHead)!;
      expect(reportOf(soft.stdout)).toEqual({ node: head.nodeId });
    },
    TIMEOUT,
  );

  test(
    "a task asking for a resource only one node has spills there without an infeasible warning",
    async () => {
      await using cluster = await startCluster({ numCpus: 1 });
      await cluster.addNode({ numCpus: 1 });
      const special = await cluster.addNode({ numCpus: 1, resources: { gpuish: 1 } });
      const out = await run(cluster, "custom");
      expect(out.stderr).toBe("");
      expect(reportOf(out.stdout)).toEqual({ node: special.nodeId });
    },
    TIMEOUT,
  );

  test(
    "kill -9 of the node running a task fails it with NodeDiedError when it has no retries",
    async () => {
      await using cluster = await startCluster({ numCpus: 0 });
      const node = await cluster.addNode({ numCpus: 1 });
      const driver = cluster.spawn(driverArgs(cluster, JOB, "die", "0"));
      expect(await waitForFile(join(cluster.dir.path, "first-attempt-node"))).toBe(node.nodeId);
      node.kill("SIGKILL");
      await driver.waitForOutput(/ERROR (\w+)/);
      expect(driver.stdout).toContain("ERROR NodeDiedError");
      expect(await driver.proc.exited).toBe(0);
    },
    TIMEOUT,
  );

  test(
    "kill -9 of the node running a task retries it on another node",
    async () => {
      await using cluster = await startCluster({ numCpus: 0 });
      const nodes = [await cluster.addNode({ numCpus: 1 }), await cluster.addNode({ numCpus: 1 })];
      const driver = cluster.spawn(driverArgs(cluster, JOB, "die", "1"));
      const first = await waitForFile(join(cluster.dir.path, "first-attempt-node"));
      const victim = nodes.find((n) => n.nodeId === first)!;
      const survivor = nodes.find((n) => n.nodeId !== first)!;
      victim.kill("SIGKILL");
      const [, where] = await driver.waitForOutput(/RESULT (\w+)/);
      expect(where).toBe(survivor.nodeId);
      expect(await driver.proc.exited).toBe(0);
    },
    TIMEOUT,
  );
});
