/**
 * Runtime environments on another node: a real head and a node started from another directory with
 * an environment cache of its own. A task and an actor pinned to that node with a `workingDir`
 * (relative to the driver's directory), `excludes`, a local package tarball and `envVars` run there
 * in the shipped copy: cwd, files, modules, the package by bare name, the variables. The same
 * environment is built once there. A driver that cannot attach the head's shared memory (as on
 * another machine) ships its environments' paths itself. A tarball the installer rejects fails the task's `get` with
 * `RuntimeEnvSetupError` carrying the installer's message. No registry: packages are local tarballs.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { driverArgs, reportOf, startCluster } from "../cluster-harness.ts";
import { addNodeFrom, lines, sh } from "../shipping-helpers.ts";

setDefaultTimeout(180_000);

const JOB = `
import { get, getRuntimeContext, remote } from "rayts";

async function look() {
  const { join } = await import("node:path");
  const fs = await import("node:fs");
  const helper = await import(join(process.cwd(), "lib", "helper.ts"));
  const envpkg = await import("envpkg");
  return {
    node: getRuntimeContext().nodeId,
    cwd: process.cwd(),
    data: fs.readFileSync("data.txt", "utf8").trim(),
    hasLog: fs.existsSync("debug.log"),
    twice: helper.twice(21),
    answer: envpkg.answer,
    shipVar: process.env.SHIP_VAR ?? null,
  };
}
const probe = remote(look);
class Prober {
  look() {
    return look();
  }
}
const ProberActor = remote(Prober);

const [mode, target] = process.argv.slice(2);
const env = { workingDir: "app", excludes: ["*.log"], packages: ["./envpkg.tgz"], envVars: { SHIP_VAR: "shipped" } };
const scheduling = { nodeId: target };
if (mode === "ok") {
  const task = await get(probe.options({ runtimeEnv: env, scheduling }).remote());
  const again = await get(probe.options({ runtimeEnv: env, scheduling }).remote());
  const actor = ProberActor.options({ runtimeEnv: env, scheduling }).remote();
  const fromActor = await get(actor.look.remote());
  console.log("REPORT " + JSON.stringify({ task, again, fromActor }));
} else if (mode === "head") {
  const task = await get(probe.options({ runtimeEnv: env }).remote());
  console.log("REPORT " + JSON.stringify({ task }));
} else if (mode === "bad") {
  try {
    await get(probe.options({ runtimeEnv: { packages: ["./broken.tgz"] }, scheduling }).remote());
    console.log("REPORT " + JSON.stringify({ error: null }));
  } catch (err) {
    console.log("REPORT " + JSON.stringify({ error: err.name, message: err.message }));
  }
}
`;

function makeProject(root: string): string {
  const proj = join(root, "proj");
  const app = join(proj, "app");
  mkdirSync(join(app, "lib"), { recursive: true });
  writeFileSync(
    join(proj, "package.json"),
    JSON.stringify({ name: "shipenv", private: true, type: "module" }),
  );
  writeFileSync(join(app, "data.txt"), "hello from app\n");
  writeFileSync(join(app, "debug.log"), "left out\n");
  writeFileSync(join(app, "lib", "helper.ts"), "export const twice = (x: number) => x * 2;\n");
  const pkg = join(root, "pkgsrc", "package");
  mkdirSync(pkg, { recursive: true });
  writeFileSync(
    join(pkg, "package.json"),
    JSON.stringify({ name: "envpkg", version: "1.0.0", main: "index.js" }),
  );
  writeFileSync(join(pkg, "index.js"), "module.exports = { answer: 42 };\n");
  sh(["tar", "-czf", join(proj, "envpkg.tgz"), "-C", join(root, "pkgsrc"), "package"], root);
  writeFileSync(join(proj, "broken.tgz"), "this is not a gzipped tarball\n");
  writeFileSync(join(proj, "job.ts"), JOB);
  return proj;
}

describe("runtime environments on a second node", () => {
  test("a task and an actor run in the shipped working directory with the shipped package and their envVars; built once there", async () => {
    await using cluster = await startCluster({ numCpus: 1 });
    const proj = makeProject(join(cluster.dir.path, "work"));
    const cache = join(cluster.dir.path, "node-b-cache");
    const { nodeId } = await addNodeFrom(cluster, join(cluster.dir.path, "elsewhere"), cache, 2);
    const run = await cluster.rayts(driverArgs(cluster, join(proj, "job.ts"), "ok", nodeId), {
      cwd: proj,
      timeoutMs: 150_000,
    });
    const { task, again, fromActor } = reportOf(run);
    for (const r of [task, again, fromActor]) {
      expect(r.node).toBe(nodeId);
      // The copy built in the node's own cache, not the driver's directory.
      expect(r.cwd.startsWith(`${cache}/`)).toBe(true);
      expect(r.data).toBe("hello from app");
      expect(r.hasLog).toBe(false);
      expect(r.twice).toBe(42);
      expect(r.answer).toBe(42);
      expect(r.shipVar).toBe("shipped");
    }
    expect(fromActor.cwd).toBe(task.cwd);
    expect(lines(join(cache, "builds.log"))).toHaveLength(1);
  });

  test("a package the installer rejects fails the task with RuntimeEnvSetupError carrying the installer's message", async () => {
    await using cluster = await startCluster({ numCpus: 1 });
    const proj = makeProject(join(cluster.dir.path, "work"));
    const cache = join(cluster.dir.path, "node-b-cache");
    const { nodeId } = await addNodeFrom(cluster, join(cluster.dir.path, "elsewhere"), cache, 2);
    const run = await cluster.rayts(driverArgs(cluster, join(proj, "job.ts"), "bad", nodeId), {
      cwd: proj,
      timeoutMs: 150_000,
    });
    const r = reportOf(run);
    expect(r.error).toBe("RuntimeEnvSetupError");
    expect(r.message).toContain("Installing");
    expect(r.message).toContain("broken.tgz");
    expect(lines(join(cache, "builds.log"))).toHaveLength(0);
  });

  test("a driver on another machine ships its environment's working directory and package to the head's node and on to a second node", async () => {
    await using cluster = await startCluster({ numCpus: 1 });
    const proj = makeProject(join(cluster.dir.path, "work"));
    const cache = join(cluster.dir.path, "node-b-cache");
    const { nodeId } = await addNodeFrom(cluster, join(cluster.dir.path, "elsewhere"), cache, 2);
    const remote = { cwd: proj, timeoutMs: 150_000, env: { RAYTS_SHM_ATTACH: "never" } };
    const address = driverArgs(cluster, join(proj, "job.ts"));
    const onHead = reportOf(await cluster.rayts([...address, "head"], remote)).task;
    expect(onHead.node).not.toBe(nodeId);
    expect(onHead.cwd.startsWith(proj)).toBe(false);
    expect(onHead.data).toBe("hello from app");
    expect(onHead.hasLog).toBe(false);
    expect(onHead.answer).toBe(42);
    expect(onHead.shipVar).toBe("shipped");
    // The driver uploaded both to the head (the head did not read the driver's directory).
    expect(cluster.head.stderr).toContain(`the working directory ${join(proj, "app")}`);
    expect(cluster.head.stderr).toContain(`file ${join(proj, "envpkg.tgz")}`);
    const { task } = reportOf(await cluster.rayts([...address, "ok", nodeId], remote));
    expect(task.node).toBe(nodeId);
    expect(task.cwd.startsWith(`${cache}/`)).toBe(true);
    expect(task.data).toBe("hello from app");
    expect(task.answer).toBe(42);
  });
});
