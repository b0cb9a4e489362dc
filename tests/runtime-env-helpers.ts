/**
 * Helpers of the runtime-environment tests on the embedded cluster: fixture directories with a local
 * package tarball (no registry), and a job script run through the real binary with an environment
 * cache of its own, read back from its `@@RESULT {json}` line.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PRELUDE } from "./fixtures/tasks-job-runner.ts";
import { runScript, type TempDir } from "./harness.ts";

/** Project directories `app/` and `other/`, each with a `data.txt` naming it, and `envpkg.tgz`. */
export function makeEnvFixtures(dir: string): void {
  for (const name of ["app", "other"]) {
    mkdirSync(join(dir, name), { recursive: true });
    writeFileSync(join(dir, name, "data.txt"), `${name}\n`);
  }
  makeEnvPackage(dir);
}

/** `dir/envpkg.tgz`: a local package `envpkg` whose main module exports `{ answer: 42 }`. */
export function makeEnvPackage(dir: string): void {
  const pkg = join(dir, "pkgsrc", "package");
  mkdirSync(pkg, { recursive: true });
  writeFileSync(
    join(pkg, "package.json"),
    JSON.stringify({ name: "envpkg", version: "1.0.0", main: "index.js" }),
  );
  writeFileSync(join(pkg, "index.js"), "module.exports = { answer: 42 };\n");
  const r = Bun.spawnSync(["tar", "-czf", join(dir, "envpkg.tgz"), "-C", join(dir, "pkgsrc"), "package"]);
  if (r.exitCode !== 0) throw new Error(`tar failed: ${r.stderr.toString()}`);
}

/**
 * Runs `source` (after the job runner's prelude) as `dir/job.ts` with `dir/env-cache` as its
 * environment cache, and returns the JSON of its `@@RESULT` line; throws with its output when it
 * failed or printed none.
 */
// biome-ignore lint/suspicious/noExplicitAny: the report is whatever JSON the script printed.
export async function runEnvScript(dir: TempDir, source: string, timeoutMs: number): Promise<any> {
  const r = await runScript(dir.path, "job.ts", PRELUDE + source, [], {
    env: { RAYTS_ENV_CACHE: join(dir.path, "env-cache") },
    timeoutMs,
  });
  const line = r.stdout.split("\n").find((l) => l.startsWith("@@RESULT "));
  if (r.code !== 0 || line === undefined) {
    throw new Error(
      `The script exited ${r.code} without a report\n--- stderr\n${r.stderr}\n--- stdout\n${r.stdout}`,
    );
  }
  return JSON.parse(line.slice("@@RESULT ".length));
}
