/**
 * The measuring loop of Ray's `ray_perf.py`: warm up, then several trials that each repeat the
 * operation for at least a fixed time, reported as mean ± standard deviation of the per-trial rates.
 */

/** The unit a metric reports in. */
export type Unit = "ops/s" | "GB/s" | "batches/s";

/** One metric's result. */
export interface Measurement {
  readonly mean: number;
  readonly sd: number;
  readonly unit: Unit;
}

/** How long to warm up and measure. */
export interface TimeitSchedule {
  readonly warmupMs: number;
  readonly trials: number;
  readonly trialMs: number;
}

/** Ray's schedule (with a 1 s warm-up): 4 trials of at least 2 s. */
export const FULL_SCHEDULE: TimeitSchedule = { warmupMs: 1_000, trials: 4, trialMs: 2_000 };

/** A smoke run: a few hundred milliseconds per metric. */
export const QUICK_SCHEDULE: TimeitSchedule = { warmupMs: 50, trials: 2, trialMs: 100 };

/**
 * Runs `op` repeatedly per `schedule` and returns its rate times `multiplier` (the units one call
 * does: 1,000 tasks, or 0.84 GB). Trials repeat `op` in steps of a tenth of the warm-up count, as Ray
 * does, so the clock is read rarely for fast operations.
 */
export async function timeit(
  op: () => unknown,
  opts: { multiplier?: number; unit?: Unit; schedule: TimeitSchedule },
): Promise<Measurement> {
  const { multiplier = 1, unit = "ops/s", schedule } = opts;
  let warmups = 0;
  const warmStart = performance.now();
  do {
    const r = op();
    if (r instanceof Promise) await r;
    warmups++;
  } while (performance.now() - warmStart < schedule.warmupMs);
  const step = Math.floor(warmups / 10) + 1;
  const rates: number[] = [];
  for (let t = 0; t < schedule.trials; t++) {
    let count = 0;
    const start = performance.now();
    let elapsed = 0;
    do {
      for (let i = 0; i < step; i++) {
        // Synchronous ops (like `put`) are not awaited, so they pay no microtask per call.
        const r = op();
        if (r instanceof Promise) await r;
      }
      count += step;
      elapsed = performance.now() - start;
    } while (elapsed < schedule.trialMs);
    rates.push((multiplier * count * 1000) / elapsed);
  }
  return { mean: mean(rates), sd: stdev(rates), unit };
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Sample standard deviation, as Python's `statistics.stdev` (0 for one trial). */
function stdev(xs: readonly number[]): number {
  if (xs.length < 2) return 0;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}
