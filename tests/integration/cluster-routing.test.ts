/**
 * Work crosses nodes from every node: a real head and two nodes on port 0, each node holding the
 * cluster view the head pushes. A task pinned to node B submits tasks that spill to the head's node
 * or to node C (a resource only they have, 2 CPUs where B has 1: the best-fitting node), tasks pinned
 * to the head's node and to C, and reads `nodes()` and `clusterResources()` for the whole cluster;
 * a generator on C streams to a task on B item by item; refs nested in arguments travel with the
 * task; a task B spilled is retried on the next best node when its node is killed; `SPREAD` from the driver and from a task on B puts tasks on every node.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { countsOf, driverArgs, reportOf, startCluster, type TestCluster } from "../cluster-harness.ts";

const TIMEOUT = 120_000;
setDefaultTimeout(TIMEOUT);
const JOB = resolve(import.meta.dir, "..", "fixtures", "cluster-routing-job.ts");

function run(cluster: TestCluster, ...args: string[]) {
  return cluster.rayts(driverArgs(cluster, JOB, ...args));
}

/** Resolves with the contents of `path` once it exists and is non-empty. */
async function waitForFile(path: string): Promise<string> {
  for (;;) {
    if (existsSync(path)) {
      const text = readFileSync(path, "utf8");
      if (text.length > 0) return text;
    }
    await Bun.sleep(50);
  }
}

/** A head with 2 CPUs and `atHead`, node B with 1 CPU, node C with 4 CPUs and `atC`. */
async function threeNodes() {
  const cluster = await startCluster({ numCpus: 2, headArgs: ["--resources", '{"atHead":1}'] });
  try {
    const b = await cluster.addNode({ numCpus: 1 });
    const c = await cluster.addNode({ numCpus: 4, resources: { atC: 1 } });
    const status = await cluster.waitForStatus(
      (s) => s.nodes.filter((n) => n.state === "ALIVE").length === 3,
    );
    const head = status.nodes.find((n) => n.isHead)!.nodeId;
    return { cluster, head, b: b.nodeId, c: c.nodeId, nodeC: c };
  } catch (err) {
    await cluster[Symbol.asyncDispose]();
    throw err;
  }
}

describe("work crosses nodes from every node", () => {
  test("a task on node B spills, pins and asks for the cluster through B's view", async () => {
    const { cluster, head, b, c } = await threeNodes();
    await using _ = cluster;
    const out = await run(cluster, "nested", b, head, c);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    expect(reportOf(out)).toEqual({
      self: b,
      // Both the head's node (2 CPUs) and C (4 CPUs) fit; C is left with more free.
      bestFit: c,
      atHead: head,
      atC: c,
      pinnedHead: head,
      pinnedC: c,
      softSelf: c,
      softHead: c,
      nodes: [head, b, c].sort(),
      alive: true,
      addresses: true,
      cpus: 7,
      custom: [1, 1],
    });
  });

  test("a generator on node C streams its items to a task on B as they come; nested refs travel", async () => {
    const { cluster, head, b, c } = await threeNodes();
    await using _ = cluster;
    const out = await run(cluster, "stream", b, head, c);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    expect(reportOf(out)).toEqual({
      stream: [b, c, ["Float64Array", 1 << 17, 12345], "TaskError: RangeError", [c, (1 << 17) + 8]],
    });
  });

  test("kill -9 of the node running a task submitted on B retries it on the next best node", async () => {
    const { cluster, head, b, c, nodeC } = await threeNodes();
    await using _ = cluster;
    const driver = cluster.spawn(driverArgs(cluster, JOB, "die", b, head, c));
    expect(await waitForFile(join(cluster.dir.path, "first-attempt-node"))).toBe(c);
    nodeC.kill("SIGKILL");
    const [, where] = await driver.waitForOutput(/RESULT (\w+)/);
    expect(where).toBe(head);
    expect(await driver.proc.exited).toBe(0);
  });

  test("console output of tasks on every node reaches the driver, prefixed with its node", async () => {
    const { cluster, head, b, c } = await threeNodes();
    await using _ = cluster;
    const out = await run(cluster, "logs", b, head, c);
    expect(out.code).toBe(0);
    const at = (node: string) => `pid=\\d+ node=${node.slice(0, 8)}\\)`;
    expect(out.stdout).toMatch(new RegExp(`^\\(talkOnB ${at(b)} hello from B$`, "m"));
    expect(out.stdout).toMatch(new RegExp(`^\\(talkOnC ${at(c)} hello from C$`, "m"));
    expect(out.stderr).toMatch(new RegExp(`^\\(talkOnC ${at(c)} complaint from C$`, "m"));
    expect(out.stderr).toMatch(new RegExp(`^\\(talkOnHead ${at(head)} hello from the head$`, "m"));
    expect(out.stdout).toMatch(/^DONE$/m);
  });

  test("console output of actors on other nodes reaches the driver: the driver's own actor and one a task created", async () => {
    const { cluster, head, b, c } = await threeNodes();
    await using _ = cluster;
    const out = await run(cluster, "actor-logs", b, head, c);
    expect(out.code).toBe(0);
    const at = (node: string) => `pid=\\d+ node=${node.slice(0, 8)}\\)`;
    expect(out.stdout).toMatch(new RegExp(`^\\(Talker\\.say ${at(c)} said on C$`, "m"));
    expect(out.stderr).toMatch(new RegExp(`^\\(Talker\\.say ${at(c)} grumbled on C$`, "m"));
    expect(out.stdout).toMatch(new RegExp(`^\\(Talker\\.say ${at(head)} said by the task's actor$`, "m"));
    expect(out.stdout).toMatch(/^DONE$/m);
  });

  test("SPREAD from the driver and from a task on node B puts tasks, and actors, on every node", async () => {
    const { cluster, head, b, c } = await threeNodes();
    await using _ = cluster;
    const fromDriver = await run(cluster, "spread");
    expect(fromDriver.stderr).toBe("");
    // Nine tasks round-robin over three nodes: three each.
    expect(countsOf(reportOf(fromDriver.stdout).nodes as string[])).toEqual({ [head]: 3, [b]: 3, [c]: 3 });
    const fromB = await run(cluster, "spread-from", b);
    expect(fromB.stderr).toBe("");
    expect(countsOf(reportOf(fromB.stdout).nodes as string[])).toEqual({ [head]: 3, [b]: 3, [c]: 3 });
    const actors = await run(cluster, "spread-actors");
    expect(actors.stderr).toBe("");
    expect(countsOf(reportOf(actors.stdout).nodes as string[])).toEqual({ [head]: 1, [b]: 1, [c]: 1 });
  });
});
