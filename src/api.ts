/**
 * The functions of module `rayts` that act on objects, actors and the cluster. Each resolves this
 * thread's runtime (starting the embedded cluster on first use in a driver) and delegates to it.
 */
import { RaytsError } from "./errors.ts";
import { ObjectRef } from "./object-ref.ts";
import type { InitOptions } from "./options/types.ts";
import type { ActorHandleBase } from "./runtime/actor-handle.ts";
import { makeActorHandle } from "./runtime/actor-handle.ts";
import { currentCore, embeddedNode, ensureCore, startDriverAsync, stopDriver } from "./runtime/context.ts";
import type { NodeInfo } from "./runtime/protocol.ts";
import type { ActorHandle } from "./runtime/remote.ts";
import { ACTOR_HANDLE_STATE } from "./serialize/codec.ts";

/**
 * Starts the runtime. Optional: the first API call starts it with defaults. With no address, an
 * embedded cluster (a head and one node) runs inside this process.
 */
export async function init(options?: InitOptions): Promise<void> {
  // On a worker `init` is a no-op, so scripts that call it before defining their functions load.
  if (!isDriverThread()) return;
  await startDriverAsync(options);
}

function isDriverThread(): boolean {
  return Bun.isMainThread;
}

/** Stops the runtime: every worker ends and the object store is released. */
export async function shutdown(): Promise<void> {
  if (isDriverThread()) stopDriver();
}

/** True once the runtime has started (by `init` or the first API call). */
export function isInitialized(): boolean {
  return currentCore() !== undefined;
}

/**
 * Stores a value in the object store and returns its ref, synchronously (like Ray's `put`).
 * Binary data of 64 KiB or more goes to shared memory once; `get` on this node reads it without copying.
 */
export function put<T>(value: T): ObjectRef<T> {
  return ensureCore().put(value);
}

/** Options of {@link get}. */
export interface GetOptions {
  /** Reject with GetTimeoutError when the value is not ready within this many milliseconds. */
  readonly timeoutMs?: number;
}

/**
 * Waits for one object's value, or for several (order kept, duplicates allowed).
 *
 * @example
 * const [a, b] = await get([f.remote(1), f.remote(2)]);
 */
export function get<T>(ref: ObjectRef<T>, opts?: GetOptions): Promise<T>;
export function get<const T extends readonly ObjectRef<unknown>[]>(
  refs: T,
  opts?: GetOptions,
): Promise<{ -readonly [K in keyof T]: T[K] extends ObjectRef<infer V> ? V : never }>;
export function get(
  refs: ObjectRef<unknown> | readonly ObjectRef<unknown>[],
  opts?: GetOptions,
): Promise<unknown> {
  try {
    checkKeys("get", opts, ["timeoutMs"]);
  } catch (err) {
    return Promise.reject(err);
  }
  const timeoutMs = checkTimeout("get", opts?.timeoutMs);
  if (!(refs instanceof ObjectRef) && !Array.isArray(refs)) {
    return Promise.reject(
      new TypeError(`get() takes an ObjectRef or an array of ObjectRefs: got ${typeName(refs)}`),
    );
  }
  return ensureCore().get(refs, timeoutMs);
}

/** Options of {@link wait}. */
export interface WaitOptions {
  /** How many refs must be ready (default 1). */
  readonly numReturns?: number;
  /** Return what is ready after this many milliseconds. */
  readonly timeoutMs?: number;
  /** Accepted for Ray compatibility; objects are always local in the embedded cluster. */
  readonly fetchLocal?: boolean;
}

/**
 * Waits until `numReturns` of the refs are ready (or the timeout passes) and splits them.
 *
 * @example
 * const { ready, notReady } = await wait(refs, { numReturns: 2, timeoutMs: 1000 });
 */
export async function wait<T>(
  refs: readonly ObjectRef<T>[],
  opts?: WaitOptions,
): Promise<{ ready: ObjectRef<T>[]; notReady: ObjectRef<T>[] }> {
  if (!Array.isArray(refs)) throw new TypeError(`wait() takes an array of ObjectRefs: got ${typeName(refs)}`);
  const seen = new Set<string>();
  for (let i = 0; i < refs.length; i++) {
    const r = refs[i];
    if (!(r instanceof ObjectRef))
      throw new TypeError(`wait() takes ObjectRefs: element ${i} is ${typeName(r)}`);
    if (seen.has(r.id))
      throw new TypeError(`wait() got the same ObjectRef twice (${r.id}): pass each ref once`);
    seen.add(r.id);
  }
  checkKeys("wait", opts, ["numReturns", "timeoutMs", "fetchLocal"]);
  if (refs.length === 0) return { ready: [], notReady: [] };
  const numReturns = opts?.numReturns ?? 1;
  if (!Number.isInteger(numReturns) || numReturns < 1) {
    throw new TypeError(`wait() numReturns must be a whole number of at least 1: got ${String(numReturns)}`);
  }
  if (numReturns > refs.length) {
    throw new TypeError(
      `wait() numReturns is ${numReturns} but only ${refs.length} refs were given: ask for at most ${refs.length}`,
    );
  }
  const timeoutMs = checkTimeout("wait", opts?.timeoutMs);
  return (await ensureCore().wait(refs, numReturns, timeoutMs)) as {
    ready: ObjectRef<T>[];
    notReady: ObjectRef<T>[];
  };
}

/**
 * Cancels the task that makes `ref`. A queued task never runs; a running one is told to stop, and
 * with `force` its worker is terminated (the only way to stop a busy loop). `get` on it rejects with
 * TaskCancelledError. `recursive` (default true) also cancels the tasks it submitted.
 */
export async function cancel(
  ref: ObjectRef<unknown>,
  opts?: { force?: boolean; recursive?: boolean },
): Promise<void> {
  if (!(ref instanceof ObjectRef)) throw new TypeError(`cancel() takes an ObjectRef: got ${typeName(ref)}`);
  const core = ensureCore();
  await core.api.cancel(core.caller, ref.id, opts?.force === true, opts?.recursive !== false);
}

/**
 * Evicts objects now, ahead of garbage collection; a later `get` of them rejects with ObjectLostError.
 * Resolves once the copies on other nodes are dropped too.
 */
export async function free(refs: readonly ObjectRef<unknown>[]): Promise<void> {
  const list = Array.isArray(refs) ? refs : [refs as unknown as ObjectRef<unknown>];
  for (const r of list)
    if (!(r instanceof ObjectRef)) throw new TypeError(`free() takes ObjectRefs: got ${typeName(r)}`);
  const core = ensureCore();
  await core.api.freeObjects(
    core.caller,
    list.map((r) => r.id),
  );
}

/**
 * Kills an actor at once: its pending and future calls fail with ActorDiedError. With
 * `noRestart: false`, an actor with restarts left is restarted instead.
 */
export async function kill(handle: ActorHandleBase, opts?: { noRestart?: boolean }): Promise<void> {
  const state = stateOf(handle);
  const core = ensureCore();
  core.api.killActor(core.caller, state.actorId, opts?.noRestart !== false, state.home);
}

/**
 * Looks up a named actor (in this job's namespace unless another is given).
 *
 * @example
 * const counter = await getActor<Counter>("hits");
 */
export async function getActor<T = unknown>(
  name: string,
  opts?: { namespace?: string },
): Promise<ActorHandle<T>> {
  if (typeof name !== "string" || name === "")
    throw new TypeError("getActor() takes the actor's name, a non-empty string");
  checkKeys("getActor", opts, ["namespace"]);
  if (opts?.namespace !== undefined && (typeof opts.namespace !== "string" || opts.namespace === "")) {
    throw new TypeError(`getActor() namespace must be a non-empty string: got ${typeName(opts.namespace)}`);
  }
  const core = ensureCore();
  const namespace = opts?.namespace ?? core.namespace;
  const state = await core.api.getNamedActor(name, namespace);
  if (state === undefined) {
    throw new RaytsError(
      `No actor named "${name}" in namespace "${namespace}": create it with .options({ name }) first, or pass the right namespace`,
    );
  }
  return makeActorHandle(state, core) as ActorHandle<T>;
}

/** The cluster's nodes. */
export function nodes(): Promise<NodeInfo[]> {
  return ensureCore().api.nodes();
}

/** Total resources of the cluster's alive nodes. */
export function clusterResources(): Promise<Record<string, number>> {
  return ensureCore().api.clusterResources();
}

/** Resources free right now. */
export function availableResources(): Promise<Record<string, number>> {
  return ensureCore().api.availableResources();
}

/** Where the calling code runs: job, node, worker, task or actor, and its assigned resources. */
export interface RuntimeContext {
  readonly jobId: string;
  readonly nodeId: string;
  readonly workerId: string;
  readonly taskId: string | undefined;
  readonly actorId: string | undefined;
  readonly namespace: string;
  getGpuIds(): number[];
  getAssignedResources(): Record<string, number>;
}

/** The context of the calling code. */
export function getRuntimeContext(): RuntimeContext {
  const core = ensureCore();
  const t = core.currentTask();
  return {
    jobId: core.jobId,
    nodeId: core.api.nodeId,
    workerId: core.workerId,
    taskId: t?.taskId,
    actorId: t?.actorId,
    namespace: core.namespace,
    getGpuIds: () => [...(t?.gpuIds ?? [])],
    getAssignedResources: () => ({ ...(t?.resources ?? {}) }),
  };
}

/** Internal: the embedded node of this driver, for tests. */
export function _embeddedNode(): ReturnType<typeof embeddedNode> {
  return embeddedNode();
}

function stateOf(handle: unknown): { actorId: string; home?: string } {
  const state = (handle as Record<PropertyKey, unknown> | null)?.[ACTOR_HANDLE_STATE];
  if (state === undefined || state === null)
    throw new TypeError(`Expected an actor handle: got ${typeName(handle)}`);
  return state as { actorId: string; home?: string };
}

/** Unknown option names are an error, not silence (a Ray user's `timeout` would be dropped). */
function checkKeys(fn: string, opts: object | undefined, valid: readonly string[]): void {
  if (opts === undefined || opts === null) return;
  if (typeof opts !== "object")
    throw new TypeError(`${fn}() options must be an object: got ${typeName(opts)}`);
  for (const key of Object.keys(opts)) {
    if (!valid.includes(key)) {
      const hint =
        key === "timeout" && valid.includes("timeoutMs")
          ? ' (did you mean "timeoutMs"? it is in milliseconds)'
          : "";
      throw new TypeError(`Unknown ${fn}() option "${key}"${hint}: valid options are ${valid.join(", ")}`);
    }
  }
}

function checkTimeout(fn: string, t: number | undefined): number | undefined {
  if (t === undefined) return undefined;
  if (typeof t !== "number" || Number.isNaN(t) || t < 0) {
    throw new TypeError(`${fn}() timeoutMs must be a number of at least 0: got ${String(t)}`);
  }
  return t === Number.POSITIVE_INFINITY ? undefined : t;
}

function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  return typeof v === "object"
    ? `an object (${(v as object).constructor?.name ?? "Object"})`
    : `a ${typeof v}`;
}
