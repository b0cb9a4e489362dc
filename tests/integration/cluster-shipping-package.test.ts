/**
 * The job's package reaching other nodes: a real head and a node started from another directory with
 * an environment cache of its own, and a project in a temp directory whose `package.json` depends on
 * a local tarball (no registry). Tasks pinned to the node import the dependency by bare name and
 * load the entry script from the node's unpacked copy of the package; `.gitignore`d files stay
 * behind; a second job with the same files uploads and installs nothing again. A driver that cannot
 * attach the head's shared memory (`RAYTS_SHM_ATTACH=never`) moves its objects over HTTP and its
 * code through the package.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { driverArgs, reportOf, startCluster } from "../cluster-harness.ts";
import { RAYTS_BIN, testEnv } from "../harness.ts";
import { addNodeFrom, lines, sh } from "../shipping-helpers.ts";

setDefaultTimeout(180_000);

const JOB = `
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { greet, where as depWhere } from "shipdep";
import { get, getRuntimeContext, put, remote } from "rayts";

const HERE = import.meta.path;
const probe = remote(() => ({
  node: getRuntimeContext().nodeId,
  greeting: greet("node"),
  dep: depWhere,
  here: HERE,
  secret: existsSync(join(dirname(HERE), "secret.txt")),
  data: existsSync(join(dirname(HERE), "data.txt")) ? readFileSync(join(dirname(HERE), "data.txt"), "utf8").trim() : null,
}));
const where = remote(() => getRuntimeContext().nodeId);
const total = remote((a: Float64Array) => a.reduce((s, x) => s + x, 0));
const big = remote((n: number) => new Float64Array(n).fill(3));

const [mode, target] = process.argv.slice(2);
if (mode === "probe") {
  const opts = target === undefined ? {} : { scheduling: { nodeId: target } };
  const report = await get(probe.options(opts).remote());
  console.log("REPORT " + JSON.stringify(report));
} else if (mode === "plain") {
  try {
    console.log("REPORT " + JSON.stringify({ node: await get(where.options({ scheduling: { nodeId: target } }).remote()) }));
  } catch (err) {
    console.log("REPORT " + JSON.stringify({ error: err.name, message: err.message }));
  }
} else if (mode === "objects") {
  const arr = new Float64Array(1 << 19).fill(2);
  const ref = put(arr);
  const back = (await get(ref)) as Float64Array;
  const sum = await get(total.remote(ref));
  const made = (await get(big.remote(1 << 18))) as Float64Array;
  const report = await get(probe.remote());
  console.log("REPORT " + JSON.stringify({ back: [back.length, back[7]], sum, made: [made.length, made[5]], report }));
}
`;

/** A project: package.json depending on a vendored tarball, installed here as its author would. */
function makeProject(root: string): string {
  const src = join(root, "depsrc", "package");
  mkdirSync(src, { recursive: true });
  writeFileSync(
    join(src, "package.json"),
    JSON.stringify({ name: "shipdep", version: "1.0.0", main: "index.js" }),
  );
  writeFileSync(
    join(src, "index.js"),
    "exports.greet = (who) => 'hello ' + who + ' from shipdep';\nexports.where = __filename;\n",
  );
  const proj = join(root, "proj");
  mkdirSync(join(proj, "vendor"), { recursive: true });
  sh(["tar", "-czf", join(proj, "vendor", "shipdep-1.0.0.tgz"), "-C", join(root, "depsrc"), "package"], root);
  writeFileSync(
    join(proj, "package.json"),
    JSON.stringify({
      name: "shipjob",
      private: true,
      type: "module",
      dependencies: { shipdep: "file:./vendor/shipdep-1.0.0.tgz" },
      // The author's own build step: runs here, never on the nodes (their copy only gets the deps).
      scripts: { postinstall: "touch postinstall-ran" },
    }),
  );
  writeFileSync(join(proj, ".gitignore"), "node_modules/\nsecret.txt\npostinstall-ran\n");
  writeFileSync(join(proj, "secret.txt"), "not for other nodes\n");
  writeFileSync(join(proj, "data.txt"), "shipped\n");
  writeFileSync(join(proj, "job.ts"), JOB);
  sh([RAYTS_BIN, "install"], proj, testEnv({ BUN_BE_BUN: "1" }));
  return proj;
}

describe("the job's package on other nodes", () => {
  test("tasks on a second node import the package's dependency from its copy there; ignored files stay behind; a second job reuses it", async () => {
    await using cluster = await startCluster({ numCpus: 1 });
    const proj = makeProject(join(cluster.dir.path, "work"));
    const nodeCache = join(cluster.dir.path, "node-b-cache");
    const { nodeId } = await addNodeFrom(cluster, join(cluster.dir.path, "elsewhere"), nodeCache);
    await cluster.waitForStatus((s) => s.nodes.filter((n) => n.state === "ALIVE").length === 2);

    const job = driverArgs(cluster, join(proj, "job.ts"), "probe", nodeId);
    const first = reportOf(await cluster.rayts(job, { cwd: proj, timeoutMs: 120_000 }));
    expect(first.node).toBe(nodeId);
    expect(first.greeting).toBe("hello node from shipdep");
    // Loaded from the node's unpacked copy, with the dependency installed there.
    const copy = join(nodeCache, first.here.slice(nodeCache.length + 1).split("/")[0]);
    expect(first.here.startsWith(`${nodeCache}/job-`)).toBe(true);
    expect(first.here).toBe(join(copy, "job.ts"));
    expect(first.dep).toBe(join(copy, "node_modules", "shipdep", "index.js"));
    expect(first.data).toBe("shipped");
    expect(first.secret).toBe(false);
    expect(existsSync(join(copy, "secret.txt"))).toBe(false);
    expect(existsSync(join(proj, "postinstall-ran"))).toBe(true);
    expect(existsSync(join(copy, "postinstall-ran"))).toBe(false);
    expect(existsSync(join(copy, "vendor", "shipdep-1.0.0.tgz"))).toBe(true);
    expect(lines(join(nodeCache, "packages.log"))).toHaveLength(1);

    const second = reportOf(await cluster.rayts(job, { cwd: proj, timeoutMs: 120_000 }));
    expect(second.here).toBe(first.here);
    expect(second.greeting).toBe("hello node from shipdep");
    // Uploaded once, unpacked and installed once on the node.
    expect(lines(join(nodeCache, "packages.log"))).toHaveLength(1);
    expect(cluster.head.stderr.match(/Received job package/g)).toHaveLength(1);
  });

  test("a driver that cannot attach the head's shared memory puts, gets and runs tasks; the head loads its code from the package", async () => {
    await using cluster = await startCluster({ numCpus: 2 });
    const proj = makeProject(join(cluster.dir.path, "work"));
    const run = await cluster.rayts(driverArgs(cluster, join(proj, "job.ts"), "objects"), {
      cwd: proj,
      env: { RAYTS_SHM_ATTACH: "never" },
      timeoutMs: 120_000,
    });
    const r = reportOf(run);
    expect(r.back).toEqual([1 << 19, 2]);
    expect(r.sum).toBe(2 * (1 << 19));
    expect(r.made).toEqual([1 << 18, 3]);
    expect(r.report.greeting).toBe("hello node from shipdep");
    expect(r.report.secret).toBe(false);
    // The head's node runs the task from its unpacked copy, not from the driver's directory.
    expect(r.report.here.startsWith(proj)).toBe(false);
    expect(r.report.here.endsWith("/job.ts")).toBe(true);
    expect(r.report.dep.startsWith(proj)).toBe(false);
  });

  test("a package whose dependencies cannot be installed fails the work on that node with RuntimeEnvSetupError, and a driver that needs it on the head fails to start", async () => {
    await using cluster = await startCluster({ numCpus: 1 });
    const proj = join(cluster.dir.path, "broken");
    mkdirSync(proj, { recursive: true });
    writeFileSync(
      join(proj, "package.json"),
      JSON.stringify({
        name: "broken",
        private: true,
        dependencies: { gone: "file:./vendor/gone-1.0.0.tgz" },
      }),
    );
    writeFileSync(join(proj, "job.ts"), JOB.replace(/^import .* from "shipdep";$/m, ""));
    const nodeCache = join(cluster.dir.path, "node-b-cache");
    const { nodeId } = await addNodeFrom(cluster, join(cluster.dir.path, "elsewhere"), nodeCache);
    await cluster.waitForStatus((s) => s.nodes.filter((n) => n.state === "ALIVE").length === 2);
    const job = driverArgs(cluster, join(proj, "job.ts"), "plain", nodeId);
    // The head's node prepares the package itself for a driver that does not share its files (run
    // first: a driver on the head's machine registers the same script by its path there).
    const remote = await cluster.rayts(job, {
      cwd: proj,
      timeoutMs: 120_000,
      env: { RAYTS_SHM_ATTACH: "never" },
    });
    expect(remote.code).toBe(1);
    expect(remote.stderr).toContain("Installing the dependencies of the job's package");
    expect(remote.stderr).toContain("gone@file:./vendor/gone-1.0.0.tgz failed to resolve");
    const r = reportOf(await cluster.rayts(job, { cwd: proj, timeoutMs: 120_000 }));
    expect(r.error).toBe("RuntimeEnvSetupError");
    expect(r.message).toContain("Installing the dependencies of the job's package");
    expect(r.message).toContain("gone");
    expect(lines(join(nodeCache, "packages.log"))).toHaveLength(0);
  });
});
