/**
 * The peer comparison: rayts, piscina, tinypool and workerpool on BENCHMARKS.md's four workloads under
 * Bun, with as many workers as cores, and the floors measured in the same run. Prints Markdown tables
 * (and with `--json` one JSON object as the last line).
 *
 *   bun run bench:peers [--quick] [--json]
 */
import { availableParallelism } from "node:os";
import { loopbackTcpGigabytesPerSecond, memcpyGigabytesPerSecond, postMessageRoundTrips } from "../floors.ts";
import { piscina, rayts, type System, tinypool, workerPool } from "./systems.ts";

const quick = process.argv.includes("--quick");
const json = process.argv.includes("--json");
const cores = availableParallelism();
const SEQUENTIAL = quick ? 300 : 3_000;
const MANY = quick ? 10_000 : 100_000;
const IN_FLIGHT = 1_000;
const SPIN_MS = 20;
const SIZES_MIB = [16, 128];
const READERS = [1, 8];

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

/** Workload 1: tiny tasks one at a time; p50 and p99 latency in µs. */
async function sequential(sys: System): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < SEQUENTIAL / 10; i++) await sys.run({ kind: "tiny" });
  const lat: number[] = [];
  for (let i = 0; i < SEQUENTIAL; i++) {
    const t = performance.now();
    await sys.run({ kind: "tiny" });
    lat.push((performance.now() - t) * 1000);
  }
  lat.sort((a, b) => a - b);
  return { p50: percentile(lat, 50), p99: percentile(lat, 99) };
}

/** Workload 2: MANY tiny tasks with at most IN_FLIGHT outstanding; tasks/s. */
async function throughput(sys: System): Promise<number> {
  let next = 0;
  const lane = async () => {
    while (next < MANY) {
      next++;
      await sys.run({ kind: "tiny" });
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return (MANY * 1000) / (performance.now() - start);
}

/** Workload 3: 4 × cores tasks of SPIN_MS; parallel efficiency (1 = perfect). */
async function fanOut(sys: System): Promise<number> {
  const n = 4 * cores;
  const start = performance.now();
  await Promise.all(Array.from({ length: n }, () => sys.run({ kind: "spin", ms: SPIN_MS })));
  return (n * SPIN_MS) / cores / (performance.now() - start);
}

/** Workload 4: a Float64Array read by k tasks; ms for all of them (best of 3), per mode. */
async function readArrays(sys: System): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const mib of SIZES_MIB) {
    const array = new Float64Array((mib << 20) / 8).fill(1);
    for (const k of READERS) {
      for (const mode of sys.readModes) {
        let best = Number.POSITIVE_INFINITY;
        for (let i = 0; i < (quick ? 1 : 3); i++) {
          const t = performance.now();
          await sys.read(array, k, mode);
          best = Math.min(best, performance.now() - t);
        }
        out[`${mib} MiB × ${k} (${mode})`] = best;
      }
    }
  }
  return out;
}

interface Row {
  p50Us: number;
  p99Us: number;
  tasksPerSec: number;
  efficiency: number;
  readMs: Record<string, number>;
}

const results: Record<string, Row> = {};
const factories: (() => System | Promise<System>)[] = [
  () => rayts(cores),
  () => piscina(cores),
  () => tinypool(cores),
  () => workerPool(cores),
];
for (const make of factories) {
  const sys = await make();
  try {
    const { p50, p99 } = await sequential(sys);
    const tasksPerSec = await throughput(sys);
    const efficiency = await fanOut(sys);
    const readMs = await readArrays(sys);
    results[sys.name] = { p50Us: p50, p99Us: p99, tasksPerSec, efficiency, readMs };
    console.error(`${sys.name} done`);
  } finally {
    await sys.close();
  }
}
const floors = {
  postMessageRoundTripsPerSec: await postMessageRoundTrips(quick ? 300 : 1_000),
  memcpyGBps: memcpyGigabytesPerSecond(),
  loopbackTcpGBps: await loopbackTcpGigabytesPerSecond(),
};

const names = Object.keys(results);
const line = (cells: (string | number)[]) => console.log(`| ${cells.join(" | ")} |`);
console.log(`Peers under Bun ${Bun.version}, ${cores} workers each${quick ? " (quick run)" : ""}\n`);
line(["workload", ...names]);
line(["---", ...names.map(() => "---:")]);
line(["1. tiny task one at a time, p50 µs", ...names.map((n) => results[n]!.p50Us.toFixed(0))]);
line(["1. tiny task one at a time, p99 µs", ...names.map((n) => results[n]!.p99Us.toFixed(0))]);
line([
  `2. ${MANY.toLocaleString("en")} tiny tasks, ≤ ${IN_FLIGHT} in flight, tasks/s`,
  ...names.map((n) => results[n]!.tasksPerSec.toFixed(0)),
]);
line([
  `3. fan-out ${4 * cores} × ${SPIN_MS} ms, parallel efficiency`,
  ...names.map((n) => `${(100 * results[n]!.efficiency).toFixed(0)}%`),
]);
const readKeys = [
  ...new Set(names.flatMap((n) => Object.keys(results[n]!.readMs).map((k) => k.replace(/ \(.*\)$/, "")))),
];
for (const key of readKeys) {
  line([
    `4. ${key} readers, ms (best mode)`,
    ...names.map((n) => {
      const entries = Object.entries(results[n]!.readMs).filter(([k]) => k.startsWith(`${key} (`));
      return entries.map(([k, v]) => `${v.toFixed(1)} ${k.slice(key.length + 1)}`).join(", ");
    }),
  ]);
}
console.log(
  `\nFloors: postMessage round trip ${floors.postMessageRoundTripsPerSec.toFixed(0)}/s, memcpy ${floors.memcpyGBps.toFixed(1)} GB/s, loopback TCP ${floors.loopbackTcpGBps.toFixed(2)} GB/s`,
);
if (json) console.log(JSON.stringify({ cores, bun: Bun.version, results, floors }));
