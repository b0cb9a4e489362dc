import { describe, expect, test } from "bun:test";
import { startCluster } from "../cluster-harness.ts";

/** Real processes and a failure detector with a 5 s limit: give each test room. */
const TIMEOUT = 60_000;

describe("cluster membership", () => {
  test(
    "a head and two nodes join, and status lists each node with its resources",
    async () => {
      await using cluster = await startCluster({ numCpus: 1 });
      const a = await cluster.addNode({ numCpus: 2, resources: { accel: 1 } });
      const b = await cluster.addNode({ numCpus: 3 });
      const status = await cluster.waitForStatus((s) => s.nodes.length === 3);
      expect(a.address).not.toBe(b.address);
      const byId = new Map(status.nodes.map((n) => [n.nodeId, n]));
      expect(byId.get(a.nodeId)?.state).toBe("ALIVE");
      expect(byId.get(a.nodeId)?.report.total).toMatchObject({ CPU: 2, accel: 1 });
      expect(byId.get(b.nodeId)?.report.total).toMatchObject({ CPU: 3 });
      expect(status.nodes.filter((n) => n.isHead)).toHaveLength(1);
      expect(status.total).toMatchObject({ CPU: 6, accel: 1 });
      expect(status.store.capacityBytes).toBeGreaterThan(0);

      const table = await cluster.rayts(["status", "--address", cluster.address]);
      expect(table.code).toBe(0);
      expect(table.stdout).toContain("Nodes: 3 alive, 0 dead");
      expect(table.stdout).toContain(a.nodeId);
      expect(table.stdout).toContain("Pending demand:");
      expect(table.stdout).toContain("Object store:");
    },
    TIMEOUT,
  );

  test(
    "a node killed with SIGKILL shows as dead, and a new node can join afterwards",
    async () => {
      await using cluster = await startCluster();
      const doomed = await cluster.addNode();
      const survivor = await cluster.addNode();
      await cluster.waitForStatus((s) => s.nodes.length === 3);
      doomed.kill("SIGKILL");
      const status = await cluster.waitForStatus(
        (s) => s.nodes.find((n) => n.nodeId === doomed.nodeId)?.state === "DEAD",
        10_000,
      );
      expect(status.nodes.find((n) => n.nodeId === survivor.nodeId)?.state).toBe("ALIVE");
      expect(status.total.CPU).toBe(2);

      const late = await cluster.addNode({ numCpus: 2 });
      const after = await cluster.waitForStatus((s) => s.nodes.some((n) => n.nodeId === late.nodeId));
      expect(after.nodes.filter((n) => n.state === "ALIVE")).toHaveLength(3);
      expect(after.total.CPU).toBe(4);
      expect(cluster.head.proc.exitCode).toBeNull();
    },
    TIMEOUT,
  );

  test(
    "a node that stops sending heartbeats is declared dead, and exits 1 once it runs again",
    async () => {
      await using cluster = await startCluster();
      const node = await cluster.addNode();
      node.kill("SIGSTOP");
      const status = await cluster.waitForStatus(
        (s) => s.nodes.find((n) => n.nodeId === node.nodeId)?.state === "DEAD",
        10_000,
      );
      expect(status.nodes.find((n) => n.nodeId === node.nodeId)?.deathReason).toContain("no heartbeat");
      node.kill("SIGCONT");
      expect(await node.proc.exited).toBe(1);
      expect(node.stderr).toContain("dead");
    },
    TIMEOUT,
  );

  test(
    "a node stopped with SIGTERM leaves cleanly and exits 0",
    async () => {
      await using cluster = await startCluster();
      const node = await cluster.addNode();
      node.kill("SIGTERM");
      expect(await node.proc.exited).toBe(0);
      const status = await cluster.waitForStatus(
        (s) => s.nodes.find((n) => n.nodeId === node.nodeId)?.state === "DEAD",
      );
      expect(status.nodes.filter((n) => n.state === "ALIVE")).toHaveLength(1);
    },
    TIMEOUT,
  );
});
