// Options are compiled once: user options → validated, normalised values → a frozen object with every
// default filled and the resource demand precomputed, so submission never re-checks or re-derives them.

import type { OptionKind } from "./_check.ts";
import * as check from "./_check.ts";
import { type CompiledRuntimeEnv, compileRuntimeEnv } from "./runtime-env.ts";
import { type CompiledSchedulingStrategy, compileScheduling } from "./scheduling.ts";
import type { ActorOptions, MethodOptions, TaskOptions } from "./types.ts";

export { type ValidatedInitOptions, validateInitOptions } from "./init-options.ts";
export type { CompiledRuntimeEnv } from "./runtime-env.ts";
export type { CompiledSchedulingStrategy } from "./scheduling.ts";

/** A resource request as the scheduler takes it: `{ CPU, GPU, memory, ...custom }`, zeros left out, frozen. */
export type ResourceDemand = Readonly<Record<string, number>>;

/**
 * {@link TaskOptions} compiled: validated, frozen, every default filled (`numCpus` 1, `numGpus` 0,
 * `memory` 0, `resources` {}, `numReturns` 1, `maxRetries` 3, `retryExceptions` false, `scheduling`
 * "DEFAULT"). `name` and `runtimeEnv` stay undefined when not given: the caller uses the function's
 * name and the job's environment. `demand` is what the task holds while it runs.
 */
export interface CompiledTaskOptions {
  readonly numCpus: number;
  readonly numGpus: number;
  readonly memory: number;
  readonly resources: Readonly<Record<string, number>>;
  readonly numReturns: number;
  readonly maxRetries: number;
  /** `true`, `false`, or the error names to retry (never an empty list: that compiles to `false`). */
  readonly retryExceptions: boolean | readonly string[];
  readonly runtimeEnv: CompiledRuntimeEnv | undefined;
  readonly scheduling: CompiledSchedulingStrategy;
  readonly name: string | undefined;
  readonly demand: ResourceDemand;
}

/**
 * {@link ActorOptions} compiled. Ray's CPU rule is resolved here: with no resource option given, the
 * actor needs 1 CPU to be placed (`numCpus`, `placementDemand`) and holds none while alive
 * (`numCpusWhileAlive` 0, `demand`); once `numCpus`, `numGpus` or `resources` is given, both equal
 * what was asked (`numCpus` defaulting to 0). Place it where `placementDemand` fits, hold `demand`.
 */
export interface CompiledActorOptions {
  readonly numCpus: number;
  readonly numCpusWhileAlive: number;
  readonly numGpus: number;
  readonly memory: number;
  readonly resources: Readonly<Record<string, number>>;
  readonly name: string | undefined;
  readonly namespace: string | undefined;
  readonly getIfExists: boolean;
  readonly lifetime: "detached" | "non_detached";
  readonly maxRestarts: number;
  readonly maxTaskRetries: number;
  readonly maxConcurrency: number;
  readonly maxPendingCalls: number;
  readonly runtimeEnv: CompiledRuntimeEnv | undefined;
  readonly scheduling: CompiledSchedulingStrategy;
  /** Needed free on a node to start the actor there. */
  readonly placementDemand: ResourceDemand;
  /** Held for the actor's whole life. */
  readonly demand: ResourceDemand;
}

/** {@link MethodOptions} compiled: `numReturns` 1 and `name` undefined (`Class.method`) by default. */
export interface CompiledMethodOptions {
  readonly numReturns: number;
  readonly name: string | undefined;
}

type Normalizer = (kind: OptionKind, value: unknown) => unknown;

const NORMALIZE = {
  numCpus: (k, v) => check.amount(k, "numCpus", v),
  numGpus: (k, v) => check.gpuAmount(k, "numGpus", v),
  memory: (k, v) => check.amount(k, "memory", v, true),
  resources: (k, v) => check.resources(k, "resources", v),
  numReturns: (k, v) => check.integer(k, "numReturns", v, 1),
  maxRetries: (k, v) => check.integer(k, "maxRetries", v, -1),
  retryExceptions: (k, v) => retryExceptions(k, v),
  runtimeEnv: (k, v) => compileRuntimeEnv(k, v),
  scheduling: (k, v) => compileScheduling(k, v),
  name: (k, v) => check.string(k, "name", v),
  namespace: (k, v) => check.string(k, "namespace", v),
  getIfExists: (k, v) => check.boolean(k, "getIfExists", v),
  lifetime: (k, v) => check.oneOf(k, "lifetime", v, ["detached", "non_detached"] as const),
  maxRestarts: (k, v) => check.integer(k, "maxRestarts", v, -1),
  maxTaskRetries: (k, v) => check.integer(k, "maxTaskRetries", v, -1),
  maxConcurrency: (k, v) => check.integer(k, "maxConcurrency", v, 1),
  maxPendingCalls: (k, v) => check.integer(k, "maxPendingCalls", v, 1, -1),
} satisfies Record<string, Normalizer>;

type Normalized = { [K in keyof typeof NORMALIZE]: ReturnType<(typeof NORMALIZE)[K]> };

const TASK_KEYS = [
  "numCpus",
  "numGpus",
  "memory",
  "resources",
  "numReturns",
  "maxRetries",
  "retryExceptions",
  "runtimeEnv",
  "scheduling",
  "name",
] as const satisfies readonly (keyof TaskOptions & keyof Normalized)[];

const ACTOR_KEYS = [
  "numCpus",
  "numGpus",
  "memory",
  "resources",
  "name",
  "namespace",
  "getIfExists",
  "lifetime",
  "maxRestarts",
  "maxTaskRetries",
  "maxConcurrency",
  "maxPendingCalls",
  "runtimeEnv",
  "scheduling",
] as const satisfies readonly (keyof ActorOptions & keyof Normalized)[];

const METHOD_KEYS = ["numReturns", "name"] as const satisfies readonly (keyof MethodOptions &
  keyof Normalized)[];

function retryExceptions(kind: OptionKind, value: unknown): boolean | readonly string[] {
  if (typeof value === "boolean") return value;
  if (!Array.isArray(value)) {
    throw new TypeError(
      `${check.label(kind, "retryExceptions")} must be true, false or a list of error names: got ${check.describe(value)}`,
    );
  }
  const names = check.stringArray(kind, "retryExceptions", value);
  return names.length === 0 ? false : names;
}

/** The normalised options each compiled object was built from, so `.options()` can merge over them. */
const sources = new WeakMap<object, Readonly<Partial<Normalized>>>();

/** Validates `opts` (unknown keys, then each value) and merges the result over `base`'s sources. */
function merge<K extends keyof Normalized>(
  kind: OptionKind,
  keys: readonly K[],
  opts: unknown,
  base: object | undefined,
): Partial<Pick<Normalized, K>> {
  let prior: Readonly<Partial<Normalized>> = {};
  if (base !== undefined) {
    const known = sources.get(base);
    if (known === undefined) {
      throw new TypeError(`Base ${kind} options were not compiled: pass what a compile function returned`);
    }
    prior = known;
  }
  if (opts === undefined) return prior as Partial<Pick<Normalized, K>>;
  const raw = check.object(kind, undefined, opts);
  check.knownKeys(kind, undefined, raw, keys);
  const out: Record<string, unknown> = { ...prior };
  for (const [key, value] of Object.entries(check.given(raw))) {
    out[key] = (NORMALIZE[key as K] as Normalizer)(kind, value);
  }
  return out as Partial<Pick<Normalized, K>>;
}

function demandOf(
  cpu: number,
  gpu: number,
  memory: number,
  custom: Readonly<Record<string, number>>,
): ResourceDemand {
  const demand: Record<string, number> = {};
  if (cpu > 0) demand.CPU = cpu;
  if (gpu > 0) demand.GPU = gpu;
  if (memory > 0) demand.memory = memory;
  for (const [name, amount] of Object.entries(custom)) demand[name] = amount;
  return Object.freeze(demand);
}

function seal<T extends object>(compiled: T, from: Partial<Normalized>): Readonly<T> {
  Object.freeze(compiled);
  sources.set(compiled, Object.freeze(from));
  return compiled;
}

const NO_RESOURCES: Readonly<Record<string, number>> = Object.freeze({});

/**
 * Compiles task options, merged over `base` (the options being refined by `.options()`): keys given
 * later win whole (a new `resources` replaces the old one), and an `undefined` value means "not given".
 * Throws a `TypeError` naming the key for unknown options and wrong types, a `RangeError` for bad
 * numbers.
 *
 * @example
 * const base = compileTaskOptions({ numCpus: 2 });
 * compileTaskOptions({ maxRetries: 0 }, base); // numCpus 2, maxRetries 0, demand { CPU: 2 }
 */
export function compileTaskOptions(
  opts: TaskOptions | undefined,
  base?: CompiledTaskOptions,
): CompiledTaskOptions {
  const o = merge("task", TASK_KEYS, opts, base);
  const numCpus = o.numCpus ?? 1;
  const numGpus = o.numGpus ?? 0;
  const memory = o.memory ?? 0;
  const resources = o.resources ?? NO_RESOURCES;
  return seal<CompiledTaskOptions>(
    {
      numCpus,
      numGpus,
      memory,
      resources,
      numReturns: o.numReturns ?? 1,
      maxRetries: o.maxRetries ?? 3,
      retryExceptions: o.retryExceptions ?? false,
      runtimeEnv: o.runtimeEnv,
      scheduling: o.scheduling ?? "DEFAULT",
      name: o.name,
      demand: demandOf(numCpus, numGpus, memory, resources),
    },
    o,
  );
}

/**
 * Compiles actor options, merged over `base` like {@link compileTaskOptions}. Also checks that
 * `getIfExists` comes with a `name`.
 *
 * @example
 * compileActorOptions(undefined).placementDemand; // { CPU: 1 }, while demand is {}
 */
export function compileActorOptions(
  opts: ActorOptions | undefined,
  base?: CompiledActorOptions,
): CompiledActorOptions {
  const o = merge("actor", ACTOR_KEYS, opts, base);
  if (o.getIfExists === true && o.name === undefined) {
    throw new TypeError(`${check.label("actor", "getIfExists")} needs "name": name the actor to look it up`);
  }
  const specified = o.numCpus !== undefined || o.numGpus !== undefined || o.resources !== undefined;
  const numCpusWhileAlive = o.numCpus ?? 0;
  const numGpus = o.numGpus ?? 0;
  const memory = o.memory ?? 0;
  const resources = o.resources ?? NO_RESOURCES;
  const demand = demandOf(numCpusWhileAlive, numGpus, memory, resources);
  return seal<CompiledActorOptions>(
    {
      numCpus: specified ? numCpusWhileAlive : 1,
      numCpusWhileAlive,
      numGpus,
      memory,
      resources,
      name: o.name,
      namespace: o.namespace,
      getIfExists: o.getIfExists ?? false,
      lifetime: o.lifetime ?? "non_detached",
      maxRestarts: o.maxRestarts ?? 0,
      maxTaskRetries: o.maxTaskRetries ?? 0,
      maxConcurrency: o.maxConcurrency ?? 1,
      maxPendingCalls: o.maxPendingCalls ?? -1,
      runtimeEnv: o.runtimeEnv,
      scheduling: o.scheduling ?? "DEFAULT",
      placementDemand: specified ? demand : demandOf(1, numGpus, memory, resources),
      demand,
    },
    o,
  );
}

/** Compiles actor-method options, merged over `base` like {@link compileTaskOptions}. */
export function compileMethodOptions(
  opts: MethodOptions | undefined,
  base?: CompiledMethodOptions,
): CompiledMethodOptions {
  const o = merge("method", METHOD_KEYS, opts, base);
  return seal<CompiledMethodOptions>({ numReturns: o.numReturns ?? 1, name: o.name }, o);
}
