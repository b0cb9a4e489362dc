/**
 * The per-thread runtime behind module `rayts`: the driver has one, every Worker has one. It packs
 * arguments, submits work to its node through a {@link NodeApi}, counts the `ObjectRef`s alive in
 * this thread, and turns payloads back into values. It holds no scheduling logic: that is the node's.
 */
import { GetTimeoutError, TaskCancelledError } from "../errors.ts";
import { ObjectRef } from "../object-ref.ts";
import type { CompiledActorOptions, CompiledTaskOptions } from "../options/compile.ts";
import type { CodecHooks } from "../serialize/codec.ts";
import { serialize } from "../serialize/codec.ts";
import type { ShmArena } from "../store/shm-arena.ts";
import { newPutId, newTaskId, objectIdFor } from "./ids.ts";
import { haltedPromise, isDriverCodeOnWorker } from "./loading-mode.ts";
import type { CallerId, NodeApi } from "./node-api.ts";
import { decodePayload, encodeValue, type ShmAlloc, toPayload } from "./payload.ts";
import type { ActorHandleState, ActorSpec, FunctionDescriptor, ObjectValue, Payload } from "./protocol.ts";
import { reclaimer, type Tracked } from "./reclaimer.ts";

/** The task or actor call this thread is running, if any. */
export interface TaskContext {
  readonly taskId: string;
  readonly name: string;
  readonly actorId: string | undefined;
  readonly gpuIds: readonly number[];
  readonly resources: Readonly<Record<string, number>>;
  /** The environment variables it runs with (the job's merged with its own): inherited by what it submits. */
  readonly envVars: Readonly<Record<string, string>> | undefined;
  /** The namespace of the job it runs for (a node's workers serve every job's work). */
  readonly namespace?: string;
  cancelled: boolean;
  /** Set by the executor while it awaits the task: called when the task is cancelled. */
  onCancel?: () => void;
}

export interface CoreOptions {
  readonly api: NodeApi;
  readonly caller: CallerId;
  readonly arena: ShmArena | undefined;
  readonly alloc: ShmAlloc;
  readonly jobId: string;
  readonly namespace: string;
  readonly workerId: string;
  readonly jobEnv: Readonly<Record<string, string>> | undefined;
  readonly currentTask: () => TaskContext | undefined;
  readonly makeActorHandle: (state: ActorHandleState, core: Core) => unknown;
}

/** Packed arguments: the frame with top-level refs nulled out, and the refs themselves. */
export interface PackedArgs {
  readonly args: Payload;
  readonly argRefs: Array<readonly [number, string]>;
  readonly contained: string[];
  /** Refs made for large arguments promoted to the object store; released after submission. */
  readonly temps: ObjectRef<unknown>[];
}

export class Core {
  readonly api: NodeApi;
  readonly caller: CallerId;
  readonly arena: ShmArena | undefined;
  readonly alloc: ShmAlloc;
  readonly jobId: string;
  readonly #namespace: string;
  readonly workerId: string;
  readonly jobEnv: Readonly<Record<string, string>> | undefined;
  readonly currentTask: () => TaskContext | undefined;
  readonly hooks: CodecHooks;
  /**
   * The address (`host:port`) of the node owning the objects this thread makes (its own node), set
   * as `ObjectRef.owner`; "" on the embedded cluster.
   */
  owner = "";
  readonly #local = new Map<string, number>();
  readonly #held = new Set<string>();
  #closed = false;

  constructor(o: CoreOptions) {
    this.api = o.api;
    this.caller = o.caller;
    this.arena = o.arena;
    this.alloc = o.alloc;
    this.jobId = o.jobId;
    this.#namespace = o.namespace;
    this.workerId = o.workerId;
    this.jobEnv = o.jobEnv;
    this.currentTask = o.currentTask;
    const makeHandle = o.makeActorHandle;
    this.hooks = {
      makeRef: (id, owner) => new ObjectRef(id, owner),
      makeActorHandle: (state) => makeHandle(state as unknown as ActorHandleState, this),
    };
    ObjectRef.tracker = {
      acquire: (ref) => this.#acquire(ref),
      release: (_ref, token) => reclaimer.settle(token as Tracked),
    };
  }

  /**
   * The namespace of the calling code: the running task's or actor's job's, else this runtime's (the
   * driver's job's; a worker's node's outside any task).
   */
  get namespace(): string {
    return this.currentTask()?.namespace ?? this.#namespace;
  }

  /** Stops counting: later releases are not reported (the node is going away). */
  close(): void {
    this.#closed = true;
  }

  // ---- reference counting -------------------------------------------------------------------

  #acquire(ref: ObjectRef<unknown>): Tracked {
    const id = ref.id;
    const n = this.#local.get(id);
    this.#local.set(id, n === undefined ? 1 : n + 1);
    if (n === undefined && !this.#held.has(id)) {
      this.#held.add(id);
      // A ref owned by another node (it arrived inside a value) is borrowed from its owner.
      if (ref.owner !== "" && ref.owner !== this.owner) this.api.borrowObjects(this.caller, [id], ref.owner);
      else this.api.addRefs(this.caller, [id]);
    }
    return reclaimer.track(ref, () => this.#drop(id));
  }

  #drop(id: string): void {
    const n = (this.#local.get(id) ?? 1) - 1;
    if (n > 0) {
      this.#local.set(id, n);
      return;
    }
    this.#local.delete(id);
    if (this.#held.delete(id) && !this.#closed) this.api.removeRefs(this.caller, [id]);
  }

  /** Makes the ref of an object the node already counts for this thread (task returns, puts). */
  #heldRef<T>(id: string): ObjectRef<T> {
    this.#held.add(id);
    return new ObjectRef<T>(id, this.owner);
  }

  /** Number of distinct objects this thread references (for tests and `rayts status`). */
  get liveRefs(): number {
    return this.#local.size;
  }

  // ---- objects -------------------------------------------------------------------------------

  put<T>(value: T): ObjectRef<T> {
    if (isDriverCodeOnWorker()) return new ObjectRef<T>(newPutId());
    const id = newPutId();
    const { payload, contained } = encodeValue(value, "value", this.hooks, this.arena, this.alloc);
    this.api.putObject(this.caller, id, payload, contained);
    return this.#heldRef<T>(id);
  }

  /** Decodes an object value; a stored error is thrown. */
  decode(id: string, v: ObjectValue): unknown {
    const value = decodePayload(v.payload, this.hooks, this.arena, () => this.api.unpin(this.caller, id));
    if (v.err) throw value;
    return value;
  }

  async get(refs: ObjectRef<unknown> | readonly ObjectRef<unknown>[], timeoutMs?: number): Promise<unknown> {
    const halted = haltedPromise<unknown>();
    if (halted !== undefined) return halted;
    this.#checkCancelled();
    if (refs instanceof ObjectRef) {
      const [v] = await this.api.getObjects(this.caller, [refs.id], timeoutMs);
      this.#checkCancelled();
      return this.decode(refs.id, v as ObjectValue);
    }
    if (!Array.isArray(refs)) throw new TypeError("get() takes an ObjectRef or an array of ObjectRefs");
    const ids = refs.map((r, i) => {
      if (!(r instanceof ObjectRef))
        throw new TypeError(`get() takes ObjectRefs: element ${i} is ${describeValue(r)}`);
      return r.id;
    });
    if (ids.length === 0) return [];
    const values = await this.api.getObjects(this.caller, ids, timeoutMs);
    this.#checkCancelled();
    const out = new Array<unknown>(ids.length);
    for (let i = 0; i < ids.length; i++) out[i] = this.decode(ids[i] as string, values[i] as ObjectValue);
    return out;
  }

  async wait(
    refs: readonly ObjectRef<unknown>[],
    numReturns: number,
    timeoutMs: number | undefined,
  ): Promise<{ ready: ObjectRef<unknown>[]; notReady: ObjectRef<unknown>[] }> {
    const halted = haltedPromise<{ ready: ObjectRef<unknown>[]; notReady: ObjectRef<unknown>[] }>();
    if (halted !== undefined) return halted;
    this.#checkCancelled();
    const ids = refs.map((r) => r.id);
    const flags = await this.api.waitObjects(this.caller, ids, numReturns, timeoutMs);
    this.#checkCancelled();
    const ready: ObjectRef<unknown>[] = [];
    const notReady: ObjectRef<unknown>[] = [];
    for (let i = 0; i < refs.length; i++) {
      const r = refs[i] as ObjectRef<unknown>;
      if (flags[i] === true && ready.length < numReturns) ready.push(r);
      else notReady.push(r);
    }
    return { ready, notReady };
  }

  #checkCancelled(): void {
    const t = this.currentTask();
    if (t?.cancelled)
      throw new TaskCancelledError(
        `Task ${t.name} was cancelled: cancel() was called on it or on a task that submitted it`,
      );
  }

  // ---- submission ----------------------------------------------------------------------------

  /** Serializes call arguments; top-level refs are passed by id and resolved by the node. */
  packArgs(args: readonly unknown[]): PackedArgs {
    let plain: unknown[] | undefined;
    const argRefs: Array<readonly [number, string]> = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (a instanceof ObjectRef) {
        plain ??= args.slice();
        plain[i] = null;
        argRefs.push([i, a.id]);
      }
    }
    const contained: string[] = [];
    const hooks: CodecHooks = { ...this.hooks, onRef: (r) => contained.push(r.id) };
    const list = plain ?? (args as unknown[]);
    const s = serialize(list, "args", hooks);
    const temps: ObjectRef<unknown>[] = [];
    if (s.buffers.length === 0)
      return { args: toPayload(s, undefined, this.alloc), argRefs, contained, temps };
    // Large binary arguments go to the object store once, as Ray does, and travel by reference.
    const promoted = list.slice();
    contained.length = 0;
    for (let i = 0; i < promoted.length; i++) {
      if (argRefs.some(([p]) => p === i)) continue;
      const one = serialize([promoted[i]], "args", { ...this.hooks, onRef: () => {} });
      if (one.buffers.length === 0) continue;
      const ref = this.put(promoted[i]);
      temps.push(ref);
      promoted[i] = null;
      argRefs.push([i, ref.id]);
    }
    const rest = serialize(promoted, "args", hooks);
    return { args: toPayload(rest, undefined, this.alloc), argRefs, contained, temps };
  }

  submitTask(
    fn: FunctionDescriptor,
    opts: CompiledTaskOptions,
    args: readonly unknown[],
    env: Readonly<Record<string, string>> | undefined,
  ): { taskId: string; refs: ObjectRef<unknown>[] } {
    const taskIdOnWorker = isDriverCodeOnWorker() ? newTaskId() : undefined;
    if (taskIdOnWorker !== undefined) {
      // Driver code re-evaluated on a worker: submit nothing, hand back refs that lead nowhere, and
      // let the module evaluate on so the definitions below this line register too.
      const n = fn.generator ? 0 : opts.numReturns;
      return {
        taskId: taskIdOnWorker,
        refs: Array.from({ length: n }, (_, i) => new ObjectRef(objectIdFor(taskIdOnWorker, i + 1))),
      };
    }
    const taskId = newTaskId();
    const packed = this.packArgs(args);
    const name = opts.name ?? fn.name;
    const parent = this.currentTask();
    this.api.submitTask(this.caller, {
      taskId,
      fn,
      args: packed.args,
      argRefs: packed.argRefs,
      contained: packed.contained,
      name,
      opts,
      env,
      parentTaskId: parent?.taskId,
      namespace: this.namespace,
    });
    for (const t of packed.temps) t[Symbol.dispose]();
    const refs: ObjectRef<unknown>[] = [];
    if (!fn.generator)
      for (let i = 1; i <= opts.numReturns; i++) refs.push(this.#heldRef(objectIdFor(taskId, i)));
    return { taskId, refs };
  }

  /**
   * Submits an actor method call. `numReturns: "streaming"` (a generator method) makes no return
   * refs: its values arrive as items of the stream named by `taskId`.
   */
  submitActorCall(
    actorId: string,
    method: string,
    name: string,
    numReturns: number | "streaming",
    args: readonly unknown[],
    home?: string,
  ): { taskId: string; refs: ObjectRef<unknown>[] } {
    const streaming = numReturns === "streaming";
    const n = streaming ? 0 : numReturns;
    if (isDriverCodeOnWorker()) {
      const id = newTaskId();
      return { taskId: id, refs: Array.from({ length: n }, (_, i) => new ObjectRef(objectIdFor(id, i + 1))) };
    }
    const taskId = newTaskId();
    const packed = this.packArgs(args);
    this.api.submitActorCall(this.caller, {
      taskId,
      actorId,
      method,
      args: packed.args,
      argRefs: packed.argRefs,
      contained: packed.contained,
      numReturns: n,
      name,
      ...(streaming ? { streaming } : {}),
      ...(home === undefined ? {} : { home }),
    });
    for (const t of packed.temps) t[Symbol.dispose]();
    const refs: ObjectRef<unknown>[] = [];
    for (let i = 1; i <= n; i++) refs.push(this.#heldRef(objectIdFor(taskId, i)));
    return { taskId, refs };
  }

  /** Creates an actor on the node; returns its id. */
  createActor(
    cls: FunctionDescriptor,
    opts: CompiledActorOptions,
    methods: Pick<ActorSpec, "methods" | "generators">,
    args: readonly unknown[],
    env: Readonly<Record<string, string>> | undefined,
  ): { actorId: string; namespace: string } {
    if (isDriverCodeOnWorker()) return { actorId: newTaskId(), namespace: opts.namespace ?? this.namespace };
    const actorId = newTaskId();
    const packed = this.packArgs(args);
    const namespace = opts.namespace ?? this.namespace;
    const parentTaskId = this.currentTask()?.taskId;
    this.api.createActor(this.caller, {
      actorId,
      cls,
      args: packed.args,
      argRefs: packed.argRefs,
      contained: packed.contained,
      opts,
      methods: methods.methods,
      generators: methods.generators,
      namespace,
      env,
      ...(parentTaskId === undefined ? {} : { parentTaskId }),
    });
    for (const t of packed.temps) t[Symbol.dispose]();
    return { actorId: this.api.resolveActorId(actorId), namespace };
  }

  /** Makes the ref a stream item id names (the stream keeps the item alive until then). */
  streamItemRef<T>(id: string): ObjectRef<T> {
    return new ObjectRef<T>(id, this.owner);
  }

  newActorId(): string {
    return newTaskId();
  }
}

/** A short description of a value for error messages. */
export function describeValue(v: unknown): string {
  if (v === null) return "null";
  if (typeof v === "object") return `an object (${(v as object).constructor?.name ?? "Object"})`;
  return `a ${typeof v}`;
}

export function getTimeout(ids: readonly string[], timeoutMs: number): GetTimeoutError {
  return new GetTimeoutError(
    `Get timed out: ${ids.length === 1 ? `object ${ids[0]}` : `${ids.length} objects`} not ready after ${timeoutMs} ms; raise timeoutMs or check that the tasks can run (rayts status)`,
  );
}
