/**
 * Actors on other nodes that die: a real head without CPUs and nodes on port 0. `kill -9` of an
 * actor's node restarts it on another node when `maxRestarts` allows (constructor arguments kept,
 * a call in flight sent again under `maxTaskRetries`, later calls served there), and fails its calls
 * with ActorDiedError caused by NodeDiedError when it does not; an actor that dies by itself there
 * (a throwing constructor, crashes beyond `maxRestarts`) releases its name in the head's table.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { driverArgs, reportOf, startCluster, type TestCluster } from "../cluster-harness.ts";

setDefaultTimeout(120_000);

const JOB = resolve(import.meta.dir, "..", "fixtures", "cluster-actors-restart-job.ts");

/** Resolves once every file exists (the calls writing them are running). */
async function markers(...paths: string[]): Promise<void> {
  while (!paths.every((p) => existsSync(p))) await Bun.sleep(50);
}

function spawnDriver(cluster: TestCluster, ...args: string[]) {
  return cluster.spawn(driverArgs(cluster, JOB, ...args));
}

describe("actors whose node dies", () => {
  test("kill -9 of the node restarts the actor on another node with its constructor arguments", async () => {
    await using cluster = await startCluster({ numCpus: 0 });
    const a = await cluster.addNode({ numCpus: 1 });
    const b = await cluster.addNode({ numCpus: 1 });
    await cluster.waitForStatus((s) => s.nodes.filter((n) => n.state === "ALIVE").length === 3);
    const driver = spawnDriver(cluster, "restart", cluster.dir.path);
    const [, first, plainFirst] = await driver.waitForOutput(/WHERE (\w+) (\w+)/);
    await markers(join(cluster.dir.path, "retried"), join(cluster.dir.path, "plain"));
    expect(plainFirst).toBe(first!);
    const [doomed, survivor] = first === a.nodeId ? [a, b] : [b, a];
    expect(first).toBe(doomed.nodeId);
    doomed.kill("SIGKILL");
    expect(await driver.proc.exited).toBe(0);
    expect(driver.stderr).toBe("");
    expect(reportOf(driver.stdout)).toEqual({
      retriedOn: survivor.nodeId,
      lost: "ActorDiedError<NodeDiedError>",
      count: 11,
      plainWhere: survivor.nodeId,
      plainCount: 1,
    });
  });

  test("with no other node that fits, the actor restarts on the node that placed it", async () => {
    await using cluster = await startCluster({ numCpus: 1 });
    const node = await cluster.addNode({ numCpus: 1 });
    const head = (await cluster.status()).nodes.find((n) => n.isHead)!;
    const driver = spawnDriver(cluster, "adopt", cluster.dir.path, node.nodeId);
    const [, where] = await driver.waitForOutput(/WHERE (\w+)/);
    expect(where).toBe(node.nodeId);
    await markers(join(cluster.dir.path, "adopted"));
    node.kill("SIGKILL");
    expect(await driver.proc.exited).toBe(0);
    expect(driver.stderr).toBe("");
    expect(reportOf(driver.stdout)).toEqual({ retriedOn: head.nodeId, where: head.nodeId, count: 6 });
  });

  test("without maxRestarts, kill -9 of the node fails pending and later calls with ActorDiedError caused by NodeDiedError", async () => {
    await using cluster = await startCluster({ numCpus: 0 });
    const node = await cluster.addNode({ numCpus: 1 });
    const driver = spawnDriver(cluster, "norestart", cluster.dir.path);
    const [, where] = await driver.waitForOutput(/WHERE (\w+)/);
    await markers(join(cluster.dir.path, "pending"));
    expect(where).toBe(node.nodeId);
    node.kill("SIGKILL");
    expect(await driver.proc.exited).toBe(0);
    expect(reportOf(driver.stdout)).toEqual({
      pending: "ActorDiedError<NodeDiedError>",
      next: "ActorDiedError<NodeDiedError>",
    });
  });
});

describe("actors that die by themselves on another node", () => {
  test("a throwing constructor and crashes beyond maxRestarts release the actor's name", async () => {
    await using cluster = await startCluster({ numCpus: 0 });
    await cluster.addNode({ numCpus: 1 });
    const out = await cluster.rayts(driverArgs(cluster, JOB, "selfdeath"));
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    expect(reportOf(out.stdout)).toEqual({
      ctorError: "ActorDiedError<RangeError>",
      brokenFree: true,
      firstCrash: "ActorDiedError",
      restarted: 1,
      secondCrash: "ActorDiedError",
      crashingFree: true,
      again: 42,
    });
  });
});
