/**
 * Placement groups as nodes come and go, on a real cluster: a group that cannot be placed waits
 * PENDING until a node joins, a node killed with `kill -9` sends its bundles back to rescheduling
 * (RESCHEDULING, the other bundles stay) until a node can take them, a detached group outlives its
 * driver while the driver's other groups are removed when it exits, and `rayts status` shows the
 * groups and what they reserve.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { resolve } from "node:path";
import type { ClusterStatus } from "../../src/cluster/cluster-protocol.ts";
import { driverArgs, reportOf, startCluster } from "../cluster-harness.ts";

setDefaultTimeout(120_000);

const JOB = resolve(import.meta.dir, "..", "fixtures", "cluster-placement-job.ts");

function groupIn(status: ClusterStatus, id: string) {
  const g = status.placementGroups?.find((p) => p.placementGroupId === id);
  if (g === undefined) throw new Error(`Group ${id} is not in the status: ${JSON.stringify(status)}`);
  return g;
}

describe("placement groups as nodes join and die", () => {
  test("a pending group is placed when a node joins; a killed node's bundle is rescheduled; detached groups outlive their driver", async () => {
    await using cluster = await startCluster({ numCpus: 0 });
    // Nodes of 2 CPUs and bundles of 1: only the strategy keeps both bundles off one node.
    const a = await cluster.addNode({ numCpus: 2 });
    const out = await cluster.rayts(driverArgs(cluster, JOB, "detached", "spread2"));
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    const { detached, owned } = reportOf<{ detached: string; owned: string }>(out.stdout);

    // The driver is gone: its own group is removed, the detached one waits for a second node.
    let status = await cluster.waitForStatus((s) => groupIn(s, owned).state === "REMOVED");
    expect(groupIn(status, detached).state).toBe("PENDING");
    expect(groupIn(status, detached).bundlesToNode).toEqual({});

    const b = await cluster.addNode({ numCpus: 2 });
    status = await cluster.waitForStatus((s) => groupIn(s, detached).state === "CREATED");
    expect(new Set(Object.values(groupIn(status, detached).bundlesToNode))).toEqual(
      new Set([a.nodeId, b.nodeId]),
    );
    const text = await cluster.rayts(["status", "--address", cluster.address]);
    expect(text.stdout).toContain("Placement groups: 1 (1 created)");
    expect(text.stdout).toContain("reserved: 2 CPU");
    expect(text.stdout).toContain(`spread2)  STRICT_SPREAD  CREATED  2 bundles`);

    // Node a dies: its bundle goes back to rescheduling (b has room, but holds the other bundle).
    const lostIndex = Object.entries(groupIn(status, detached).bundlesToNode).find(
      ([, n]) => n === a.nodeId,
    )![0];
    a.kill("SIGKILL");
    status = await cluster.waitForStatus((s) => groupIn(s, detached).state === "RESCHEDULING");
    const keptIndex = lostIndex === "0" ? "1" : "0";
    expect(groupIn(status, detached).bundlesToNode).toEqual({ [keptIndex]: b.nodeId });

    // A new node takes the lost bundle.
    const c = await cluster.addNode({ numCpus: 2 });
    status = await cluster.waitForStatus((s) => groupIn(s, detached).state === "CREATED");
    expect(groupIn(status, detached).bundlesToNode).toEqual({ [keptIndex]: b.nodeId, [lostIndex]: c.nodeId });
  });

  test("a task and an actor in a group that cannot be placed yet wait, then run on their bundle's node once a node joins", async () => {
    await using cluster = await startCluster({ numCpus: 0 });
    const a = await cluster.addNode({ numCpus: 2 });
    const driver = cluster.spawn(driverArgs(cluster, JOB, "waiting"));
    await driver.waitForOutput(/SUBMITTED (\w+)/);
    expect(driver.stdout).toContain("SUBMITTED PENDING");
    const b = await cluster.addNode({ numCpus: 2 });
    await driver.waitForOutput(/REPORT /);
    expect(await driver.proc.exited).toBe(0);
    const r = reportOf<{
      ranOn: string;
      actorOn: string;
      bundle1: string;
      state: string;
      orphanError: string;
    }>(driver.stdout);
    expect(r.state).toBe("CREATED");
    expect([a.nodeId, b.nodeId]).toContain(r.bundle1);
    expect(r.ranOn).toBe(r.bundle1);
    expect(r.actorOn).toBe(r.bundle1);
    expect(r.orphanError).toContain("ActorDiedError");
    expect(r.orphanError).toContain("was removed before it was placed");
  });

  test("a node that hangs during a reservation is given up once declared dead; the group is placed elsewhere", async () => {
    await using cluster = await startCluster({ numCpus: 0 });
    const a = await cluster.addNode({ numCpus: 2 });
    const b = await cluster.addNode({ numCpus: 2 });
    await cluster.waitForStatus((s) => s.nodes.filter((n) => n.state === "ALIVE").length === 3);
    b.kill("SIGSTOP");
    const driver = cluster.spawn(driverArgs(cluster, JOB, "hung"));
    await driver.waitForOutput(/CREATING (\w+)/);
    expect(driver.stdout).toContain("CREATING PENDING");
    // The head declares b dead after its silence; only then does a third node join.
    await cluster.waitForStatus((s) => s.nodes.find((n) => n.nodeId === b.nodeId)?.state === "DEAD", 30_000);
    const c = await cluster.addNode({ numCpus: 2 });
    await driver.waitForOutput(/REPORT /);
    expect(await driver.proc.exited).toBe(0);
    const r = reportOf<{ nodes: string[] }>(driver.stdout);
    expect(new Set(r.nodes)).toEqual(new Set([a.nodeId, c.nodeId]));
  });
});
