/**
 * Default work spills when its node is busy (Ray's hybrid policy): a real head with 1 CPU and two
 * nodes with 2 CPUs each, on port 0. Tasks hold their CPU until the test writes a release file (they
 * poll the file system instead of waiting in get(), which would lend their CPU), so what runs at
 * once is decided by placement alone. A burst from the driver fills the head's node, then the other
 * nodes, and queues the rest until a CPU frees; tasks queued while every node is full move to a node
 * that joins; an actor created while the head's node is busy goes elsewhere; a task on node B
 * submitting two tasks keeps the first on B and spills the second.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { countsOf, driverArgs, reportOf, startCluster, type TestCluster } from "../cluster-harness.ts";

const TIMEOUT = 120_000;
setDefaultTimeout(TIMEOUT);
const JOB = resolve(import.meta.dir, "..", "fixtures", "cluster-spillback-job.ts");

/** A head with 1 CPU and nodes B and C with 2 CPUs each, all alive. */
async function threeNodes() {
  const cluster = await startCluster({ numCpus: 1 });
  try {
    const b = await cluster.addNode({ numCpus: 2 });
    const c = await cluster.addNode({ numCpus: 2 });
    const status = await cluster.waitForStatus(
      (s) => s.nodes.filter((n) => n.state === "ALIVE").length === 3,
    );
    const head = status.nodes.find((n) => n.isHead)!.nodeId;
    return { cluster, head, b: b.nodeId, c: c.nodeId };
  } catch (err) {
    await cluster[Symbol.asyncDispose]();
    throw err;
  }
}

function run(cluster: TestCluster, ...args: string[]) {
  return cluster.rayts(driverArgs(cluster, JOB, ...args), {
    timeoutMs: TIMEOUT,
  });
}

/** The node of every started hold task, by label. */
function started(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (!name.startsWith("started-")) continue;
    const node = readFileSync(join(dir, name), "utf8");
    if (node.length > 0) out.set(name.slice("started-".length), node);
  }
  return out;
}

/** Resolves with the started tasks once `done` holds for them (or throws if the driver ended first). */
async function waitStarted(
  dir: string,
  driver: { ended: boolean },
  done: (s: Map<string, string>) => boolean,
): Promise<Map<string, string>> {
  for (;;) {
    const s = started(dir);
    if (done(s)) return s;
    if (driver.ended) throw new Error(`The driver ended while waiting; started: ${JSON.stringify([...s])}`);
    await Bun.sleep(50);
  }
}

describe("default work spills to another node when its node is busy", () => {
  test("a burst from the driver runs on all three nodes at once; what finds no CPU queues and completes", async () => {
    const { cluster, head, b, c } = await threeNodes();
    await using _ = cluster;
    const dir = join(cluster.dir.path, "spill");
    const driver = { ended: false };
    const out = run(cluster, "burst", "8").finally(() => {
      driver.ended = true;
    });
    // 5 CPUs in all: 1 on the head's node, 2 on B, 2 on C; the other 3 tasks queue.
    const running = await waitStarted(dir, driver, (s) => s.size >= 5);
    const counts = countsOf(running.values());
    expect(counts).toEqual({ [head]: 1, [b]: 2, [c]: 2 });
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "release"), "go");
    const report = reportOf(await out);
    const nodes = report.nodes as string[];
    expect(nodes).toHaveLength(8);
    expect(nodes.every((n) => [head, b, c].includes(n))).toBe(true);
    expect(started(dir).size).toBe(8);
  });

  test("a burst that fits no node now is shared out between the nodes, not queued on the first", async () => {
    // The head's node has no CPUs: every task goes to B or C (1 CPU each), 6 tasks for 2 CPUs.
    await using cluster = await startCluster({ numCpus: 0 });
    const b = (await cluster.addNode({ numCpus: 1 })).nodeId;
    const c = (await cluster.addNode({ numCpus: 1 })).nodeId;
    await cluster.waitForStatus((s) => s.nodes.filter((n) => n.state === "ALIVE").length === 3);
    const dir = join(cluster.dir.path, "spill");
    const driver = { ended: false };
    const out = run(cluster, "burst", "6").finally(() => {
      driver.ended = true;
    });
    await waitStarted(dir, driver, (s) => s.size >= 2);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "release"), "go");
    const counts = countsOf((reportOf(await out).nodes as string[]).values());
    expect(Object.keys(counts).sort()).toEqual([b, c].sort());
    expect(counts[b]).toBeGreaterThanOrEqual(2);
    expect(counts[c]).toBeGreaterThanOrEqual(2);
  });

  test("tasks queued while every node is full spill to a node that joins", async () => {
    await using cluster = await startCluster({ numCpus: 1 });
    const b = (await cluster.addNode({ numCpus: 2 })).nodeId;
    const status = await cluster.waitForStatus(
      (s) => s.nodes.filter((n) => n.state === "ALIVE").length === 2,
    );
    const head = status.nodes.find((n) => n.isHead)!.nodeId;
    const dir = join(cluster.dir.path, "spill");
    const driver = { ended: false };
    const out = run(cluster, "burst", "5").finally(() => {
      driver.ended = true;
    });
    // 3 CPUs: 2 of the 5 tasks queue on the head's node.
    const before = await waitStarted(dir, driver, (s) => s.size >= 3);
    expect(countsOf(before.values())).toEqual({ [head]: 1, [b]: 2 });
    // Its reports show C's 2 CPUs free: the queued tasks go there, no task finishing in between.
    const c = (await cluster.addNode({ numCpus: 2 })).nodeId;
    const after = await waitStarted(dir, driver, (s) => s.size >= 5);
    expect(countsOf(after.values())).toEqual({ [head]: 1, [b]: 2, [c]: 2 });
    writeFileSync(join(dir, "release"), "go");
    expect(countsOf(reportOf(await out).nodes as string[])).toEqual({ [head]: 1, [b]: 2, [c]: 2 });
  });

  test("an actor created while the head's node is busy goes to another node", async () => {
    const { cluster, head } = await threeNodes();
    await using _ = cluster;
    const report = reportOf(await run(cluster, "actor"));
    expect(report.task).toBe(head);
    expect(report.actor).not.toBe(head);
  });

  test("work no single node can fit warns that no node of the cluster can, listing each node's totals", async () => {
    // 5 CPUs in all, but at most 2 on one node: a 3-CPU task or actor fits no node.
    const { cluster, head, b, c } = await threeNodes();
    await using _ = cluster;
    const out = await run(cluster, "infeasible", head);
    expect(reportOf(out).cpus).toBe(5);
    const warnings = out.stderr.split("\n").filter((l) => l.includes("infeasible"));
    const task = warnings.find((l) => l.includes("Task tooBig is infeasible"));
    const actor = warnings.find((l) => l.includes("Actor Where is infeasible"));
    for (const line of [task, actor]) {
      expect(line).toContain('it needs {"CPU":3} but no node of the cluster\'s 3 can ever fit it');
      for (const [id, cpus] of [
        [head, 1],
        [b, 2],
        [c, 2],
      ] as const) {
        expect(line).toMatch(
          new RegExp(`node ${id.slice(0, 8)} has \\{"CPU":${cpus},[^}]*\\} \\(missing CPU\\)`),
        );
      }
      expect(line).toContain("rayts node --join");
      // Not the old wording, which quoted the head's node alone as "the cluster".
      expect(line).not.toContain("the cluster has");
    }
    // Work pinned to a node that cannot fit it says so, and names the nodes that could.
    const pinned = warnings.find((l) => l.includes("Task pinnedTooBig is infeasible"));
    expect(pinned).toContain(
      `it must run on node ${head.slice(0, 8)} (its hard node affinity names this node), which has {"CPU":1,`,
    );
    expect(pinned).toMatch(/\(missing CPU\); it stays pending/);
    expect(pinned).toContain(b.slice(0, 8));
    expect(pinned).toContain(c.slice(0, 8));
    expect(warnings).toHaveLength(3);
  });

  test("a task on node B submitting two tasks keeps the first on B and spills the second", async () => {
    const { cluster, b } = await threeNodes();
    await using _ = cluster;
    const dir = join(cluster.dir.path, "spill");
    const driver = { ended: false };
    const out = run(cluster, "nested", b).finally(() => {
      driver.ended = true;
    });
    // The parent holds one of B's 2 CPUs: the first child takes the other, the second finds B full.
    const running = await waitStarted(dir, driver, (s) => s.size >= 2);
    expect(running.get("child-0")).toBe(b);
    expect(running.get("child-1")).not.toBe(b);
    writeFileSync(join(dir, "release"), "go");
    const report = reportOf(await out);
    expect(report.self).toBe(b);
    expect(report.children).toEqual([running.get("child-0"), running.get("child-1")]);
  });
});
