/**
 * What runs inside a Worker thread: tasks one at a time in arrival order (the node pipelines them),
 * or one actor with up to `maxConcurrency` calls in flight. Results go back as payloads: small ones
 * inline, large ones written straight into the node's shm store from this thread (`task-reply.ts`
 * encodes and reports return values and errors).
 */
import { AsyncLocalStorage } from "node:async_hooks";
import { ActorDiedError, RaytsError } from "../errors.ts";
import type { Core, TaskContext } from "../runtime/core.ts";
import { explainReferenceError, resolve, resolvedNow } from "../runtime/function-registry.ts";
import { decodePayload, encodeValue } from "../runtime/payload.ts";
import type {
  ActorCallDispatch,
  ActorCreateDispatch,
  FunctionDescriptor,
  FunctionRegistration,
  Payload,
  TaskDispatch,
} from "../runtime/protocol.ts";
import { type Columns, forEachItem } from "./task-block.ts";
import { describe, errorPayload, fail, reply } from "./task-reply.ts";
import type { WorkerLink } from "./worker-link.ts";

/** The context of the task or call the current async flow belongs to. */
export const taskContext = new AsyncLocalStorage<TaskContext>();

interface ActorInstance {
  readonly actorId: string;
  /** Average duration per method, for result batching. */
  readonly avgMs: Map<string, number>;
  readonly desc: FunctionDescriptor;
  readonly evaluated: boolean;
  readonly instance: Record<string, unknown>;
  readonly className: string;
  readonly maxConcurrency: number;
  /** The actor's environment variables, for life: what its calls run with and pass on. */
  readonly envVars: Readonly<Record<string, string>> | undefined;
  readonly namespace: string;
  running: number;
  readonly queue: ActorCallDispatch[];
}

export class Executor {
  readonly #core: Core;
  readonly #link: WorkerLink;
  readonly #fns = new Map<number, FunctionRegistration & { avgMs?: number }>();
  readonly #queue: TaskDispatch[] = [];
  #running: TaskDispatch | undefined;
  #runningCtx: TaskContext | undefined;
  #actor: ActorInstance | undefined;
  #actorPending: ActorCallDispatch[] | undefined;
  readonly #inflightCalls = new Map<string, TaskContext>();
  readonly #signatures = new Map<number, { method: string; numReturns: number; name: string }>();

  constructor(core: Core, link: WorkerLink) {
    this.#core = core;
    this.#link = link;
  }

  // ---- tasks ---------------------------------------------------------------------------------

  register(r: FunctionRegistration): void {
    this.#fns.set(r.idx, { ...r });
  }

  enqueue(d: TaskDispatch): void {
    this.#queue.push(d);
    if (this.#running === undefined) void this.#pump();
  }

  /** A columnar batch of plain tasks (no ref arguments, GPUs or environment). */
  enqueueColumns(cols: Columns): void {
    forEachItem(cols, (taskId, fn, bytes) => {
      this.#queue.push({
        t: "task",
        taskId,
        fn,
        args: { t: 0, bytes },
        argRefs: NONE,
        argValues: NONE,
        gpuIds: NONE,
        env: undefined,
      });
    });
    if (this.#running === undefined) void this.#pump();
  }

  /** Hands every task not started yet back to the node. */
  yieldQueued(): void {
    const ids = this.#queue.splice(0).map((d) => d.taskId);
    this.#link.post({ t: "returned", taskIds: ids });
  }

  cancel(taskId: string): void {
    const i = this.#queue.findIndex((d) => d.taskId === taskId);
    if (i >= 0) {
      this.#queue.splice(i, 1);
      this.#link.post({ t: "done", taskId, values: [], contained: [] });
      return;
    }
    const ctx = this.#running?.taskId === taskId ? this.#runningCtx : this.#inflightCalls.get(taskId);
    if (ctx !== undefined) {
      ctx.cancelled = true;
      ctx.onCancel?.();
    }
  }

  /**
   * Runs queued tasks in order. Results of quick tasks are held and sent in batches (each
   * postMessage has a fixed cost of several microseconds on both sides); held results go out before
   * a task that is expected to take longer than {@link QUICK_TASK_MS}, when 64 are held, and when the
   * queue runs dry, so batching never delays a result behind a long task.
   */
  async #pump(): Promise<void> {
    const link = this.#link;
    link.holdResults = true;
    try {
      while (this.#queue.length > 0) {
        const d = this.#queue.shift() as TaskDispatch;
        const reg = this.#fns.get(d.fn);
        if (
          link.heldResults >= 64 ||
          (link.heldResults > 0 && !((reg?.avgMs ?? Number.POSITIVE_INFINITY) < QUICK_TASK_MS))
        ) {
          link.flush();
        }
        this.#running = d;
        const t0 = performance.now();
        try {
          await this.#runTask(d);
        } finally {
          this.#running = undefined;
          this.#runningCtx = undefined;
        }
        if (reg !== undefined) {
          const ms = performance.now() - t0;
          reg.avgMs = reg.avgMs === undefined ? ms : reg.avgMs * 0.8 + ms * 0.2;
        }
      }
    } finally {
      link.holdResults = false;
      link.flush();
    }
  }

  async #runTask(d: TaskDispatch): Promise<void> {
    const reg = this.#fns.get(d.fn);
    if (reg === undefined) {
      fail(
        this.#core,
        this.#link,
        d.taskId,
        "task",
        new RaytsError(`Function ${d.fn} of task ${d.taskId} never reached this worker`),
        true,
      );
      return;
    }
    const desc = reg.fn;
    const ctx: TaskContext = {
      taskId: d.taskId,
      name: reg.name,
      actorId: undefined,
      gpuIds: d.gpuIds,
      resources: reg.resources,
      envVars: d.env,
      namespace: reg.namespace,
      cancelled: false,
    };
    this.#runningCtx = ctx;
    const restore = applyEnv(d.env, d.gpuIds);
    let evaluated = false;
    try {
      // Registered already (every task after the first of its function): no turn to wait.
      let fn = resolvedNow(desc) as ((...a: unknown[]) => unknown) | undefined;
      if (fn === undefined) {
        const loaded = await resolve(desc);
        fn = loaded.target as (...a: unknown[]) => unknown;
        evaluated = loaded.evaluated;
      } else evaluated = desc.module === undefined;
      const args = this.#decodeArgs(d.args, d.argRefs, d.argValues);
      if (desc.generator) {
        await taskContext.run(ctx, () => this.#stream(d.taskId, fn(...args)));
        return;
      }
      let result = taskContext.run(ctx, () => fn(...args));
      if (result instanceof Promise) result = await untilSettledOrCancelled(result, ctx);
      if (result === CANCELLED) {
        // The node already answered TaskCancelledError; free this worker for the next task.
        this.#link.post({ t: "done", taskId: d.taskId, values: [], contained: [] });
        return;
      }
      const replied = reply(this.#core, this.#link, d.taskId, reg.name, reg.numReturns, result);
      if (replied !== undefined) await replied;
    } catch (err) {
      fail(this.#core, this.#link, d.taskId, reg.name, explainReferenceError(err, desc, evaluated), false);
    } finally {
      restore();
    }
  }

  /** Sends each value of a generator task's (or generator method's) iterator as a stream item. */
  async #stream(taskId: string, it: unknown): Promise<void> {
    if (!isIterable(it))
      throw new TypeError(
        `A streaming call returned no generator: got ${describe(it)}; define the method as a generator function`,
      );
    let index = 0;
    const core = this.#core;
    const ctx = taskContext.getStore();
    for await (const value of it as AsyncIterable<unknown>) {
      if (ctx?.cancelled) break;
      index++;
      const { payload, contained } = encodeValue(value, "yielded value", core.hooks, core.arena, core.alloc);
      this.#link.post({ t: "item", taskId, index, payload, contained, err: false });
      // Send it now: a sync generator computes its next value without yielding to the event loop.
      this.#link.flush();
    }
    this.#link.post({ t: "done", taskId, values: [], contained: [] });
  }

  #decodeArgs(
    args: Payload,
    argRefs: ReadonlyArray<readonly [number, string]>,
    values: readonly { payload: Payload; err: boolean }[],
  ): unknown[] {
    const core = this.#core;
    const list = decodePayload(args, core.hooks, core.arena, () => {}) as unknown[];
    for (let k = 0; k < argRefs.length; k++) {
      const [pos, id] = argRefs[k] as readonly [number, string];
      list[pos] = core.decode(id, values[k] as { payload: Payload; err: boolean });
    }
    return list;
  }

  // ---- actors --------------------------------------------------------------------------------

  async createActor(d: ActorCreateDispatch): Promise<void> {
    this.#actorPending = [];
    const ctx: TaskContext = {
      taskId: d.actorId,
      name: `${d.cls.name}.constructor`,
      actorId: d.actorId,
      gpuIds: d.gpuIds,
      resources: d.resources,
      envVars: d.env,
      namespace: d.namespace,
      cancelled: false,
    };
    applyEnv(d.env, d.gpuIds);
    let evaluated = false;
    try {
      const loaded = await resolve(d.cls);
      evaluated = loaded.evaluated;
      const Cls = loaded.target as new (...a: unknown[]) => Record<string, unknown>;
      const args = this.#decodeArgs(d.args, d.argRefs, d.argValues);
      const instance = taskContext.run(ctx, () => new Cls(...args));
      this.#actor = {
        actorId: d.actorId,
        avgMs: new Map(),
        desc: d.cls,
        evaluated,
        instance,
        className: d.cls.name,
        maxConcurrency: d.maxConcurrency,
        envVars: d.env,
        namespace: d.namespace,
        running: 0,
        queue: this.#actorPending,
      };
      this.#actorPending = undefined;
      this.#link.post({ t: "actorReady", actorId: d.actorId });
      this.#pumpActor();
    } catch (err) {
      const cause = explainReferenceError(err, d.cls, evaluated);
      const c = cause instanceof Error ? cause : new Error(String(cause));
      const error = new ActorDiedError(
        `Actor ${d.cls.name} died: its constructor threw ${c.name}: ${c.message}`,
        { cause: c },
      );
      this.#link.post({ t: "actorFailed", actorId: d.actorId, error: errorPayload(this.#core, error) });
    }
  }

  call(d: ActorCallDispatch): void {
    if (this.#actor === undefined) {
      this.#actorPending ??= [];
      this.#actorPending.push(d);
      return;
    }
    this.#actor.queue.push(d);
    this.#pumpActor();
  }

  /** Registers an actor call signature (method, numReturns, name) for columnar calls. */
  registerSignature(idx: number, method: string, numReturns: number, name: string): void {
    this.#signatures.set(idx, { method, numReturns, name });
  }

  /** A columnar batch of plain actor calls. */
  enqueueCallColumns(cols: Columns): void {
    forEachItem(cols, (taskId, sig, bytes) => {
      const s = this.#signatures.get(sig);
      this.call({
        t: "call",
        taskId,
        method: s?.method ?? "",
        args: { t: 0, bytes },
        argRefs: NONE,
        argValues: NONE,
        numReturns: s?.numReturns ?? 1,
        name: s?.name ?? "actor call",
      });
    });
  }

  #pumpActor(): void {
    const a = this.#actor;
    if (a === undefined) return;
    if (a.maxConcurrency === 1) {
      if (a.running === 0 && a.queue.length > 0) void this.#serialCalls(a);
      return;
    }
    while (a.running < a.maxConcurrency && a.queue.length > 0) {
      const d = a.queue.shift() as ActorCallDispatch;
      a.running++;
      void this.#runCall(a, d).finally(() => {
        a.running--;
        this.#pumpActor();
      });
    }
  }

  /**
   * Runs an actor's calls one after another (maxConcurrency 1), batching the results of quick calls
   * as the task pump does (see {@link QUICK_TASK_MS}).
   */
  async #serialCalls(a: ActorInstance): Promise<void> {
    const link = this.#link;
    a.running = 1;
    link.holdResults = true;
    try {
      while (a.queue.length > 0) {
        const d = a.queue.shift() as ActorCallDispatch;
        const avg = a.avgMs.get(d.method);
        if (
          link.heldResults >= 64 ||
          (link.heldResults > 0 && !((avg ?? Number.POSITIVE_INFINITY) < QUICK_TASK_MS))
        ) {
          link.flush();
        }
        const t0 = performance.now();
        await this.#runCall(a, d);
        const ms = performance.now() - t0;
        a.avgMs.set(d.method, avg === undefined ? ms : avg * 0.8 + ms * 0.2);
      }
    } finally {
      a.running = 0;
      link.holdResults = false;
      link.flush();
    }
  }

  async #runCall(a: ActorInstance, d: ActorCallDispatch): Promise<void> {
    const ctx: TaskContext = {
      taskId: d.taskId,
      name: d.name,
      actorId: a.actorId,
      gpuIds: [],
      resources: {},
      envVars: a.envVars,
      namespace: a.namespace,
      cancelled: false,
    };
    this.#inflightCalls.set(d.taskId, ctx);
    try {
      const method = a.instance[d.method];
      if (typeof method !== "function")
        throw new TypeError(`Actor ${a.className} has no method "${d.method}"`);
      const args = this.#decodeArgs(d.args, d.argRefs, d.argValues);
      const call = () => (method as (...x: unknown[]) => unknown).apply(a.instance, args);
      if (d.streaming === true) {
        await taskContext.run(ctx, () => this.#stream(d.taskId, call()));
        return;
      }
      let result = taskContext.run(ctx, call);
      if (result instanceof Promise) result = await untilSettledOrCancelled(result, ctx);
      if (result === CANCELLED) {
        this.#link.post({ t: "done", taskId: d.taskId, values: [], contained: [] });
        return;
      }
      const replied = reply(this.#core, this.#link, d.taskId, d.name, d.numReturns, result);
      if (replied !== undefined) await replied;
    } catch (err) {
      fail(this.#core, this.#link, d.taskId, d.name, explainReferenceError(err, a.desc, a.evaluated), false);
    } finally {
      this.#inflightCalls.delete(d.taskId);
    }
  }

  /** The id of the task or actor call running now, if any. */
  currentTaskId(): string | undefined {
    return taskContext.getStore()?.taskId ?? this.#runningCtx?.taskId;
  }

  /** The actor this worker hosts, if any. */
  currentActorId(): string | undefined {
    return this.#actor?.actorId;
  }

  /** Name for console prefixes: the running task's, else the actor's class. */

  currentName(): string {
    const ctx = taskContext.getStore();
    if (ctx !== undefined) return ctx.name;
    if (this.#runningCtx !== undefined) return this.#runningCtx.name;
    return this.#actor?.className ?? "worker";
  }
}

const NONE: readonly never[] = Object.freeze([]);

const CANCELLED = Symbol("cancelled");

/**
 * Awaits a task's promise, or stops waiting when the task is cancelled: a cancelled task that never
 * settles must not hold its worker (and its CPU) forever. Its promise runs on, its result ignored.
 */
function untilSettledOrCancelled(p: Promise<unknown>, ctx: TaskContext): Promise<unknown> {
  if (ctx.cancelled) return Promise.resolve(CANCELLED);
  return new Promise((resolve, reject) => {
    ctx.onCancel = () => resolve(CANCELLED);
    p.then(resolve, reject);
  });
}

/** Tasks faster than this on average have their results batched. */
const QUICK_TASK_MS = 0.05;

const NOTHING_TO_UNDO = () => {};

/** Applies a task's environment variables (and GPU ids); returns how to undo it. */
function applyEnv(env: Readonly<Record<string, string>> | undefined, gpuIds: readonly number[]): () => void {
  if (env === undefined && gpuIds.length === 0) return NOTHING_TO_UNDO;
  const set: Record<string, string> = { ...env };
  if (gpuIds.length > 0) set.CUDA_VISIBLE_DEVICES = gpuIds.join(",");
  const keys = Object.keys(set);
  if (keys.length === 0) return NOTHING_TO_UNDO;
  const before = new Map<string, string | undefined>();
  for (const k of keys) {
    before.set(k, process.env[k]);
    process.env[k] = set[k];
  }
  return () => {
    for (const [k, v] of before) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  };
}

function isIterable(v: unknown): v is Iterable<unknown> | AsyncIterable<unknown> {
  if (typeof v !== "object" || v === null) return false;
  return Symbol.asyncIterator in v || Symbol.iterator in v;
}
