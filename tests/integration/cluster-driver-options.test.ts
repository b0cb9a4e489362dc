/**
 * A connected driver's own `init()` options apply, however the address is given (`--address`,
 * `RAYTS_ADDRESS`, `init({ address })`), and its tasks run in its namespace on every node: a real
 * head and a second node, a script that sets a namespace and an environment variable in `init`.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { driverArgs, reportOf, startCluster, type TestCluster } from "../cluster-harness.ts";
import type { RunResult } from "../harness.ts";

setDefaultTimeout(90_000);

const JOB = resolve(import.meta.dir, "..", "fixtures", "cluster-driver-options-job.ts");

interface Probe {
  nodeId: string;
  namespace: string;
  env: string | null;
  nested: string;
  store: string;
}

/** Checks the script's report: init's namespace and envVars everywhere, "store2" found by name. */
function expectOptionsApplied(run: RunResult): void {
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  const report = reportOf<{ driver: string; head: string; other: string; tasks: Probe[] }>(run.stdout);
  expect(report.driver).toBe("acc2");
  expect(report.other).not.toBe("");
  expect(report.tasks).toEqual([
    { nodeId: report.head, namespace: "acc2", env: "job", nested: "acc2", store: "kept" },
    { nodeId: report.other, namespace: "acc2", env: "job", nested: "acc2", store: "kept" },
  ]);
}

async function twoNodes(): Promise<TestCluster> {
  const cluster = await startCluster({ numCpus: 1 });
  await cluster.addNode({ numCpus: 1 });
  return cluster;
}

describe("a connected driver's init options", () => {
  test("with --address, the script's init namespace and envVars apply on every node", async () => {
    await using cluster = await twoNodes();
    expectOptionsApplied(await cluster.rayts(driverArgs(cluster, JOB)));
  });

  test("with RAYTS_ADDRESS, the script's init namespace and envVars apply on every node", async () => {
    await using cluster = await twoNodes();
    expectOptionsApplied(
      await cluster.rayts([JOB], { env: { RAYTS_ADDRESS: cluster.address, RAYTS_TOKEN: cluster.token } }),
    );
  });

  test("with --address auto, the script's init namespace and envVars apply on every node", async () => {
    await using cluster = await twoNodes();
    expectOptionsApplied(await cluster.rayts(["--address", "auto", JOB]));
  });

  test("with init({ address }), tasks on every node run in the driver's namespace", async () => {
    await using cluster = await twoNodes();
    expectOptionsApplied(await cluster.rayts([JOB, "connect", cluster.address, cluster.token]));
  });

  test("an init with options after the script already used the connection fails and says to call init first", async () => {
    await using cluster = await startCluster({ numCpus: 1 });
    const run = await cluster.rayts(driverArgs(cluster, JOB, "late"));
    expect(run.stdout).toContain("PUT 7");
    expect(run.stdout).not.toContain("REPORT");
    expect(run.stderr).toContain("call await init({ … }) before any other rayts call");
    expect(run.code).not.toBe(0);
  });

  test("embedded-only init options (numCpus, resources) on a connected driver warn that the cluster's own resources apply", async () => {
    await using cluster = await startCluster({ numCpus: 1 });
    const script = join(cluster.dir.path, "cpus.ts");
    writeFileSync(
      script,
      `import { clusterResources, init } from "rayts";\nawait init({ numCpus: 8, resources: { gpuish: 1 } });\nconsole.log("CPU " + (await clusterResources()).CPU);\n`,
    );
    const run = await cluster.rayts(driverArgs(cluster, script));
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("CPU 1");
    expect(run.stderr).toContain("init() numCpus, resources apply to the embedded cluster only");
    expect(run.stderr).toContain("rayts head and rayts node");
  });
});
