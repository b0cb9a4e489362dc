/**
 * Runtime environments for actors and at the job level (`init({ runtimeEnv })`), through the real
 * binary: an actor with `workingDir`/`packages` lives in a worker host of that environment, a setup
 * failure kills it with the setup error as cause, and the job's environment applies to every task
 * and actor that does not set its own. Each script gets its own environment cache. No network.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { type TempDir, tempDir } from "../harness.ts";
import { makeEnvFixtures, runEnvScript } from "../runtime-env-helpers.ts";

setDefaultTimeout(60_000);

const run = (dir: TempDir, source: string) => runEnvScript(dir, source, 60_000);

const CLASSES = `
class Probe {
  n = 0;
  async look() {
    const fs = await import("node:fs");
    this.n += 1;
    return { cwd: process.cwd(), data: fs.readFileSync("data.txt", "utf8").trim(), n: this.n, own: process.env.OWN_VAR ?? null, job: process.env.JOB_VAR ?? null };
  }
}
`;

describe("runtimeEnv for actors", () => {
  test("an actor with workingDir runs there for life, keeps its state across calls and sees its envVars; one with packages imports them by bare name", async () => {
    await using dir = tempDir();
    makeEnvFixtures(dir.path);
    const report = await run(
      dir,
      `${CLASSES}
const { remote, get } = rayts;
const P = remote(Probe);
const a = P.options({ runtimeEnv: { workingDir: "./app", envVars: { OWN_VAR: "own" } } }).remote();
report.first = await get(a.look.remote());
report.second = await get(a.look.remote());
class Importer { async answer() { return (await import("envpkg")).default.answer; } }
const withPkg = remote(Importer).options({ runtimeEnv: { packages: ["./envpkg.tgz"] } }).remote();
report.pkg = await settle(() => get(withPkg.answer.remote()));
report.pkgPlain = await settle(() => get(remote(Importer).remote().answer.remote()));
const plain = P.remote();
report.plain = await settle(() => get(plain.look.remote()));
report.driverCwd = process.cwd();
done();
`,
    );
    const cache = join(dir.path, "env-cache");
    expect(report.first).toMatchObject({ data: "app", n: 1, own: "own" });
    expect(report.first.cwd.startsWith(cache)).toBe(true);
    expect(report.second).toMatchObject({ cwd: report.first.cwd, data: "app", n: 2, own: "own" });
    expect(report.pkg).toEqual({ value: 42 });
    expect(report.pkgPlain.error).toBeDefined();
    // The default environment: the driver's cwd, which has no data.txt.
    expect(report.plain.error.message).toContain("data.txt");
  });

  test("an actor whose environment cannot be set up is dead: every call fails with ActorDiedError caused by RuntimeEnvSetupError", async () => {
    await using dir = tempDir();
    const report = await run(
      dir,
      `${CLASSES}
const { remote, get } = rayts;
const P = remote(Probe);
const a = P.options({ runtimeEnv: { packages: ["./missing-package.tgz"] } }).remote();
report.first = await settle(() => get(a.look.remote()));
report.second = await settle(() => get(a.look.remote()));
const f = remote(() => 1);
report.ok = await get(f.remote());
done();
`,
    );
    for (const r of [report.first, report.second]) {
      expect(r.error).toMatchObject({
        name: "ActorDiedError",
        ownClass: true,
        causeName: "RuntimeEnvSetupError",
      });
      expect(r.error.causeMessage).toContain("missing-package.tgz");
      expect(r.error.message).toContain("missing-package.tgz");
    }
    expect(report.ok).toBe(1);
  });
});

describe("runtimeEnv at init", () => {
  test("the job's workingDir applies to plain tasks and actors; a task's own workingDir overrides it; envVars merge", async () => {
    await using dir = tempDir();
    makeEnvFixtures(dir.path);
    const report = await run(
      dir,
      `${CLASSES}
const { remote, get, init } = rayts;
init({ runtimeEnv: { workingDir: "./app", envVars: { JOB_VAR: "job" } } });
const look = remote(async () => {
  const fs = await import("node:fs");
  return { cwd: process.cwd(), data: fs.readFileSync("data.txt", "utf8").trim(), own: process.env.OWN_VAR ?? null, job: process.env.JOB_VAR ?? null };
});
report.task = await get(look.remote());
report.actor = await get(remote(Probe).remote().look.remote());
report.overridden = await get(look.options({ runtimeEnv: { workingDir: "./other", envVars: { OWN_VAR: "own" } } }).remote());
report.varsOnly = await get(look.options({ runtimeEnv: { envVars: { OWN_VAR: "own" } } }).remote());
done();
`,
    );
    const cache = join(dir.path, "env-cache");
    expect(report.task).toMatchObject({ data: "app", own: null, job: "job" });
    expect(report.task.cwd.startsWith(cache)).toBe(true);
    expect(report.actor).toMatchObject({ cwd: report.task.cwd, data: "app", n: 1, job: "job" });
    expect(report.overridden).toMatchObject({ data: "other", own: "own", job: "job" });
    expect(report.overridden.cwd).not.toBe(report.task.cwd);
    expect(report.varsOnly).toMatchObject({ cwd: report.task.cwd, data: "app", own: "own", job: "job" });
  });
});
