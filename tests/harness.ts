/**
 * What every integration test uses: the real `dist/rayts` spawned with a fixed environment, and
 * disposable temp directories for scripts.
 *
 * @example
 * await using dir = tempDir();
 * const script = writeScript(dir.path, "job.ts", `console.log(process.argv.slice(2))`);
 * const { code, stdout } = await runRayts([script, "a"]);
 */
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

/** Absolute path of the binary under test (`tests/setup.ts` rebuilds it when sources changed). */
export const RAYTS_BIN: string = resolve(import.meta.dir, "..", "dist", "rayts");

/** Marks every process started by this test run, so the leak check can find strays. */
export const TEST_RUN_MARKER = "RAYTS_TEST_RUN_ID";

/** The id of this test run, inherited by every process the harness starts. */
export const TEST_RUN_ID: string = process.env[TEST_RUN_MARKER] ?? crypto.randomUUID();

/** Options of {@link runRayts}. */
export interface RunOptions {
  /** Working directory (default: the current one). */
  cwd?: string;
  /** Extra environment variables, on top of the fixed test environment. */
  env?: Record<string, string>;
  /** Text written to stdin (default: none, stdin closed). */
  stdin?: string;
  /** Kill the process after this long (default 30 s); the result then has code 124-style -1. */
  timeoutMs?: number;
}

/** What a finished `rayts` run printed and how it exited. */
export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * The environment every spawned binary gets: the caller's PATH and HOME, no inherited `RAYTS_*`
 * variables (so a developer's cluster address never leaks in), no colours, plus the run marker.
 */
export function testEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { NO_COLOR: "1", FORCE_COLOR: "0", TMPDIR: tmpdir() };
  for (const key of ["PATH", "HOME", "LANG", "TERM"]) {
    const value = process.env[key];
    if (value !== undefined) env[key] = value;
  }
  env[TEST_RUN_MARKER] = TEST_RUN_ID;
  return { ...env, ...extra };
}

/**
 * Spawns `dist/rayts args…` and resolves once it exited. Never rejects for a non-zero exit: assert on
 * `code`. A run killed by `timeoutMs` reports `code` -1 and says so in `stderr`.
 */
export async function runRayts(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  return runCommand([RAYTS_BIN, ...args], opts);
}

/** Like {@link runRayts} for any command line (e.g. a shebang script run directly). */
export async function runCommand(cmd: string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const proc = Bun.spawn(cmd, {
    cwd: opts.cwd,
    env: testEnv(opts.env),
    stdin: opts.stdin === undefined ? "ignore" : new TextEncoder().encode(opts.stdin),
    stdout: "pipe",
    stderr: "pipe",
    timeout: timeoutMs,
    killSignal: "SIGKILL",
  });
  const [stdout, stderr, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  if (proc.signalCode === "SIGKILL" && code !== 0) {
    return {
      code: -1,
      stdout,
      stderr: `${stderr}\n[harness] Killed after ${timeoutMs} ms: ${cmd.join(" ")}`,
    };
  }
  return { code, stdout, stderr };
}

/** A temporary directory removed (recursively) on dispose. */
export interface TempDir extends AsyncDisposable, Disposable {
  readonly path: string;
}

/**
 * Creates an empty directory under the OS temp dir, removed by `await using` / `using`.
 *
 * @example
 * await using dir = tempDir();
 */
export function tempDir(prefix = "rayts-test-"): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  const remove = () => rmSync(path, { recursive: true, force: true });
  return {
    path,
    [Symbol.dispose]: remove,
    [Symbol.asyncDispose]: async () => remove(),
  };
}

/**
 * Writes `source` to `dir/name` (creating folders), makes it executable when it starts with `#!`, and
 * returns its absolute path.
 */
export function writeScript(dir: string, name: string, source: string): string {
  const path = resolve(dir, name);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, source);
  if (source.startsWith("#!")) chmodSync(path, 0o755);
  return path;
}

/** Writes `source` to `dir/name` and runs it with `rayts run`, from `dir`, with `args`. */
export async function runScript(
  dir: string,
  name: string,
  source: string,
  args: string[] = [],
  opts: RunOptions = {},
): Promise<RunResult> {
  const path = writeScript(dir, name, source);
  return runRayts(["run", path, ...args], { cwd: dir, ...opts });
}
