/**
 * Inheritance of runtime environments, through the real binary on the embedded cluster: a nested task
 * runs in its parent's full environment (working directory, packages and environment variables, its
 * own fields over them), a task or actor submitted from an actor's method runs in the actor's, and
 * an actor keeps its own environment for life whatever its callers use. Each script gets its own
 * environment cache. No network.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { driverArgs, reportOf, startCluster } from "../cluster-harness.ts";
import { type TempDir, tempDir } from "../harness.ts";
import { makeEnvFixtures, runEnvScript } from "../runtime-env-helpers.ts";

setDefaultTimeout(90_000);

const run = (dir: TempDir, source: string) => runEnvScript(dir, source, 90_000);

/** `look()` reports where it runs: the data file of its cwd, two variables, and whether envpkg imports. */
const LOOK = `
async function look() {
  const fs = await import("node:fs");
  let data = null;
  try { data = fs.readFileSync("data.txt", "utf8").trim(); } catch {}
  let pkg = null;
  try { pkg = (await import("envpkg")).default.answer; } catch {}
  return { cwd: process.cwd(), data, pkg, a: process.env.INHERIT_A ?? null, b: process.env.INHERIT_B ?? null };
}
const { remote, get } = rayts;
const leaf = remote(look);
`;

describe("runtimeEnv inheritance", () => {
  test("a nested task runs in its parent's environment: working directory, packages and envVars, its own fields over them", async () => {
    await using dir = tempDir();
    makeEnvFixtures(dir.path);
    const report = await run(
      dir,
      `${LOOK}
const middle = remote(async () => get(leaf.remote()));
const parent = remote(async () => {
  const self = await look();
  const child = await get(leaf.remote());
  const grandchild = await get(middle.remote());
  const ownVar = await get(leaf.options({ runtimeEnv: { envVars: { INHERIT_B: "child" } } }).remote());
  const ownDir = await get(leaf.options({ runtimeEnv: { workingDir: "./other" } }).remote());
  return { self, child, grandchild, ownVar, ownDir };
});
report.nested = await get(
  parent.options({
    runtimeEnv: { workingDir: "./app", packages: ["./envpkg.tgz"], envVars: { INHERIT_A: "parent", INHERIT_B: "parent" } },
  }).remote(),
);
report.plain = await get(leaf.remote());
done();
`,
    );
    const n = report.nested;
    expect(n.self).toMatchObject({ data: "app", pkg: 42, a: "parent", b: "parent" });
    for (const r of [n.child, n.grandchild]) {
      expect(r).toEqual({ cwd: n.self.cwd, data: "app", pkg: 42, a: "parent", b: "parent" });
    }
    // envVars merge: the child's own variable over the parent's, the others kept.
    expect(n.ownVar).toEqual({ cwd: n.self.cwd, data: "app", pkg: 42, a: "parent", b: "child" });
    // Field by field: its own workingDir, the parent's packages and variables.
    expect(n.ownDir).toMatchObject({ data: "other", pkg: 42, a: "parent", b: "parent" });
    expect(n.ownDir.cwd).not.toBe(n.self.cwd);
    // Nothing leaks to work submitted by the driver without an environment.
    expect(report.plain).toMatchObject({ data: null, pkg: null, a: null, b: null });
  });

  test("tasks and actors submitted from an actor's method run in the actor's environment; an actor keeps its own for life", async () => {
    await using dir = tempDir();
    makeEnvFixtures(dir.path);
    const report = await run(
      dir,
      `${LOOK}
class Inner { async where() { return look(); } }
const InnerActor = remote(Inner);
class Owner {
  async self() { return look(); }
  async spawnTask() { return get(leaf.remote()); }
  async spawnActor() {
    const inner = InnerActor.remote();
    return get(inner.where.remote());
  }
}
class Other { async where() { return look(); } }
const owner = remote(Owner)
  .options({ runtimeEnv: { workingDir: "./app", packages: ["./envpkg.tgz"], envVars: { INHERIT_A: "actor" } } })
  .remote();
report.self = await get(owner.self.remote());
report.task = await get(owner.spawnTask.remote());
report.actor = await get(owner.spawnActor.remote());
// An actor with its own environment, called from a task in another: it answers from its own.
const other = remote(Other).options({ runtimeEnv: { workingDir: "./other", envVars: { INHERIT_B: "other" } } }).remote();
const caller = remote(async (h) => get(h.where.remote()));
report.fromTask = await get(caller.options({ runtimeEnv: { workingDir: "./app", envVars: { INHERIT_A: "caller" } } }).remote(other));
report.again = await get(other.where.remote());
done();
`,
    );
    expect(report.self).toMatchObject({ data: "app", pkg: 42, a: "actor", b: null });
    expect(report.task).toEqual(report.self);
    expect(report.actor).toMatchObject({ data: "app", pkg: 42, a: "actor", b: null });
    expect(report.fromTask).toMatchObject({ data: "other", pkg: null, a: null, b: "other" });
    expect(report.again).toEqual(report.fromTask);
  });
});

describe("runtimeEnv inheritance across nodes", () => {
  test("a nested task forwarded to another node runs in its parent's environment there", async () => {
    await using cluster = await startCluster({ numCpus: 1 });
    const node = await cluster.addNode({ numCpus: 1 });
    const app = join(cluster.dir.path, "app");
    mkdirSync(app);
    writeFileSync(join(app, "data.txt"), "app\n");
    const script = join(cluster.dir.path, "job.ts");
    writeFileSync(
      script,
      `import { get, getRuntimeContext, remote } from "rayts";
const where = remote(async () => {
  const fs = await import("node:fs");
  let data = null;
  try { data = fs.readFileSync("data.txt", "utf8").trim(); } catch {}
  return { node: getRuntimeContext().nodeId, data, a: process.env.INHERIT_A ?? null };
});
const parent = remote(async (target: string) => ({
  // Pinned here: the parent holds this node's only CPU, so unpinned work would spill elsewhere.
  self: await get(where.options({ scheduling: { nodeId: getRuntimeContext().nodeId } }).remote()),
  child: await get(where.options({ scheduling: { nodeId: target } }).remote()),
}));
const out = await get(
  parent.options({ runtimeEnv: { workingDir: ${JSON.stringify(app)}, envVars: { INHERIT_A: "parent" } } }).remote(process.argv[2]),
);
console.log("REPORT " + JSON.stringify(out));
`,
    );
    const r = await cluster.rayts(driverArgs(cluster, script, node.nodeId), {
      timeoutMs: 90_000,
    });
    const out = reportOf(r);
    expect(out.self).toMatchObject({ data: "app", a: "parent" });
    expect(out.self.node).not.toBe(node.nodeId);
    expect(out.child).toEqual({ node: node.nodeId, data: "app", a: "parent" });
  });
});
