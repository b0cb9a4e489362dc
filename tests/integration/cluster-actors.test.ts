/**
 * The cluster as drivers see it and actors on another node: a real head without CPUs and a node on
 * port 0; `nodes()` and the resource calls answer for both; an actor that cannot fit the head's node
 * is created on the other node, keeps its state, is found by name from a second driver and killed;
 * `kill -9` of its node fails its pending and next calls with ActorDiedError.
 */
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { driverArgs, reportOf, startCluster, type TestCluster } from "../cluster-harness.ts";

const TIMEOUT = 90_000;
const JOB = resolve(import.meta.dir, "..", "fixtures", "cluster-actors-job.ts");

function run(cluster: TestCluster, ...args: string[]) {
  return cluster.rayts(driverArgs(cluster, JOB, ...args));
}

describe("actors on other nodes", () => {
  test(
    "nodes() lists every node; a named actor lives on the node with CPUs, keeps state, is found and killed",
    async () => {
      await using cluster = await startCluster({ numCpus: 0 });
      const node = await cluster.addNode({ numCpus: 2 });
      const status = await cluster.status();
      const head = status.nodes.find((n) => n.isHead)!;
      const created = await run(cluster, "create");
      expect(created.stderr).toBe("");
      expect(created.code).toBe(0);
      const expected = [
        [head.nodeId, 0],
        [node.nodeId, 2],
      ].sort((a, b) => ((a[0] as string) < (b[0] as string) ? -1 : 1));
      const report = reportOf(created.stdout);
      expect(report.nodes).toEqual(expected);
      expect(report.total).toBe(2);
      expect(report.free).toBe(2);
      expect(report.where).toBe(node.nodeId);
      expect(report.counts).toEqual([1, 2, 5]);
      const found = await run(cluster, "lookup");
      expect(found.stderr).toBe("");
      expect(reportOf(found.stdout)).toEqual({
        where: node.nodeId,
        count: 6,
        after: "ActorDiedError",
        gone: expect.any(String),
      });
      expect(reportOf(found.stdout).gone).not.toBe("none");
    },
    TIMEOUT,
  );

  test(
    "hard node affinity creates the actor on that node; soft affinity to an unknown node stays here, hard fails",
    async () => {
      await using cluster = await startCluster({ numCpus: 1 });
      const node = await cluster.addNode({ numCpus: 1 });
      const head = (await cluster.status()).nodes.find((n) => n.isHead)!;
      const out = await run(cluster, "pin", node.nodeId);
      expect(out.stderr).toBe("");
      expect(reportOf(out.stdout)).toEqual({
        pinned: node.nodeId,
        soft: head.nodeId,
        hard: "ActorDiedError",
      });
    },
    TIMEOUT,
  );

  test(
    "kill -9 of an actor's node fails its pending and next calls with ActorDiedError",
    async () => {
      await using cluster = await startCluster({ numCpus: 0 });
      const node = await cluster.addNode({ numCpus: 1 });
      const driver = cluster.spawn(driverArgs(cluster, JOB, "die"));
      const [, where] = await driver.waitForOutput(/WHERE (\w+)/);
      expect(where).toBe(node.nodeId);
      node.kill("SIGKILL");
      const [, pending, next] = await driver.waitForOutput(/ERRORS (\w+) (\w+)/);
      expect([pending, next]).toEqual(["ActorDiedError", "ActorDiedError"]);
      expect(await driver.proc.exited).toBe(0);
    },
    TIMEOUT,
  );
});
