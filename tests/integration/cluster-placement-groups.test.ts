/**
 * Placement groups on a real cluster: a head without CPUs and nodes as processes on port 0, a driver
 * connected to the head. Every strategy lays its bundles out as it should (STRICT_SPREAD on distinct
 * nodes, STRICT_PACK on one), tasks and actors run on their bundle's node, groups racing for the same
 * nodes are placed whole and in creation order without over-committing a node, and removal frees
 * the resources for a waiting group after killing the group's actors and tasks on their nodes.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { resolve } from "node:path";
import { driverArgs, reportOf, startCluster, type TestCluster } from "../cluster-harness.ts";

setDefaultTimeout(120_000);

const JOB = resolve(import.meta.dir, "..", "fixtures", "cluster-placement-job.ts");

function run(cluster: TestCluster, ...args: string[]) {
  return cluster.rayts(driverArgs(cluster, JOB, ...args));
}

describe("placement groups across nodes", () => {
  test("every strategy lays bundles out over the nodes; tasks and actors run on their bundle's node", async () => {
    await using cluster = await startCluster({ numCpus: 0 });
    for (let i = 0; i < 3; i++) await cluster.addNode({ numCpus: 2 });
    const out = await run(cluster, "strategies");
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    const work = { ranWhereBundles: true, actorOnBundle: true, anyOnAGroupNode: true };
    const r = reportOf(out.stdout);
    expect(r.STRICT_SPREAD).toEqual({ state: "CREATED", distinct: 3, ...work });
    // Three nodes with 2 CPUs free each: SPREAD puts one bundle on each.
    expect(r.SPREAD).toEqual({ state: "CREATED", distinct: 3, ...work });
    expect(r.STRICT_PACK).toEqual({ state: "CREATED", distinct: 1, ...work });
    expect(r.PACK).toEqual({ state: "CREATED", distinct: 1, ...work });
    expect(r.strictSpreadOverMoreNodesThanExist).toBe("PENDING");
    expect(r.strictPackBiggerThanAnyNode).toBe("PENDING");
    expect(r.outOfRange).toContain("TaskUnschedulableError");
    expect(r.outOfRange).toContain("bundleIndex 7 is out of range");
  });

  test("groups racing for the same nodes are placed whole, in creation order, never over-committing a node", async () => {
    await using cluster = await startCluster({ numCpus: 0 });
    for (let i = 0; i < 3; i++) await cluster.addNode({ numCpus: 2 });
    const out = await run(cluster, "contention");
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    const r = reportOf(out.stdout);
    expect(r.violations).toEqual([]);
    expect(r.partial).toBe(0);
    expect(r.createdOrder).toEqual(Array.from({ length: 24 }, (_, i) => i));
    // Every group was removed in the end: the status shows nothing reserved.
    const status = await cluster.waitForStatus((s) =>
      s.nodes.every((n) => n.isHead || n.report.available.CPU === n.report.total.CPU),
    );
    expect(status.placementGroups?.filter((g) => g.state !== "REMOVED")).toEqual([]);
  });

  test("removal kills the group's actor and task on their nodes and lets a waiting group be placed", async () => {
    await using cluster = await startCluster({ numCpus: 0 });
    await cluster.addNode({ numCpus: 1 });
    await cluster.addNode({ numCpus: 1 });
    const out = await run(cluster, "removal");
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    expect(reportOf(out.stdout)).toEqual({
      before: "PENDING",
      actorOnBundleNode: true,
      actorError: "ActorDiedError",
      taskError: "TaskUnschedulableError",
      removedState: "REMOVED",
      nextState: "CREATED",
      nextNodes: 2,
    });
  });

  test("work in a GPU bundle sees the GPU ids its bundle reserved", async () => {
    await using cluster = await startCluster({ numCpus: 0 });
    await cluster.addNode({ numCpus: 2, args: ["--num-gpus", "2"] });
    const out = await run(cluster, "gpus");
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    const r = reportOf(out.stdout) as {
      tasks: Array<{ ids: number[]; cuda: string }>;
      actor: number[];
      noGpu: { ids: number[]; cuda: string };
    };
    const [first, second] = r.tasks;
    expect(first?.ids).toHaveLength(1);
    expect(second?.ids).toHaveLength(1);
    expect(new Set([...(first?.ids ?? []), ...(second?.ids ?? [])])).toEqual(new Set([0, 1]));
    expect(first?.cuda).toBe(String(first?.ids[0]));
    expect(r.actor).toEqual(second?.ids ?? []);
    expect(r.noGpu.ids).toEqual([]);
  });

  test("a task on another node than the head's creates, uses, finds and removes a group through the head", async () => {
    await using cluster = await startCluster({ numCpus: 0 });
    const b = await cluster.addNode({ numCpus: 2 });
    const c = await cluster.addNode({ numCpus: 2 });
    const out = await run(cluster, "from-node", b.nodeId);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    const r = reportOf(out.stdout) as {
      here: string;
      map: string[];
      ran: string[];
      found: boolean;
      stateSeenByDriver: string;
    };
    expect(r.here).toBe(b.nodeId);
    // b runs the task (1 of its 2 CPUs): the two bundles still fit on b and c, one each.
    expect(new Set(r.map)).toEqual(new Set([b.nodeId, c.nodeId]));
    expect(r.ran).toEqual(r.map);
    expect(r.found).toBe(true);
    // The group lives in the head's table, where the driver sees it removed.
    expect(r.stateSeenByDriver).toBe("REMOVED");
  });
});
