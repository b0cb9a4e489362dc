/**
 * A runtime environment's working directory is the work's module root: besides being its cwd, bare
 * specifiers in the task's code (`import("lib/helper.ts")`) resolve in it, through the real binary
 * on the embedded cluster. Relative specifiers keep JavaScript's meaning (relative to the module
 * that imports them), so the driver's own modules stay reachable.
 */
import { expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PRELUDE } from "../fixtures/tasks-job-runner.ts";
import { runScript, tempDir } from "../harness.ts";

setDefaultTimeout(60_000);

test("bare imports in a task resolve in its working directory; the same import without one fails", async () => {
  await using dir = tempDir();
  const app = join(dir.path, "app");
  mkdirSync(join(app, "lib"), { recursive: true });
  writeFileSync(join(app, "lib", "helper.ts"), "export const twice = (x: number) => x * 2;\n");
  writeFileSync(join(app, "top.ts"), "export const name = 'top of app';\n");
  const source = `
const { remote, get } = rayts;
const probe = remote(async () => {
  const helper = await import("lib/helper.ts");
  const top = await import("top.ts");
  return { twice: helper.twice(21), name: top.name };
});
report.inWorkingDir = await get(probe.options({ runtimeEnv: { workingDir: "./app" } }).remote());
try {
  await get(probe.remote());
  report.without = "imported";
} catch (err) {
  report.without = err.name;
}
done();
`;
  const r = await runScript(dir.path, "job.ts", PRELUDE + source, [], {
    env: { RAYTS_ENV_CACHE: join(dir.path, "env-cache") },
    timeoutMs: 60_000,
  });
  const line = r.stdout.split("\n").find((l) => l.startsWith("@@RESULT "));
  if (r.code !== 0 || line === undefined) throw new Error(`exit ${r.code}\n${r.stderr}\n${r.stdout}`);
  const report = JSON.parse(line.slice("@@RESULT ".length));
  expect(report.inWorkingDir).toEqual({ twice: 42, name: "top of app" });
  expect(report.without).toBe("TaskError");
});
