/**
 * The environment a task or actor runs in. Set it at `init` (job level), per task or actor through
 * options, or at `rayts job submit`. A task's `envVars` are merged over the job's and are visible in
 * that task's `process.env` only; `workingDir` (a local directory, `.zip` or `.tar.gz`) is shipped to
 * every node and becomes the task's cwd and module root, minus the gitignore-style `excludes`;
 * `packages` are npm specs (`"lodash@4"`, `"./vendor/x.tgz"`) installed on the node and cached by hash.
 * A failure to build the environment surfaces as `RuntimeEnvSetupError` from `get`.
 *
 * @example
 * remote(fn).options({ runtimeEnv: { envVars: { MODE: "fast" }, packages: ["lodash@4"] } });
 */
export interface RuntimeEnv {
  /** Environment variables for the task or actor, merged over the job's. */
  envVars?: Record<string, string>;
  /** Local directory (or `.zip`/`.tar.gz`) shipped to every node; used as cwd and module root. */
  workingDir?: string;
  /** Gitignore-style patterns left out of `workingDir`. */
  excludes?: string[];
  /** npm specs installed on the node, cached by hash. */
  packages?: string[];
  /** Setup limits: `setupTimeoutMs` bounds how long building the environment may take. */
  config?: { setupTimeoutMs?: number };
}

/**
 * Anything that names a placement group: the handle `placementGroup()` returns satisfies it. Only the
 * `id` (hex) is used for scheduling.
 */
export interface PlacementGroupLike {
  readonly id: string;
}

/**
 * Where a task or actor may run. `"DEFAULT"` runs it locally when it fits, else on the node that fits
 * best; `"SPREAD"` spreads work across nodes; `{ nodeId }` pins it to one node (with `soft: true` it
 * may run elsewhere when that node is dead or full; without it, a dead node makes the work fail with
 * an unschedulable error); `{ placementGroup, bundleIndex }` runs it inside a reserved bundle (index
 * -1 or omitted: any bundle of the group), and `captureChildTasks` makes the tasks it submits use the
 * same group.
 *
 * @example
 * f.options({ scheduling: { placementGroup: pg, bundleIndex: 0 } }).remote();
 * f.options({ scheduling: { nodeId: info.nodeId, soft: true } }).remote();
 */
export type SchedulingStrategy =
  | "DEFAULT"
  | "SPREAD"
  | { nodeId: string; soft?: boolean }
  | { placementGroup: PlacementGroupLike; bundleIndex?: number; captureChildTasks?: boolean };

/**
 * Options for `init`. `address` connects to a running cluster (`"host:port"`, or `"auto"` to find
 * the one `rayts up` started); without it (and without `RAYTS_ADDRESS`) rayts starts an embedded
 * cluster inside the driver, sized by `numCpus`, `numGpus`, `resources` and `objectStoreMemory`
 * (bytes), which apply to the embedded cluster only. `namespace` groups named actors (default: a fresh
 * anonymous namespace per job); `runtimeEnv` is the job-level default for every task and actor;
 * `logToDriver` (default true) shows worker console output on the driver, prefixed.
 *
 * @example
 * await init({ numCpus: 4, resources: { accel: 2 }, namespace: "jobs" });
 */
export interface InitOptions {
  /** `"host:port"` or `"auto"`; default: `RAYTS_ADDRESS`, else an embedded cluster. */
  address?: string;
  /** Shared secret for a cluster started with one. */
  token?: string;
  /** CPUs of the embedded cluster; default: the machine's cores. */
  numCpus?: number;
  /** GPUs of the embedded cluster; default: those detected. */
  numGpus?: number;
  /** Custom resources of the embedded cluster, e.g. `{ accel: 2 }`. */
  resources?: Record<string, number>;
  /** Bytes of shared memory for the embedded cluster's object store. */
  objectStoreMemory?: number;
  /** Namespace for named actors; default: a fresh anonymous namespace per job. */
  namespace?: string;
  /** Job-level runtime environment, the default for every task and actor. */
  runtimeEnv?: RuntimeEnv;
  /** Show worker console output on the driver, prefixed `(name pid=…)`; default true. */
  logToDriver?: boolean;
}

/**
 * Options for a remote function, given to `fn.options(...)` (which returns a
 * new remote function; later options win key by key). Resources (`numCpus` default 1, `numGpus` 0,
 * `memory` 0 bytes, custom `resources`) are held while the task runs; amounts may be fractional with a
 * granularity of 0.0001, and `numGpus` above 1 must be whole. `numReturns` > 1 makes `.remote()`
 * return that many refs from a function that returns an array of that length. `maxRetries` (default 3,
 * -1 forever) covers worker and node deaths; `retryExceptions` also retries when the function throws
 * (`true`, or a list of error names). `name` (default: the function's name) shows in listings, logs
 * and errors.
 *
 * @example
 * const f = remote(train).options({ numCpus: 2, numGpus: 0.5, maxRetries: 0, retryExceptions: ["NetError"] });
 */
export interface TaskOptions {
  /** CPUs held while running; default 1. */
  numCpus?: number;
  /** GPUs held while running; default 0. Fractions below 1 share a device. */
  numGpus?: number;
  /** Bytes of memory reserved; default 0. */
  memory?: number;
  /** Custom resources, e.g. `{ accel: 1 }`; must not contain `CPU` or `GPU`. */
  resources?: Record<string, number>;
  /** Number of returned refs; default 1. */
  numReturns?: number;
  /** Retries after a worker or node died; default 3, -1 forever. */
  maxRetries?: number;
  /** Also retry when the function throws: `true`, or the error names to retry; default false. */
  retryExceptions?: boolean | string[];
  /** Runtime environment; default: the job's. */
  runtimeEnv?: RuntimeEnv;
  /** Where the task may run; default `"DEFAULT"`. */
  scheduling?: SchedulingStrategy;
  /** Name shown in listings, logs and errors; default: the function's name. */
  name?: string;
}

/**
 * Options for an actor class, given to `ActorClass.options(...)`. By
 * default an actor needs 1 CPU to be placed and holds none while it lives (so idle actors do not
 * starve tasks); once any of `numCpus`, `numGpus` or `resources` is given, it holds exactly what was
 * asked (`numCpus` then defaulting to 0) for its whole life, as in Ray. `name` registers it in
 * `namespace` for `getActor`; `getIfExists` (needs `name`) returns the existing actor instead of
 * failing; `lifetime: "detached"` lets it outlive its driver. `maxRestarts` (default 0, -1 forever)
 * restarts it after a crash, `maxTaskRetries` (default 0) retries calls interrupted by one,
 * `maxConcurrency` (default 1) bounds calls in flight and `maxPendingCalls` (default -1, unbounded)
 * bounds queued calls.
 *
 * @example
 * const Counter = remote(CounterClass).options({ name: "hits", lifetime: "detached", maxRestarts: -1 });
 */
export interface ActorOptions {
  /** CPUs: default 1 to place the actor and 0 while it lives; when given, held for its whole life. */
  numCpus?: number;
  /** GPUs held for the actor's life; default 0. */
  numGpus?: number;
  /** Bytes of memory reserved for the actor's life; default 0. */
  memory?: number;
  /** Custom resources held for the actor's life; must not contain `CPU` or `GPU`. */
  resources?: Record<string, number>;
  /** Registers the actor under this name for `getActor`. */
  name?: string;
  /** Namespace of the name; default: the job's. */
  namespace?: string;
  /** Return the actor already registered under `name` instead of failing; needs `name`. */
  getIfExists?: boolean;
  /** `"detached"` outlives its driver; default `"non_detached"`. */
  lifetime?: "detached" | "non_detached";
  /** Restarts after a crash; default 0, -1 forever. */
  maxRestarts?: number;
  /** Retries of calls interrupted by a crash; default 0, -1 forever. */
  maxTaskRetries?: number;
  /** Calls in flight at once; default 1 (strictly one after another). */
  maxConcurrency?: number;
  /** Calls queued before `.remote()` throws; default -1 (unbounded). */
  maxPendingCalls?: number;
  /** Runtime environment; default: the job's. */
  runtimeEnv?: RuntimeEnv;
  /** Where the actor may be placed; default `"DEFAULT"`. */
  scheduling?: SchedulingStrategy;
}

/**
 * Options for one actor method, given to `handle.method.options(...)`: `numReturns` (default 1) as for
 * tasks, and `name` to show instead of `Class.method` in listings, logs and errors.
 *
 * @example
 * const [a, b] = handle.split.options({ numReturns: 2 }).remote(data);
 */
export interface MethodOptions {
  /** Number of returned refs; default 1. */
  numReturns?: number;
  /** Name shown instead of `Class.method`. */
  name?: string;
}
