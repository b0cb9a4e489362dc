/**
 * Actors waiting for resources are placed again when another node has room (Ray's pending actors):
 * a real head without CPUs and nodes on port 0. Actor X (1 CPU) takes node A's only CPU, so actor Y
 * (1 CPU) waits with three calls submitted to it; a node that joins with a free CPU takes Y, whose
 * calls run there in submission order, and whose name still finds it from another driver; X killed
 * while a node joins frees A, and Y starts on A or on the new node, exactly once. An actor waiting
 * for the head's own busy CPU moves to a node that joins the same way; actors pinned to the busy
 * node or with refs nested in their arguments stay and start there once it frees. On a head alone,
 * an actor waiting for the head's CPU still starts there once it frees.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { reportOf, startCluster, type TestCluster } from "../cluster-harness.ts";

setDefaultTimeout(120_000);

const JOB = resolve(import.meta.dir, "..", "fixtures", "cluster-actors-respill-job.ts");

function spawnDriver(cluster: TestCluster, ...args: string[]) {
  return cluster.spawn(["--address", cluster.address, "--token", cluster.token, JOB, ...args]);
}

/** The nodes an actor's constructor ran on (one line per construction), by its label. */
function built(cluster: TestCluster, label: string): string[] {
  const path = join(cluster.dir.path, `built-${label}`);
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8").split("\n").filter(Boolean);
}

async function finished(driver: ReturnType<typeof spawnDriver>) {
  const code = await driver.proc.exited;
  return { code, stdout: driver.stdout, stderr: driver.stderr };
}

describe("actors waiting for resources", () => {
  test("a node that joins with a free CPU takes the waiting actor; its calls run there in order; its name finds it", async () => {
    await using cluster = await startCluster({ numCpus: 0 });
    const a = await cluster.addNode({ numCpus: 1 });
    await cluster.waitForStatus((s) => s.nodes.filter((n) => n.state === "ALIVE").length === 2);
    const driver = spawnDriver(cluster, "join", cluster.dir.path);
    const [, xNode] = await driver.waitForOutput(/WAITING (\w+)/);
    expect(xNode).toBe(a.nodeId);
    // No node has a CPU free: Y cannot have started anywhere.
    expect(built(cluster, "y")).toEqual([]);
    const b = await cluster.addNode({ numCpus: 1 });
    const report = reportOf(await finished(driver));
    expect(report).toEqual({
      x: a.nodeId,
      calls: [
        { n: 1, node: b.nodeId },
        { n: 3, node: b.nodeId },
        { n: 6, node: b.nodeId },
      ],
    });
    expect(built(cluster, "x")).toEqual([a.nodeId]);
    expect(built(cluster, "y")).toEqual([b.nodeId]);
    // Detached and named: another driver finds it by name, on B with its state.
    const lookup = await cluster.rayts([
      "--address",
      cluster.address,
      "--token",
      cluster.token,
      JOB,
      "lookup",
    ]);
    expect(reportOf(lookup)).toEqual({ call: { n: 10, node: b.nodeId } });
    expect(built(cluster, "y")).toEqual([b.nodeId]);
  });

  test("an actor waiting for the head's busy CPU moves to a node that joins with one free", async () => {
    await using cluster = await startCluster({ numCpus: 1 });
    const head = (await cluster.status()).nodes.find((n) => n.isHead)!.nodeId;
    const driver = spawnDriver(cluster, "join", cluster.dir.path);
    const [, xNode] = await driver.waitForOutput(/WAITING (\w+)/);
    expect(xNode).toBe(head);
    expect(built(cluster, "y")).toEqual([]);
    const b = await cluster.addNode({ numCpus: 1 });
    expect(reportOf(await finished(driver))).toEqual({
      x: head,
      calls: [
        { n: 1, node: b.nodeId },
        { n: 3, node: b.nodeId },
        { n: 6, node: b.nodeId },
      ],
    });
    expect(built(cluster, "y")).toEqual([b.nodeId]);
  });

  test("killing the actor that holds the only CPU while a node joins starts the waiting actor once, on either", async () => {
    await using cluster = await startCluster({ numCpus: 0 });
    const a = await cluster.addNode({ numCpus: 1 });
    await cluster.waitForStatus((s) => s.nodes.filter((n) => n.state === "ALIVE").length === 2);
    const driver = spawnDriver(cluster, "kill", cluster.dir.path);
    const [, xNode] = await driver.waitForOutput(/WAITING (\w+)/);
    expect(xNode).toBe(a.nodeId);
    const b = await cluster.addNode({ numCpus: 1 });
    const report = reportOf(await finished(driver));
    const ran = built(cluster, "y");
    expect(ran).toHaveLength(1);
    expect([a.nodeId, b.nodeId]).toContain(ran[0] as string);
    expect(report).toEqual({
      x: a.nodeId,
      calls: [
        { n: 1, node: ran[0] },
        { n: 3, node: ran[0] },
        { n: 6, node: ran[0] },
      ],
    });
  });

  test("actors pinned to the busy node or with nested refs stay there when a node joins, and start there once it frees", async () => {
    await using cluster = await startCluster({ numCpus: 1 });
    const head = (await cluster.status()).nodes.find((n) => n.isHead)!.nodeId;
    const driver = spawnDriver(cluster, "pinned", cluster.dir.path);
    const [, xNode] = await driver.waitForOutput(/WAITING (\w+)/);
    expect(xNode).toBe(head);
    // B joins with a free CPU (its registration is what the head's node places waiting work on).
    await cluster.addNode({ numCpus: 1 });
    await cluster.waitForStatus((s) => s.nodes.filter((n) => n.state === "ALIVE").length === 2);
    writeFileSync(join(cluster.dir.path, "go"), "");
    expect(reportOf(await finished(driver))).toEqual({
      x: head,
      calls: [
        { n: 1, node: head },
        { n: 2, node: head },
      ],
    });
    expect(built(cluster, "y")).toEqual([head]);
    expect(built(cluster, "z")).toEqual([head]);
  });

  test("on a head alone, an actor waiting for the head's CPU starts there once the CPU frees", async () => {
    await using cluster = await startCluster({ numCpus: 1 });
    const head = (await cluster.status()).nodes.find((n) => n.isHead)!.nodeId;
    const driver = spawnDriver(cluster, "kill", cluster.dir.path);
    const report = reportOf(await finished(driver));
    expect(report).toEqual({
      x: head,
      calls: [
        { n: 1, node: head },
        { n: 3, node: head },
        { n: 6, node: head },
      ],
    });
    expect(built(cluster, "y")).toEqual([head]);
  });
});
