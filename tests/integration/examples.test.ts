/**
 * Every script in `examples/` runs through the real binary and prints what its comments promise.
 * The README's quick start runs `examples/monte-carlo-pi.ts`, so a broken example is a broken first
 * impression.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { type RunResult, runRayts } from "../harness.ts";

const EXAMPLES = resolve(import.meta.dir, "..", "..", "examples");

async function runExample(name: string, args: string[] = []): Promise<RunResult> {
  const result = await runRayts([join(EXAMPLES, name), ...args], { cwd: EXAMPLES, timeoutMs: 60_000 });
  // Exit code 2 is a usage error some tests ask for; anything else unexpected should show its reason.
  if (result.code !== 0 && result.code !== 2) console.error(result.stderr);
  return result;
}

/** The lines a run printed, without the trailing empty one. */
function lines(stdout: string): string[] {
  return stdout.trimEnd().split("\n");
}

describe("examples", () => {
  test("every example has a test in this file", () => {
    const tested = [
      "actors.ts",
      "monte-carlo-pi.ts",
      "objects.ts",
      "streaming.ts",
      "tasks.ts",
      "word-count.ts",
    ];
    expect(
      readdirSync(EXAMPLES)
        .filter((f) => f.endsWith(".ts"))
        .sort(),
    ).toEqual(tested);
  });

  test("monte-carlo-pi.ts estimates π within 0.1 and reports the error", async () => {
    const { code, stdout } = await runExample("monte-carlo-pi.ts", ["2000000"]);
    expect(code).toBe(0);
    const out = lines(stdout);
    expect(out[0]).toBe("Estimating π with 2,000,000 samples in 10 tasks");
    expect(out).toContain("progress: 100%");
    const pi = Number(/^π ≈ (\d+\.\d+)$/m.exec(stdout)?.[1]);
    expect(Math.abs(pi - Math.PI)).toBeLessThan(0.1);
    const error = Number(/^error: (\S+)$/m.exec(stdout)?.[1]);
    expect(error).toBeCloseTo(Math.abs(pi - Math.PI), 5);
  });

  test("monte-carlo-pi.ts prints the same estimate on every run (each task seeds its own generator)", async () => {
    const [a, b] = await Promise.all([
      runExample("monte-carlo-pi.ts", ["1000000"]),
      runExample("monte-carlo-pi.ts", ["1000000"]),
    ]);
    expect(a.code).toBe(0);
    expect(b.code).toBe(0);
    const estimate = (out: string) => /^π ≈ .*$/m.exec(out)?.[0];
    expect(estimate(a.stdout)).toBeDefined();
    expect(estimate(a.stdout)).toBe(estimate(b.stdout));
  });

  test("monte-carlo-pi.ts rejects a sample count that is not a number with exit code 2", async () => {
    const { code, stderr } = await runExample("monte-carlo-pi.ts", ["many"]);
    expect(code).toBe(2);
    expect(stderr).toContain("SAMPLES must be a whole number");
  });

  test("tasks.ts fans out, chains refs, splits returns, waits, nests and reports task errors", async () => {
    const { code, stdout } = await runExample("tasks.ts");
    expect(code).toBe(0);
    expect(lines(stdout)).toEqual([
      "squares: [ 0, 1, 4, 9 ]",
      "square(square(2)): 16",
      "min: 1 max: 9",
      "sum of slowAdd results: 306",
      "fib(10): 55",
      "task failed: ERR_TASK, cause RangeError: Not a port: http",
    ]);
  });

  test("actors.ts keeps counter state in order, shares handles, names actors and kills them", async () => {
    const { code, stdout } = await runExample("actors.ts");
    expect(code).toBe(0);
    expect(lines(stdout)).toEqual([
      "increments: [ 11, 12, 13, 14, 15 ]",
      "after +100: 115",
      "after 7 clicks from two tasks: 122",
      'board: [ "driver: hello", "driver: world" ]',
      "after kill: ERR_ACTOR_DIED",
    ]);
  });

  test("objects.ts puts, gets, shares large arrays, waits, times out and frees", async () => {
    const { code, stdout } = await runExample("objects.ts");
    expect(code).toBe(0);
    expect(lines(stdout)).toEqual([
      'put/get: run-7 [ "a", "b" ] 18446744073709551616n true undefined',
      "sum in a task: 4500000",
      "driver view: Float64Array 1000000 9",
      "nested refs: 12",
      "wait: 1 ready, 1 not ready",
      "get timeout: ERR_GET_TIMEOUT",
      "after free: ERR_OBJECT_LOST",
    ]);
  });

  test("word-count.ts counts words with map and reduce tasks", async () => {
    const { code, stdout } = await runExample("word-count.ts");
    expect(code).toBe(0);
    expect(lines(stdout)).toEqual([
      "4 documents, 12 distinct words",
      "the    5",
      "fox    4",
      "and    3",
      "dog    3",
      "over   3",
    ]);
  });

  test("streaming.ts streams items of sync and async generator tasks", async () => {
    const { code, stdout } = await runExample("streaming.ts");
    expect(code).toBe(0);
    expect(lines(stdout)).toEqual([
      "is a generator: true",
      "countdown: 3",
      "countdown: 2",
      "countdown: 1",
      "shouted: STREAMS OF OBJECTS",
    ]);
  });
});
