/**
 * The driver of the cluster object tests: `fixtures/cluster-objects-job.ts` run against a test
 * cluster in one of its modes, with the cluster's token and the mode's own arguments (node ids,
 * pids) after the mode. Read what it printed with `reportOf` from `cluster-harness.ts`.
 */
import { resolve } from "node:path";
import { driverArgs, type TestCluster } from "./cluster-harness.ts";
import type { RunOptions, RunResult } from "./harness.ts";

/** The job script every mode runs in. */
export const OBJECTS_JOB: string = resolve(import.meta.dir, "fixtures", "cluster-objects-job.ts");

/** Runs `cluster-objects-job.ts <mode> <token> args…` as a driver of `cluster`, to completion. */
export function runObjectsJob(
  cluster: TestCluster,
  mode: string,
  args: readonly string[],
  options: RunOptions = {},
): Promise<RunResult> {
  return cluster.rayts(driverArgs(cluster, OBJECTS_JOB, mode, cluster.token, ...args), options);
}
