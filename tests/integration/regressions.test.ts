/**
 * Behaviour found wanting by exploratory testing, kept fixed: cancelling actor calls, unknown option
 * names, what remote() accepts, thrown non-Errors, symlinked scripts, the driver's argv on workers,
 * head-of-line blocking behind a long task, and shm segments left by killed drivers.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PRELUDE, runJob } from "../fixtures/tasks-job-runner.ts";
import { RAYTS_BIN, runCommand, runScript, tempDir, testEnv } from "../harness.ts";

setDefaultTimeout(60_000);

describe("actor calls", () => {
  test("cancel() stops a queued call and answers a running one, and force on an actor call is refused", async () => {
    const { report } = await runJob(`
class S { async sleep(ms) { await new Promise((r) => setTimeout(r, ms)); return ms; } }
const s = rayts.remote(S).remote();
await rayts.get(s.sleep.remote(1));
const running = s.sleep.remote(30_000);
const queued = s.sleep.remote(1);
await rayts.cancel(queued);
report.queued = (await settle(() => rayts.get(queued))).error?.code;
await rayts.cancel(running);
report.running = (await settle(() => rayts.get(running))).error?.code;
report.force = (await settle(() => rayts.cancel(s.sleep.remote(1), { force: true }))).error?.message;
report.after = await rayts.get(s.sleep.remote(2));
done();
`);
    expect(report.queued).toBe("ERR_TASK_CANCELLED");
    expect(report.running).toBe("ERR_TASK_CANCELLED");
    expect(report.force).toContain("kill the actor instead");
    expect(report.after).toBe(2);
  });
});

describe("arguments that would be silently ignored", () => {
  test("unknown option names of get, wait and getActor, and extra remote() arguments, are errors", async () => {
    const { report } = await runJob(`
const f = rayts.remote(() => 1);
report.get = (await settle(() => rayts.get(f.remote(), { timeout: 5 }))).error?.message;
report.wait = (await settle(() => rayts.wait([f.remote()], { timeout: 5 }))).error?.message;
report.waitZero = (await settle(() => rayts.wait([f.remote()], { numReturns: 0 }))).error?.message;
report.getActor = (await settle(() => rayts.getActor("x", { namespace: 5 }))).error?.message;
report.twoArgs = settleSync(() => rayts.remote(() => 1, { numCpus: 2 })).error?.message;
report.native = settleSync(() => rayts.remote(Math.max)).error?.message;
report.bound = settleSync(() => rayts.remote(((x) => x).bind(null))).error?.message;
done();
`);
    expect(report.get).toContain('Unknown get() option "timeout"');
    expect(report.get).toContain("timeoutMs");
    expect(report.wait).toContain('Unknown wait() option "timeout"');
    expect(report.waitZero).toContain("at least 1");
    expect(report.getActor).toContain("namespace must be a non-empty string");
    expect(report.twoArgs).toContain(".options(");
    expect(report.native).toContain("bound or built in");
    expect(report.bound).toContain("bound or built in");
  });

  test("a thrown non-Error reaches the caller as the TaskError's cause, unchanged", async () => {
    const { report } = await runJob(`
const thrower = rayts.remote((k) => { if (k === 0) throw "plain"; if (k === 1) throw { code: 7 }; throw undefined; });
for (const k of [0, 1, 2]) {
  try { await rayts.get(thrower.remote(k)); } catch (e) { report[k] = { code: e.code, message: e.message, cause: e.cause === undefined ? "undefined" : e.cause }; }
}
done();
`);
    expect(report[0]).toEqual({
      code: "ERR_TASK",
      message: expect.stringContaining('threw a string: "plain"'),
      cause: "plain",
    });
    expect(report[1].cause).toEqual({ code: 7 });
    expect(report[2].cause).toBe("undefined");
  });
});

describe("driver code and workers", () => {
  test("a script run through a symlink is the main module, and its driver code runs once", async () => {
    await using dir = tempDir();
    const real = join(dir.path, "real.ts");
    writeFileSync(
      real,
      `import { appendFileSync } from "node:fs";
import { get, remote } from "rayts";
const f = remote(() => 1);
appendFileSync(${JSON.stringify(join(dir.path, "runs.log"))}, "ran\\n");
if (import.meta.main) console.log("main", await get([f.remote(), f.remote(), f.remote()]));
`,
    );
    symlinkSync(real, join(dir.path, "link.ts"));
    const run = await runCommand([RAYTS_BIN, join(dir.path, "link.ts")], { env: testEnv() });
    expect(run.stdout).toContain("main [ 1, 1, 1 ]");
    expect(await Bun.file(join(dir.path, "runs.log")).text()).toBe("ran\n");
  });

  test("module-level code on workers reads the driver's process.argv", async () => {
    await using dir = tempDir();
    const run = await runScript(
      dir.path,
      "argv.ts",
      `import { get, remote } from "rayts";
const N = Number(process.argv[2] ?? "1");
const f = remote(() => N);
console.log("N", await get(f.remote()));
`,
      ["42"],
    );
    expect(run.stdout).toContain("N 42");
  });

  test("quick tasks run on a free CPU while a long task holds the other one", async () => {
    const { report } = await runJob(`
await rayts.init({ numCpus: 2 });
// The long task waits for a file the driver writes only after every quick task has finished:
// the quick tasks can only finish if none of them is queued behind it.
const long = rayts.remote((path) => { const end = Date.now() + 20_000; while (!existsSync(path) && Date.now() < end) {} return existsSync(path); });
const quick = rayts.remote((i) => i);
const release = DIR + "/release";
const blocker = long.remote(release);
await Bun.sleep(100);
report.quick = await rayts.get(Array.from({ length: 20 }, (_, i) => quick.remote(i)), { timeoutMs: 15_000 });
writeFileSync(release, "");
report.long = await rayts.get(blocker);
done();
`);
    expect(report.quick).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(report.long).toBe(true);
  });
});

describe("shared memory of killed drivers", () => {
  test("a segment left by a driver killed with SIGKILL is removed when the next node starts", async () => {
    await using dir = tempDir();
    const script = join(dir.path, "hold.ts");
    writeFileSync(
      script,
      `${PRELUDE}
rayts.put(new Uint8Array(1 << 20));
writeFileSync(DIR + "/ready", String(process.pid));
await new Promise(() => {});
`,
    );
    const child = Bun.spawn([RAYTS_BIN, script], { env: testEnv(), stdout: "ignore", stderr: "ignore" });
    const ready = join(dir.path, "ready");
    const deadline = Date.now() + 20_000;
    while (!existsSync(ready) && Date.now() < deadline) await Bun.sleep(20);
    const pid = child.pid;
    const segments = () => [...new Bun.Glob(`rayts_${pid}_*`).scanSync("/dev/shm")];
    expect(segments().length).toBe(1);
    child.kill("SIGKILL");
    await child.exited;
    expect(segments().length).toBe(1);
    const next = await runScript(
      dir.path,
      "next.ts",
      'import { put } from "rayts";\nput(1);\nconsole.log("ok");\n',
    );
    expect(next.stdout).toContain("ok");
    expect(segments()).toEqual([]);
  });
});

describe("worker output", () => {
  test("process.stdout.write from a task is prefixed line by line like console.log", async () => {
    await using dir = tempDir();
    const run = await runScript(
      dir.path,
      "out.ts",
      `import { get, remote } from "rayts";
const writer = remote(function writer() {
  process.stdout.write("part1 ");
  process.stdout.write("part2\\nline2\\n");
  return 1;
});
await get(writer.remote());
`,
    );
    const lines = run.stdout.split("\n").filter((l) => l !== "");
    expect(lines).toEqual([
      expect.stringMatching(/^\(writer pid=\d+\) part1 part2$/),
      expect.stringMatching(/^\(writer pid=\d+\) line2$/),
    ]);
  });
});
