/**
 * The metrics of `rayts microbenchmark`: Ray's names and Ray's work (`ray_perf.py`), each a setup that
 * returns the operation to time and how many units one call counts for.
 */
import { type ActorHandle, get, kill, placementGroup, put, removePlacementGroup, wait } from "../index.ts";
import type { Unit } from "./timeit.ts";
import type * as Workloads from "./workloads.ts";

/** What a metric's setup returns: the operation to time, and what to clean up afterwards. */
export interface PreparedMetric {
  readonly op: () => unknown;
  /** Units of work one call of `op` does (1,000 tasks; the GB of one put). */
  readonly multiplier?: number;
  readonly cleanup?: () => Promise<void>;
}

/** Everything a metric's setup may use. */
export interface MetricContext {
  readonly workloads: typeof Workloads;
  /** CPUs of the node: Ray's N for the 1:N and N:N actor metrics. */
  readonly cpus: number;
  /** A smoke run: smaller objects where the full size would dominate the run time. */
  readonly quick: boolean;
}

/** One metric: Ray's name, its unit, and how to set it up; `skip` says why it cannot run yet. */
export interface Metric {
  readonly name: string;
  readonly unit: Unit;
  readonly skip?: string;
  readonly setup: (ctx: MetricContext) => Promise<PreparedMetric> | PreparedMetric;
}

/** Ray's array size for `single_client_put_gigabytes`: 100 Mi float64s (800 MiB). */
const LARGE_ELEMENTS = 100 * 1024 * 1024;
/** The array size of the `--quick` run: 8 MiB. */
const QUICK_LARGE_ELEMENTS = 1024 * 1024;

function submitSmall(w: typeof Workloads, n: number): ReturnType<typeof w.small.remote>[] {
  const refs = [];
  for (let i = 0; i < n; i++) refs.push(w.small.remote());
  return refs;
}

function servers(w: typeof Workloads, n: number, maxConcurrency = 1): ActorHandle<Workloads.Server>[] {
  const Server = w.ServerActor.options({ numCpus: 0, maxConcurrency });
  return Array.from({ length: n }, () => Server.remote());
}

async function killAll(handles: readonly ActorHandle<unknown>[]): Promise<void> {
  await Promise.all(handles.map((h) => kill(h)));
}

/** Every metric, in Ray's order. */
export const METRICS: readonly Metric[] = [
  {
    name: "single_client_get_calls",
    unit: "ops/s",
    setup: () => {
      const ref = put(0);
      return { op: () => get(ref) };
    },
  },
  {
    name: "single_client_put_calls",
    unit: "ops/s",
    setup: () => ({ op: () => put(0) }),
  },
  {
    name: "single_client_put_gigabytes",
    unit: "GB/s",
    setup: ({ quick }) => {
      const array = new Float64Array(quick ? QUICK_LARGE_ELEMENTS : LARGE_ELEMENTS);
      return {
        op: () => {
          // Released at once, so the store holds one copy at a time, as Ray's loop does through GC.
          put(array)[Symbol.dispose]();
        },
        multiplier: array.byteLength / 1e9,
      };
    },
  },
  {
    name: "single_client_tasks_sync",
    unit: "ops/s",
    setup: ({ workloads: w }) => ({ op: () => get(w.small.remote()) }),
  },
  {
    name: "single_client_tasks_async",
    unit: "ops/s",
    setup: ({ workloads: w }) => ({ op: () => get(submitSmall(w, 1000)), multiplier: 1000 }),
  },
  {
    name: "single_client_tasks_and_get_batch",
    unit: "batches/s",
    setup: ({ workloads: w }) => ({ op: () => get(submitSmall(w, 1000)) }),
  },
  {
    name: "multi_client_tasks_async",
    unit: "ops/s",
    setup: ({ workloads: w }) => {
      const Client = w.TaskClientActor.options({ numCpus: 0 });
      const clients = Array.from({ length: 4 }, () => Client.remote());
      return {
        op: () => get(clients.map((c) => c.batch.remote(10_000))),
        multiplier: 4 * 10_000,
        cleanup: () => killAll(clients),
      };
    },
  },
  {
    name: "1_1_actor_calls_sync",
    unit: "ops/s",
    setup: ({ workloads: w }) => {
      const [a] = servers(w, 1);
      return { op: () => get(a!.small.remote()), cleanup: () => kill(a!) };
    },
  },
  ...(["async", "concurrent"] as const).map(
    (kind): Metric => ({
      name: `1_1_actor_calls_${kind}`,
      unit: "ops/s",
      setup: ({ workloads: w }) => {
        const [a] = servers(w, 1, kind === "concurrent" ? 16 : 1);
        return {
          op: () => {
            const refs = [];
            for (let i = 0; i < 1000; i++) refs.push(a!.small.remote());
            return get(refs);
          },
          multiplier: 1000,
          cleanup: () => kill(a!),
        };
      },
    }),
  ),
  {
    name: "1_n_actor_calls_async",
    unit: "ops/s",
    setup: ({ workloads: w, cpus }) => {
      const targets = servers(w, cpus);
      const client = w.ActorClientActor.options({ numCpus: 0 }).remote(targets);
      return {
        op: () => get(client.batch.remote(5000)),
        multiplier: 5000 * targets.length,
        cleanup: () => killAll([client, ...targets]),
      };
    },
  },
  {
    name: "n_n_actor_calls_async",
    unit: "ops/s",
    setup: ({ workloads: w, cpus }) => {
      const targets = servers(w, cpus);
      return {
        op: () => get(Array.from({ length: cpus }, () => w.roundRobin.remote(targets, 5000))),
        multiplier: 5000 * cpus,
        cleanup: () => killAll(targets),
      };
    },
  },
  {
    name: "single_client_wait_1k_refs",
    unit: "ops/s",
    setup: ({ workloads: w }) => ({
      op: async () => {
        let notReady = submitSmall(w, 1000);
        for (let i = 0; i < 1000; i++) notReady = (await wait(notReady)).notReady;
      },
    }),
  },
  {
    name: "single_client_get_object_containing_10k_refs",
    unit: "ops/s",
    setup: ({ workloads: w }) => ({ op: () => get(w.containing10kRefs.remote()) }),
  },
  {
    name: "placement_group_create/removal",
    unit: "ops/s",
    // Ray's work: 100 one-bundle groups of a tiny resource, wait for each, remove them all.
    setup: () => ({
      op: async () => {
        const pgs = Array.from({ length: 100 }, () => placementGroup([{ CPU: 0.001 }]));
        for (const pg of pgs) await pg.wait(30_000);
        for (const pg of pgs) await removePlacementGroup(pg);
      },
      multiplier: 100,
    }),
  },
];
