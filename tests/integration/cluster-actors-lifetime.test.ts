/**
 * Actor lifetimes across driver processes on a real cluster: when the driver that created them
 * exits, its non-detached actors die (on the head's node and on other nodes, their names released
 * and their resources freed), while a detached actor lives on and another driver finds it with
 * `getActor`. What the driver's tasks and actors created (actors, placement groups) ends with it too.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { resolve } from "node:path";
import { driverArgs, reportOf, startCluster, type TestCluster } from "../cluster-harness.ts";

setDefaultTimeout(120_000);

const JOB = resolve(import.meta.dir, "..", "fixtures", "cluster-actors-lifetime-job.ts");

function run(cluster: TestCluster, ...args: string[]) {
  return cluster.rayts(driverArgs(cluster, JOB, ...args));
}

describe("actor lifetimes across drivers", () => {
  test("a driver's exit kills its non-detached actors on every node and keeps its detached one", async () => {
    await using cluster = await startCluster({ numCpus: 1 });
    const node = await cluster.addNode({ numCpus: 2 });
    const created = await run(cluster, "create", node.nodeId);
    expect(created.stderr).toBe("");
    expect(created.stdout).toContain("READY");
    expect(created.code).toBe(0);
    const checked = await run(cluster, "check");
    expect(checked.stderr).toBe("");
    expect(checked.code).toBe(0);
    expect(reportOf(checked.stdout)).toEqual({
      localGone: true,
      remoteGone: true,
      cpus: 3,
      keeper: 2,
    });
  });

  test("a driver's exit ends the actors and placement groups its tasks and actors created, on every node", async () => {
    await using cluster = await startCluster({ numCpus: 1 });
    const node = await cluster.addNode({ numCpus: 2 });
    const status = await cluster.waitForStatus(
      (s) => s.nodes.filter((n) => n.state === "ALIVE").length === 2,
    );
    const head = status.nodes.find((n) => n.isHead)?.nodeId ?? "";
    const created = await run(cluster, "nested", node.nodeId, head);
    expect(created.stderr).toBe("");
    expect(created.stdout).toContain("READY");
    expect(created.code).toBe(0);
    const checked = await run(cluster, "check-nested");
    expect(checked.stderr).toBe("");
    expect(checked.code).toBe(0);
    expect(reportOf(checked.stdout)).toEqual({
      taskActorGone: true,
      actorActorGone: true,
      groupState: "REMOVED",
      cpus: 3,
    });
  });
});
