/**
 * Monte Carlo estimation of π, the rayts way.
 *
 * Throw darts at the unit square: the share that lands inside the quarter circle x² + y² ≤ 1 tends
 * to π/4. The darts are split over parallel sampling tasks; each task reports how far it got to a
 * progress actor, which the driver polls while it waits. The same idea as Ray's own Monte Carlo π
 * walkthrough, in TypeScript.
 *
 * Run it:   rayts examples/monte-carlo-pi.ts [SAMPLES]      (default 200,000,000 samples)
 *
 * Every task seeds its own random number generator with its index, so a given sample count always
 * prints the same estimate, however the tasks are scheduled.
 */
import { type ActorHandle, get, remote, wait } from "rayts";

/** How many sampling tasks share the work. More tasks than cores keeps every core busy. */
const NUM_TASKS = 10;
/** Samples a task draws between two progress reports. */
const REPORT_EVERY = 1_000_000;

/**
 * The progress actor: one instance, living in a worker of its own, that every sampling task reports
 * to. Calls to an actor run one at a time, so `reported` needs no locking.
 */
class ProgressActor {
  readonly #total: number;
  readonly #done = new Map<number, number>();

  constructor(total: number) {
    this.#total = total;
  }

  /** A task says it has drawn `samples` samples so far. */
  report(task: number, samples: number): void {
    this.#done.set(task, samples);
  }

  /** The share of all samples drawn so far, between 0 and 1. */
  progress(): number {
    let done = 0;
    for (const n of this.#done.values()) done += n;
    return done / this.#total;
  }
}

/** A small, fast, seedable PRNG (mulberry32): 32 bits of state, good enough for darts. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * One sampling task: draws `samples` darts and returns how many landed inside the circle. The actor
 * handle arrives as an ordinary argument; reports are fire-and-forget `.remote()` calls.
 */
function sample(task: number, samples: number, progress: ActorHandle<ProgressActor>): number {
  const random = mulberry32(task + 1);
  let inside = 0;
  for (let i = 1; i <= samples; i++) {
    const x = random();
    const y = random();
    if (x * x + y * y <= 1) inside++;
    if (i % REPORT_EVERY === 0) progress.report.remote(task, i);
  }
  progress.report.remote(task, samples);
  return inside;
}

// remote() turns the class into an actor class and the function into a task. Their types carry over:
// `progress.report.remote(task, n)` is checked against `report(task: number, samples: number)`.
const Progress = remote(ProgressActor);
const sampleTask = remote(sample);

// ---- driver code: runs once, on the driver (workers stop loading this file here) ----

const total = Number(process.argv[2] ?? 200_000_000);
if (!Number.isSafeInteger(total) || total < NUM_TASKS) {
  console.error(
    `Usage: rayts examples/monte-carlo-pi.ts [SAMPLES]: SAMPLES must be a whole number ≥ ${NUM_TASKS}`,
  );
  process.exit(2);
}

console.log(`Estimating π with ${total.toLocaleString("en-US")} samples in ${NUM_TASKS} tasks`);
const progress = Progress.remote(total);

// Split the samples as evenly as possible; every .remote() returns at once with an ObjectRef<number>.
const perTask = Math.floor(total / NUM_TASKS);
const refs = Array.from({ length: NUM_TASKS }, (_, task) =>
  sampleTask.remote(task, task < NUM_TASKS - 1 ? perTask : total - perTask * (NUM_TASKS - 1), progress),
);

// Poll the actor while the tasks run: wait() returns after 500 ms even if nothing finished.
let shown = -1;
for (;;) {
  const { notReady } = await wait(refs, { numReturns: refs.length, timeoutMs: 500 });
  const percent = Math.floor((await get(progress.progress.remote())) * 100);
  if (percent !== shown && notReady.length > 0) console.log(`progress: ${percent}%`);
  shown = percent;
  if (notReady.length === 0) break;
}

// get() of an ObjectRef<number>[] is a Promise<number[]>.
const inside = (await get(refs)).reduce((a, b) => a + b, 0);
const pi = (4 * inside) / total;
console.log(`progress: 100%`);
console.log(`π ≈ ${pi.toFixed(6)}`);
console.log(`error: ${Math.abs(pi - Math.PI).toExponential(2)}`);
