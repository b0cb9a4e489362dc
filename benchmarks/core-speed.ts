/**
 * The core runtime's speed figures, each beside its floor from the same run: cold start of a one-task
 * script (whole process) against `bun -e 0`, tasks_sync against the raw Worker postMessage round trip,
 * put of 800 MiB against memcpy, plus the absolute task and put rates, and the CPU time per
 * synchronous task and actor call against the raw round trip's (a figure that load barely moves).
 *
 *   bun benchmarks/core-speed.ts [--quick] [--json]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { memcpyGigabytesPerSecond, postMessageRoundTripCpuMicros, postMessageRoundTrips } from "./floors.ts";

const BINARY = resolve(import.meta.dir, "..", "dist", "rayts");
const quick = process.argv.includes("--quick");
const json = process.argv.includes("--json");

/** Median wall time in ms of `runs` sequential runs of `cmd` (after one unmeasured run). */
function medianSpawnMs(cmd: string[], runs: number, cwd: string): number {
  const times: number[] = [];
  for (let i = 0; i <= runs; i++) {
    const start = performance.now();
    const proc = Bun.spawnSync(cmd, { cwd, stdout: "ignore", stderr: "pipe" });
    const ms = performance.now() - start;
    if (proc.exitCode !== 0) throw new Error(`${cmd.join(" ")} exited ${proc.exitCode}: ${proc.stderr}`);
    if (i > 0) times.push(ms);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

function microbenchmark(filters: string[]): Record<string, { mean: number; sd: number; unit: string }> {
  const args = [BINARY, "microbenchmark", "--json", ...(quick ? ["--quick"] : [])];
  for (const f of filters) args.push("--filter", f);
  const proc = Bun.spawnSync(args, { stdout: "pipe", stderr: "inherit" });
  const last = proc.stdout.toString().trim().split("\n").at(-1) ?? "{}";
  return JSON.parse(last);
}

const dir = mkdtempSync(join(tmpdir(), "rayts-core-speed-"));
try {
  const script = join(dir, "one-task.ts");
  writeFileSync(
    script,
    `import { get, remote } from "rayts";\nconst one = remote(() => 1);\nconsole.log(await get(one.remote()));\n`,
  );
  // CPU per synchronous task and actor call (all threads of the process), against the raw round trip.
  const cpuScript = join(dir, "sync-cpu.ts");
  writeFileSync(
    cpuScript,
    `import { get, remote } from "rayts";
const small = remote(() => 1);
const A = remote(class { m() { return 1; } });
const a = A.options({ numCpus: 0 }).remote();
const out: Record<string, number> = {};
for (const [name, op] of [["task", () => small.remote()], ["actor", () => a.m.remote()]] as const) {
  for (let i = 0; i < 2000; i++) await get(op());
  const cpu = process.cpuUsage();
  const start = performance.now();
  let n = 0;
  while (performance.now() - start < ${quick ? 300 : 2_000}) { await get(op()); n++; }
  const used = process.cpuUsage(cpu);
  out[name] = (used.user + used.system) / n;
}
console.log(JSON.stringify(out));
`,
  );
  const cpuRun = Bun.spawnSync([BINARY, cpuScript], { cwd: dir, stdout: "pipe", stderr: "inherit" });
  const syncCpu = JSON.parse(cpuRun.stdout.toString().trim().split("\n").at(-1) ?? "{}") as {
    task: number;
    actor: number;
  };
  const floorCpu = await postMessageRoundTripCpuMicros(quick ? 300 : 2_000);
  const runs = quick ? 3 : 15;
  const bunMs = medianSpawnMs([process.execPath, "-e", "0"], runs, dir);
  const raytsMs = medianSpawnMs([BINARY, script], runs, dir);
  const roundTrips = await postMessageRoundTrips(quick ? 200 : 1_000);
  const memcpy = memcpyGigabytesPerSecond();
  const mb = microbenchmark([
    "single_client_tasks_sync",
    "single_client_tasks_async",
    "single_client_put_calls",
    "single_client_put_gigabytes",
    "single_client_get_calls",
    "1_1_actor_calls_sync",
    "1_1_actor_calls_async",
  ]);
  const v = (name: string) => mb[name]?.mean ?? Number.NaN;
  const rows: [string, number, string, string][] = [
    [
      "cold start, one-task script (ms)",
      raytsMs,
      `bun -e 0: ${bunMs.toFixed(0)} ms`,
      `${(raytsMs / bunMs).toFixed(2)}× (target ≤ 3×)`,
    ],
    [
      "single_client_tasks_sync (/s)",
      v("single_client_tasks_sync"),
      `postMessage RTT: ${roundTrips.toFixed(0)}/s`,
      `${((100 * v("single_client_tasks_sync")) / roundTrips).toFixed(0)}% (target ≥ 50%)`,
    ],
    ["single_client_tasks_async (/s)", v("single_client_tasks_async"), "", "target ≥ 100,000/s"],
    ["single_client_put_calls (/s)", v("single_client_put_calls"), "", "target ≥ 200,000/s"],
    ["single_client_get_calls (/s)", v("single_client_get_calls"), "", "target ≥ 500,000/s"],
    [
      "single_client_put_gigabytes (GB/s)",
      v("single_client_put_gigabytes"),
      `memcpy: ${memcpy.toFixed(1)} GB/s`,
      `${((100 * v("single_client_put_gigabytes")) / memcpy).toFixed(0)}% (target ≥ 70%)`,
    ],
    ["1_1_actor_calls_sync (/s)", v("1_1_actor_calls_sync"), "", "target ≥ 15,000/s"],
    [
      "CPU per sync task (µs, all threads)",
      syncCpu.task,
      `raw round trip: ${floorCpu.toFixed(1)} µs`,
      `${(syncCpu.task / floorCpu).toFixed(1)}× the raw round trip's CPU`,
    ],
    ["CPU per sync actor call (µs)", syncCpu.actor, "", `${(syncCpu.actor / floorCpu).toFixed(1)}×`],
    ["1_1_actor_calls_async (/s)", v("1_1_actor_calls_async"), "", "target ≥ 100,000/s"],
  ];
  for (const [name, value, floor, ratio] of rows) {
    console.log(
      `${name.padEnd(36)} ${value.toFixed(value < 100 ? 2 : 0).padStart(10)}  ${floor.padEnd(28)} ${ratio}`,
    );
  }
  if (json) {
    console.log(
      JSON.stringify({
        coldStartMs: raytsMs,
        bunStartMs: bunMs,
        postMessageRoundTrips: roundTrips,
        cpuMicrosPerSyncTask: syncCpu.task,
        cpuMicrosPerSyncActorCall: syncCpu.actor,
        cpuMicrosPerRawRoundTrip: floorCpu,
        memcpyGBps: memcpy,
        microbenchmark: mb,
      }),
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
