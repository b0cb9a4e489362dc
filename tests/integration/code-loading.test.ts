import { beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, copyFileSync, cpSync, existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import {
  RAYTS_BIN,
  type RunResult,
  runCommand,
  runRayts,
  runScript,
  tempDir,
  writeScript,
} from "../harness.ts";

/** What a clear "cannot reach the worker" error says to do. */
const FIX = /import\.meta\.main|top level|above/;
const FIXTURES = join(import.meta.dir, "..", "fixtures");

/** A fixture's run plus what it left in its directory. */
interface FixtureRun extends RunResult {
  /** Lines the script appended to driver-runs.log beside it. */
  driverRuns: string[];
}

/** Copies a fixture script (and code-lib/) into a fresh temp dir and runs it there. */
async function runFixture(name: string): Promise<FixtureRun> {
  await using dir = tempDir();
  const script = join(dir.path, name);
  copyFileSync(join(FIXTURES, name), script);
  cpSync(join(FIXTURES, "code-lib"), join(dir.path, "code-lib"), { recursive: true });
  const run = await runRayts(["run", script], { cwd: dir.path });
  const log = join(dir.path, "driver-runs.log");
  const driverRuns = existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : [];
  return { ...run, driverRuns };
}

/** The JSON a script printed on its `RESULT ` line; fails with the run's output when there is none. */
function resultOf<T>(run: RunResult): T {
  const line = run.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (line === undefined) {
    throw new Error(`The script printed no RESULT line (exit ${run.code})\n${run.stdout}\n${run.stderr}`);
  }
  return JSON.parse(line.slice("RESULT ".length)) as T;
}

/** Lines of stdout that are exactly `text`. */
function linesEqual(stdout: string, text: string): number {
  return stdout.split("\n").filter((line) => line === text).length;
}

describe("where remote code is defined", () => {
  test("functions and classes from the entry script and an imported module use their own imports, helpers and constants", async () => {
    const run = await runFixture("code-entry.ts");
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(resultOf(run)).toEqual({
      shifted: [101, 102],
      tally: [101, 103],
      described: "lib:6:input.csv",
      ledger: { owner: "ada", entries: ["lib:15"], scale: 3 },
    });
  });

  test("a user module's npm package is importable inside a task and an actor", async () => {
    await using dir = tempDir();
    writeScript(
      dir.path,
      "package.json",
      JSON.stringify({ name: "job", type: "module", dependencies: { somepkg: "1.0.0" } }),
    );
    writeScript(
      dir.path,
      "node_modules/somepkg/package.json",
      JSON.stringify({ name: "somepkg", version: "1.0.0", main: "index.js" }),
    );
    writeScript(
      dir.path,
      "node_modules/somepkg/index.js",
      'exports.shout = (text) => text.toUpperCase() + "!";\n',
    );
    writeScript(
      dir.path,
      "lib/loud.ts",
      `import { shout } from "somepkg";
import { remote } from "rayts";
export const loud = remote((text: string) => shout(text));
export class Crier { cry(text: string) { return shout(text); } }
`,
    );
    const source = `import { get, remote } from "rayts";
import { Crier, loud } from "./lib/loud.ts";
const crier = remote(Crier).remote();
console.log("RESULT " + JSON.stringify({ task: await get(loud.remote("hey")), actor: await get(crier.cry.remote("ho")) }));
`;
    const run = await runScript(dir.path, "job.ts", source);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(resultOf(run)).toEqual({ task: "HEY!", actor: "HO!" });
  });

  test("a #!/usr/bin/env rayts script with the run bit runs tasks", async () => {
    await using dir = tempDir();
    const job = join(dir.path, "job.ts");
    copyFileSync(join(FIXTURES, "code-shebang-tasks.ts"), job);
    chmodSync(job, 0o755);
    const env = { PATH: `${dirname(RAYTS_BIN)}:${process.env.PATH ?? ""}` };
    const run = await runCommand(["./job.ts", "x"], { cwd: dir.path, env });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(resultOf(run)).toEqual({ squares: [1, 4, 9], args: ["x"] });
  });
});

describe("driver code", () => {
  let plain: FixtureRun;
  let wrapped: FixtureRun;
  let guarded: FixtureRun;
  beforeAll(async () => {
    plain = await runFixture("code-driver-once.ts");
    wrapped = await runFixture("code-driver-main.ts");
    guarded = await runFixture("code-driver-guarded.ts");
  });

  test("unguarded top-level driver code prints and has its side effects exactly once", () => {
    expect(plain.code).toBe(0);
    expect(resultOf(plain)).toEqual({ squares: [1, 4, 9, 16, 25, 36], echo: "echo" });
    expect(linesEqual(plain.stdout, "DRIVER")).toBe(1);
    expect(plain.driverRuns).toEqual(["driver code ran"]);
  });

  test("driver code wrapped in main() runs exactly once, and a closure made inside it fails naming the local", () => {
    expect(wrapped.code).toBe(0);
    const result = resultOf<{ sums: number[]; echo: string; closure: { value?: number; error?: string } }>(
      wrapped,
    );
    expect(result.sums).toEqual([11, 12, 13, 14, 15, 16]);
    expect(result.echo).toBe("echo:10");
    expect(result.closure.value).toBeUndefined();
    expect(result.closure.error).toContain('"base"');
    expect(result.closure.error).toMatch(FIX);
    expect(linesEqual(wrapped.stdout, "DRIVER")).toBe(1);
    expect(wrapped.driverRuns).toEqual(["driver code ran"]);
  });

  test("driver code inside if (import.meta.main) runs once, on the driver", () => {
    expect(guarded.stderr).toBe("");
    expect(guarded.code).toBe(0);
    expect(resultOf(guarded)).toEqual({ squares: [1, 4, 9, 16, 25, 36], main: true });
    expect(linesEqual(guarded.stdout, "DRIVER")).toBe(1);
    expect(guarded.driverRuns).toEqual(["driver code ran"]);
  });
});

describe("remote code that cannot reach the worker", () => {
  type Outcome<T> = { value?: T; error?: { name: string; message: string } };
  interface Unreachable {
    warm: string;
    driverToken: string;
    tagger: Outcome<string>;
    triple: Outcome<number>;
    fileName: Outcome<string>;
    namer: Outcome<string>;
  }
  /** How an error says what to do: move the definition up, guard the driver code, or define it at top level. */
  let run: RunResult;
  beforeAll(async () => {
    run = await runFixture("code-unreachable.ts");
  });

  test("a closure over a local variable defined after the first call fails naming the variable and the fix", () => {
    expect(run.code).toBe(0);
    const { warm, triple } = resultOf<Unreachable>(run);
    expect(warm).toBe("warm");
    expect(triple.value).toBeUndefined();
    expect(triple.error?.message).toContain('"factor"');
    expect(triple.error?.message).toMatch(FIX);
  });

  test("a closure over a driver-only local value never runs with another value", () => {
    const { driverToken, tagger } = resultOf<Unreachable>(run);
    // Either the closure arrives intact, or it fails clearly; a different value is never acceptable.
    if (tagger.error === undefined) expect(tagger.value).toBe(driverToken);
    else {
      expect(tagger.error.message).toContain('"token"');
      expect(tagger.error.message).toMatch(FIX);
    }
  });

  test("a function defined after the driver's first await still reaches its module's imports", () => {
    const { fileName } = resultOf<Unreachable>(run);
    expect(fileName.error).toBeUndefined();
    expect(fileName.value).toBe("y.txt");
  });

  test("an actor class defined after the driver's first await still reaches its module's imports", () => {
    const { namer } = resultOf<Unreachable>(run);
    expect(namer.error).toBeUndefined();
    expect(namer.value).toBe("y.txt");
  });
});
