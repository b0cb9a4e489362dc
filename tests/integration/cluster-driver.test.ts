/**
 * Drivers connected to a running cluster: a real head on port 0, and scripts run by `rayts` with
 * `--address`, `RAYTS_ADDRESS` or `init({ address })` that submit tasks, use an actor, read a large
 * object zero-copy from the head's shared memory, and exit when done.
 */
import { describe, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  type ClusterProcess,
  driverArgs,
  reportOf,
  startCluster,
  type TestCluster,
} from "../cluster-harness.ts";

const TIMEOUT = 60_000;
const JOB = resolve(import.meta.dir, "..", "fixtures", "cluster-driver-job.ts");
const N = 1 << 17;

interface Report {
  squares: number[];
  count: number;
  type: [string, number, number];
  bufferOverhead: number;
  sharedMemory: number;
  taskSum: number;
  based: number;
  ready: number;
}

function expectJobDone(report: Report): void {
  expect(report.squares).toEqual([1, 4, 9, 16]);
  expect(report.count).toBe(5);
  expect(report.type).toEqual(["Float64Array", N, 12345]);
  // A view over the head's shm segment: about the object's own size, shared by both gets and the task.
  expect(report.bufferOverhead).toBeGreaterThanOrEqual(0);
  expect(report.bufferOverhead).toBeLessThan(64 * 1024);
  expect(report.sharedMemory).toBe(4242);
  expect(report.taskSum).toBe((N * (N - 1)) / 2 - 1 + 4242);
  expect(report.based).toBe(101);
  expect(report.ready).toBe(1);
}

/** How many times the job's top-level driver code ran in this sandbox. */
function topLevelRuns(cluster: TestCluster): number {
  const file = join(cluster.dir.path, "driver-top-level.log");
  return existsSync(file) ? readFileSync(file, "utf8").trim().split("\n").length : 0;
}

async function storeUse(cluster: TestCluster): Promise<number> {
  return (await cluster.status()).store.usedBytes;
}

describe("drivers connected to a running cluster", () => {
  test(
    "a script run with --address and --token runs tasks, an actor and zero-copy objects, then exits 0",
    async () => {
      await using cluster = await startCluster({ numCpus: 2 });
      const run = await cluster.rayts(driverArgs(cluster, JOB, "run"));
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expectJobDone(reportOf<Report>(run.stdout));
      // The head's workers loaded the script without its driver code.
      expect(topLevelRuns(cluster)).toBe(1);
    },
    TIMEOUT,
  );

  test(
    "RAYTS_ADDRESS=auto finds the local head and its token file",
    async () => {
      await using cluster = await startCluster({ numCpus: 2 });
      const run = await cluster.rayts([JOB, "run"], { env: { RAYTS_ADDRESS: "auto" } });
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expectJobDone(reportOf<Report>(run.stdout));
    },
    TIMEOUT,
  );

  test(
    "init({ address, token }) connects a script run without an address",
    async () => {
      await using cluster = await startCluster({ numCpus: 2 });
      const run = await cluster.rayts([JOB, "init", cluster.address, cluster.token]);
      expect(run.stderr).toBe("");
      expect(run.code).toBe(0);
      expectJobDone(reportOf<Report>(run.stdout));
    },
    TIMEOUT,
  );

  test(
    "a wrong token fails with a clear error and exit code 1",
    async () => {
      await using cluster = await startCluster();
      const run = await cluster.rayts(["--address", cluster.address, "--token", "wrong", JOB, "run"]);
      expect(run.code).toBe(1);
      expect(run.stderr).toContain(`Cannot connect to ${cluster.address}`);
      expect(run.stderr.toLowerCase()).toContain("token");
      expect(topLevelRuns(cluster)).toBe(0);
    },
    TIMEOUT,
  );

  test(
    "killing a driver releases the objects it held on the head",
    async () => {
      await using cluster = await startCluster();
      const before = await storeUse(cluster);
      const driver: ClusterProcess = cluster.spawn(["--address", cluster.address, JOB, "hold"]);
      await driver.waitForOutput(/HOLDING \w+/);
      await cluster.waitForStatus((s) => s.store.usedBytes >= before + 8 * 1024 * 1024, 45_000);
      driver.kill("SIGKILL");
      await driver.proc.exited;
      await cluster.waitForStatus((s) => s.store.usedBytes < before + 1024 * 1024, 45_000);
    },
    TIMEOUT,
  );

  test(
    "two drivers run at once against one head",
    async () => {
      await using cluster = await startCluster({ numCpus: 2 });
      const runs = await Promise.all([
        cluster.rayts(["--address", cluster.address, JOB, "run"]),
        cluster.rayts(["--address", cluster.address, JOB, "run"]),
      ]);
      for (const run of runs) {
        expect(run.stderr).toBe("");
        expect(run.code).toBe(0);
        expectJobDone(reportOf<Report>(run.stdout));
      }
    },
    TIMEOUT,
  );
});
