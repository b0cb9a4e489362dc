/**
 * Runs the metrics of `metrics.ts` on an embedded cluster (or the one `RAYTS_ADDRESS` names), printing
 * one line per metric as Ray's `ray microbenchmark` does, and optionally a JSON summary as last line.
 */
import { clusterResources, init, shutdown } from "../index.ts";
import { METRICS, type Metric } from "./metrics.ts";
import { FULL_SCHEDULE, type Measurement, QUICK_SCHEDULE, timeit } from "./timeit.ts";
import { loadWorkloads } from "./workload-module.ts";

/** Options of {@link runMicrobenchmarks}. */
export interface MicrobenchmarkOptions {
  /** Only metrics whose name contains one of these (all when empty). */
  readonly filters: readonly string[];
  /** Short trials and smaller objects: a smoke run. */
  readonly quick: boolean;
  /** Print `{ name: { mean, sd, unit } }` as the last line. */
  readonly json: boolean;
  /** Where lines go (default: stdout). */
  readonly write?: (line: string) => void;
}

/** The metrics `filters` select, in Ray's order. */
export function selectMetrics(filters: readonly string[]): Metric[] {
  return METRICS.filter((m) => filters.length === 0 || filters.some((f) => m.name.includes(f)));
}

/**
 * Runs the selected metrics one after another and returns their results; a metric that throws is
 * reported and counted in `failed`, and the others still run.
 *
 * @example
 * const { results } = await runMicrobenchmarks({ filters: ["put_calls"], quick: true, json: false });
 */
export async function runMicrobenchmarks(
  opts: MicrobenchmarkOptions,
): Promise<{ results: Record<string, Measurement>; failed: number }> {
  const write = opts.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const schedule = opts.quick ? QUICK_SCHEDULE : FULL_SCHEDULE;
  const results: Record<string, Measurement> = {};
  let failed = 0;
  using loaded = await loadWorkloads();
  await init();
  try {
    const cpus = Math.max(1, Math.floor((await clusterResources()).CPU ?? 1));
    const ctx = { workloads: loaded.workloads, cpus, quick: opts.quick };
    for (const metric of selectMetrics(opts.filters)) {
      if (metric.skip !== undefined) {
        write(`${metric.name} skipped: ${metric.skip}`);
        continue;
      }
      try {
        const prepared = await metric.setup(ctx);
        try {
          const m = await timeit(prepared.op, {
            multiplier: prepared.multiplier,
            unit: metric.unit,
            schedule,
          });
          results[metric.name] = m;
          write(`${metric.name} ${describeUnit(m.unit)} ${format(m.mean)} +- ${format(m.sd)}`);
        } finally {
          await prepared.cleanup?.();
        }
      } catch (error) {
        failed++;
        write(`${metric.name} failed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  } finally {
    await shutdown();
  }
  if (opts.json) write(JSON.stringify(results));
  return { results, failed };
}

function describeUnit(unit: Measurement["unit"]): string {
  return unit === "GB/s" ? "GB per second" : unit === "batches/s" ? "batches per second" : "per second";
}

function format(x: number): string {
  return x >= 100 ? x.toFixed(0) : x.toPrecision(3);
}
