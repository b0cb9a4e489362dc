/**
 * Runtime environments with `workingDir` and `packages` on the embedded cluster, through the real
 * binary: such work runs in worker-host processes with the environment's directory as cwd and its
 * packages importable by bare name. Every script gets its own environment cache (`RAYTS_ENV_CACHE`)
 * so the build log the builder appends to counts this test's builds only. No network: packages are
 * local tarballs made here.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PRELUDE } from "../fixtures/tasks-job-runner.ts";
import { runScript, type TempDir, tempDir } from "../harness.ts";
import { makeEnvPackage } from "../runtime-env-helpers.ts";

setDefaultTimeout(60_000);

function sh(cmd: string[], cwd: string): void {
  const r = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${r.stderr.toString()}`);
}

/** A project directory `app/` (with a file to exclude) and a package tarball `envpkg.tgz`. */
function makeFixtures(dir: string): void {
  const app = join(dir, "app");
  mkdirSync(join(app, "lib"), { recursive: true });
  writeFileSync(join(app, "data.txt"), "hello from app\n");
  writeFileSync(join(app, "debug.log"), "left out\n");
  writeFileSync(join(app, "lib", "helper.ts"), "export const twice = (x: number) => x * 2;\n");
  makeEnvPackage(dir);
}

// biome-ignore lint/suspicious/noExplicitAny: the report is whatever JSON the script printed.
async function run(dir: TempDir, source: string): Promise<any> {
  const cache = join(dir.path, "env-cache");
  const r = await runScript(dir.path, "job.ts", PRELUDE + source, [], {
    env: { RAYTS_ENV_CACHE: cache },
    timeoutMs: 60_000,
  });
  const line = r.stdout.split("\n").find((l) => l.startsWith("@@RESULT "));
  if (r.code !== 0 || line === undefined) {
    throw new Error(
      `The script exited ${r.code} without a report\n--- stderr\n${r.stderr}\n--- stdout\n${r.stdout}`,
    );
  }
  return JSON.parse(line.slice("@@RESULT ".length));
}

function builds(dir: TempDir): string[] {
  const log = join(dir.path, "env-cache", "builds.log");
  return existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
}

const PROBE = `
const { remote, get, init } = rayts;
init({ runtimeEnv: { envVars: { JOB_VAR: "job" } } });
const probe = remote(async () => {
  const { join } = await import("node:path");
  const fs = await import("node:fs");
  const helper = await import(join(process.cwd(), "lib", "helper.ts"));
  return {
    cwd: process.cwd(),
    data: fs.readFileSync("data.txt", "utf8"),
    hasLog: fs.existsSync("debug.log"),
    twice: helper.twice(21),
    jobVar: process.env.JOB_VAR ?? null,
    ownVar: process.env.OWN_VAR ?? null,
  };
});
const where = remote(() => ({ cwd: process.cwd(), ownVar: process.env.OWN_VAR ?? null, jobVar: process.env.JOB_VAR ?? null }));
`;

describe("runtimeEnv.workingDir", () => {
  test("a task runs with the directory as cwd, reads its files, imports its modules; excludes leave files out; envVars merge and do not leak", async () => {
    await using dir = tempDir();
    makeFixtures(dir.path);
    const report = await run(
      dir,
      `${PROBE}
const env = { workingDir: "./app", excludes: ["*.log"] };
report.probe = await get(probe.options({ runtimeEnv: { ...env, envVars: { OWN_VAR: "own" } } }).remote());
report.sameEnvNoVars = await get(where.options({ runtimeEnv: env }).remote());
report.plain = await get(where.remote());
report.driverCwd = process.cwd();
done();
`,
    );
    const cache = join(dir.path, "env-cache");
    expect(report.probe).toMatchObject({
      data: "hello from app\n",
      hasLog: false,
      twice: 42,
      jobVar: "job",
      ownVar: "own",
    });
    expect(report.probe.cwd.startsWith(cache)).toBe(true);
    expect(report.sameEnvNoVars).toEqual({ cwd: report.probe.cwd, ownVar: null, jobVar: "job" });
    expect(report.plain).toEqual({ cwd: report.driverCwd, ownVar: null, jobVar: "job" });
    expect(builds(dir)).toHaveLength(1);
  });

  test("a nested task runs in its parent's environment unless given its own", async () => {
    await using dir = tempDir();
    makeFixtures(dir.path);
    const report = await run(
      dir,
      `
const { remote, get } = rayts;
const inner = remote(async () => ({ cwd: process.cwd(), canImport: await import("envpkg").then(() => true, () => false) }));
const outer = remote(async () => ({
  cwd: process.cwd(),
  inherited: await get(inner.remote()),
  own: await get(inner.options({ runtimeEnv: { packages: ["./envpkg.tgz"] } }).remote()),
}));
report.nested = await get(outer.options({ runtimeEnv: { workingDir: "./app" } }).remote());
done();
`,
    );
    expect(report.nested.inherited).toEqual({ cwd: report.nested.cwd, canImport: false });
    expect(report.nested.own.canImport).toBe(true);
    expect(report.nested.own.cwd).not.toBe(report.nested.cwd);
    expect(builds(dir)).toHaveLength(2);
  });

  test("a worker host whose task ends the process fails that task with WorkerCrashedError; the environment keeps working", async () => {
    await using dir = tempDir();
    makeFixtures(dir.path);
    const report = await run(
      dir,
      `
const { remote, get } = rayts;
const env = { runtimeEnv: { workingDir: "./app" }, maxRetries: 0 };
const die = remote(() => process.exit(3)).options(env);
const read = remote(() => readFileSync("data.txt", "utf8")).options(env);
report.died = await settle(() => get(die.remote()));
report.after = await get(read.remote());
done();
`,
    );
    expect(report.died.error).toMatchObject({ name: "WorkerCrashedError", ownClass: true });
    expect(report.died.error.message).toContain("code 3");
    expect(report.after).toBe("hello from app\n");
  });

  test("a .tar.gz or .zip working directory is unpacked (its one top-level folder is the root)", async () => {
    await using dir = tempDir();
    makeFixtures(dir.path);
    sh(["tar", "-czf", "app.tar.gz", "app"], dir.path);
    const zip = Bun.which("zip") !== null;
    if (zip) sh(["zip", "-qr", "app.zip", "app"], dir.path);
    const report = await run(
      dir,
      `${PROBE}
report.tgz = await get(probe.options({ runtimeEnv: { workingDir: "./app.tar.gz", excludes: ["debug.log"] } }).remote());
if (${zip}) report.zip = await get(probe.options({ runtimeEnv: { workingDir: "./app.zip", excludes: ["debug.log"] } }).remote());
done();
`,
    );
    const expected = { data: "hello from app\n", hasLog: false, twice: 42 };
    expect(report.tgz).toMatchObject(expected);
    if (zip) expect(report.zip).toMatchObject(expected);
  });
});

describe("runtimeEnv.packages", () => {
  test("a local tarball is importable by bare name in the environment only; concurrent first use builds once, reuse never rebuilds", async () => {
    await using dir = tempDir();
    makeFixtures(dir.path);
    const source = `
const { remote, get } = rayts;
const load = remote(async () => (await import("envpkg")).default.answer);
const tryLoad = remote(async () => { try { await import("envpkg"); return "found"; } catch { return "missing"; } });
const withPkg = load.options({ runtimeEnv: { packages: ["./envpkg.tgz"] } });
report.both = await get([withPkg.remote(), withPkg.remote()]);
report.plain = await get(tryLoad.remote());
done();
`;
    const first = await run(dir, source);
    expect(first.both).toEqual([42, 42]);
    expect(first.plain).toBe("missing");
    expect(builds(dir)).toHaveLength(1);
    const second = await run(dir, source);
    expect(second.both).toEqual([42, 42]);
    expect(builds(dir)).toHaveLength(1);
  });

  test("a bad package or a missing workingDir rejects get with RuntimeEnvSetupError carrying the cause; other work goes on", async () => {
    await using dir = tempDir();
    const report = await run(
      dir,
      `
const { remote, get } = rayts;
const f = remote(() => 1);
report.badPkg = await settle(() => get(f.options({ runtimeEnv: { packages: ["./missing-package.tgz"] } }).remote()));
report.badDir = await settle(() => get(f.options({ runtimeEnv: { workingDir: "./no-such-dir" } }).remote()));
report.ok = await get(f.remote());
done();
`,
    );
    expect(report.badPkg.error).toMatchObject({
      name: "RuntimeEnvSetupError",
      code: "ERR_RUNTIME_ENV",
      ownClass: true,
    });
    expect(report.badPkg.error.message).toContain("missing-package.tgz");
    expect(report.badPkg.error.message).toContain("error:");
    expect(report.badDir.error).toMatchObject({ name: "RuntimeEnvSetupError", ownClass: true });
    expect(report.badDir.error.message).toContain("no-such-dir");
    expect(report.ok).toBe(1);
    expect(builds(dir)).toHaveLength(0);
  });

  test.skipIf(Bun.which("mkfifo") === null)(
    "config.setupTimeoutMs bounds the setup: an install that never ends fails with RuntimeEnvSetupError",
    async () => {
      await using dir = tempDir();
      // A named pipe nobody writes to: the installer blocks reading it until it is killed.
      sh(["mkfifo", "never.tgz"], dir.path);
      const report = await run(
        dir,
        `
const { remote, get } = rayts;
const f = remote(() => 1);
report.slow = await settle(() => get(f.options({ runtimeEnv: { packages: ["./never.tgz"], config: { setupTimeoutMs: 300 } } }).remote()));
report.ok = await get(f.remote());
done();
`,
      );
      expect(report.slow.error).toMatchObject({ name: "RuntimeEnvSetupError", ownClass: true });
      expect(report.slow.error.message).toContain("300 ms");
      expect(report.ok).toBe(1);
      expect(builds(dir)).toHaveLength(0);
    },
  );
});
