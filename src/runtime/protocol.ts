/**
 * The shapes that travel between a node and its callers (the driver, Worker threads, later other
 * processes). Everything here is plain data: it crosses `postMessage` (structured clone) today and a
 * msgpack WebSocket frame once the node sits behind a network transport.
 */
import type { CompiledActorOptions, CompiledTaskOptions } from "../options/compile.ts";

/** Where an object's serialized frame lives: inline bytes (small) or a block of the node's shm store. */
export type Payload = InlinePayload | ShmPayload;
export interface InlinePayload {
  readonly t: 0;
  /** The whole frame, exactly sized (never a view into a larger buffer: posting clones the buffer). */
  readonly bytes: Uint8Array;
}
export interface ShmPayload {
  readonly t: 1;
  readonly off: number;
  readonly size: number;
}

/** A finished object as a caller receives it. `err` marks a stored error (the frame holds an Error). */
export interface ObjectValue {
  readonly payload: Payload;
  readonly err: boolean;
  /**
   * On a node serving a cluster: the refs nested in the value, each with its owner's address, so a
   * node copying the value keeps them alive by borrowing them (see `store/object-directory.ts`).
   */
  readonly contained?: ReadonlyArray<readonly [string, string]>;
}

/** How a function or class reaches a worker: by importing its module, else by evaluating its source. */
export interface FunctionDescriptor {
  /** Stable id: module + source hash + occurrence. */
  readonly id: string;
  /** Absolute path of the module that called `remote()`, when known. */
  readonly module: string | undefined;
  /**
   * For a closure (a `remote()` written inside a function of a module, `module` unset): that module,
   * whose scope a worker rebuilds it in when it can (see `function-registry.ts`).
   */
  readonly scope?: string;
  readonly source: string;
  readonly name: string;
  readonly kind: "function" | "class";
  /** Generator functions stream their results. */
  readonly generator: boolean;
}

/** A task as its submitter hands it to a node. */
export interface TaskSpec {
  readonly taskId: string;
  readonly fn: FunctionDescriptor;
  /** Frame of the argument array, with top-level refs replaced by `null`. */
  readonly args: Payload;
  /** Top-level ref arguments: [position, object id]; resolved to values before the task runs. */
  readonly argRefs: ReadonlyArray<readonly [number, string]>;
  /** Refs nested inside the arguments: pinned until the task finishes. */
  readonly contained: readonly string[];
  readonly name: string;
  readonly opts: CompiledTaskOptions;
  /** Environment variables of the task (job's merged with the task's). */
  readonly env: Readonly<Record<string, string>> | undefined;
  /** The task that submitted this one, for recursive cancel and inherited settings. */
  readonly parentTaskId: string | undefined;
  /**
   * The namespace of the job it runs for (its submitter's): what `getActor`, named actors and
   * placement groups and `getRuntimeContext` see inside it, whichever node runs it.
   */
  readonly namespace?: string;
  /**
   * The job the task belongs to on a cluster (`<node id>/<driver caller>` of the driver that
   * started the chain; stamped by the node it is submitted to, carried when forwarded).
   */
  job?: string;
}

/** An actor creation request. */
export interface ActorSpec {
  readonly actorId: string;
  readonly cls: FunctionDescriptor;
  readonly args: Payload;
  readonly argRefs: ReadonlyArray<readonly [number, string]>;
  readonly contained: readonly string[];
  readonly opts: CompiledActorOptions;
  readonly methods: readonly string[];
  /** The methods that are generator functions: their calls stream. */
  readonly generators: readonly string[];
  readonly namespace: string;
  readonly env: Readonly<Record<string, string>> | undefined;
  /** The task that created the actor, if any: where its console output goes after its creator. */
  readonly parentTaskId?: string;
  /** The job it belongs to on a cluster (see `TaskSpec.job`): a non-detached actor ends with it. */
  job?: string;
}

/** A method call on an actor. */
export interface ActorCallSpec {
  readonly taskId: string;
  readonly actorId: string;
  readonly method: string;
  readonly args: Payload;
  readonly argRefs: ReadonlyArray<readonly [number, string]>;
  readonly contained: readonly string[];
  /** 0 for a streaming call. */
  readonly numReturns: number;
  readonly name: string;
  /** A generator method: its values arrive as stream items, as a generator task's do. */
  readonly streaming?: boolean;
  /**
   * The node holding the actor's record (from its handle): a node that does not know the actor
   * passes the call on there.
   */
  readonly home?: string;
}

/** What a caller needs to rebuild an actor handle anywhere (its serialized state). */
export interface ActorHandleState {
  readonly actorId: string;
  readonly className: string;
  readonly methods: readonly string[];
  /** The methods that are generator functions (absent in states made before they streamed). */
  readonly generators?: readonly string[];
  readonly name?: string;
  readonly namespace?: string;
  /** The node holding the actor's record, where calls from nodes that do not know it go. */
  readonly home?: string;
  [key: string]: unknown;
}

/** Node → worker: a function and the per-call settings its tasks share, under a small index. */
export interface FunctionRegistration {
  readonly t: "fn";
  readonly idx: number;
  readonly fn: FunctionDescriptor;
  readonly name: string;
  readonly numReturns: number;
  readonly resources: Readonly<Record<string, number>>;
  /** The namespace its tasks run in (see `TaskSpec.namespace`). */
  readonly namespace?: string;
}

/** Node → worker: run this task (or actor call), with its argument values attached. */
export interface TaskDispatch {
  readonly t: "task";
  readonly taskId: string;
  /** Index of a {@link FunctionRegistration} sent earlier on the same channel. */
  readonly fn: number;
  readonly args: Payload;
  readonly argRefs: ReadonlyArray<readonly [number, string]>;
  readonly argValues: readonly ObjectValue[];
  readonly gpuIds: readonly number[];
  readonly env: Readonly<Record<string, string>> | undefined;
}

export interface ActorCreateDispatch {
  readonly t: "actor";
  readonly actorId: string;
  readonly cls: FunctionDescriptor;
  readonly args: Payload;
  readonly argRefs: ReadonlyArray<readonly [number, string]>;
  readonly argValues: readonly ObjectValue[];
  readonly maxConcurrency: number;
  readonly name: string;
  readonly namespace: string;
  readonly gpuIds: readonly number[];
  readonly resources: Readonly<Record<string, number>>;
  readonly env: Readonly<Record<string, string>> | undefined;
}

export interface ActorCallDispatch {
  readonly t: "call";
  readonly taskId: string;
  readonly method: string;
  readonly args: Payload;
  readonly argRefs: ReadonlyArray<readonly [number, string]>;
  readonly argValues: readonly ObjectValue[];
  readonly numReturns: number;
  readonly name: string;
  readonly streaming?: boolean;
}

/** A task's outcome as a worker reports it. */
export interface TaskResult {
  readonly taskId: string;
  /** One payload per return value, or one error payload. */
  readonly values: readonly Payload[];
  /** Refs contained in each value (the value pins them). */
  readonly contained: ReadonlyArray<readonly string[]>;
  /** Set when the function threw: the error's name (for `retryExceptions`). */
  readonly errorName?: string;
  /** Set when the error is the runtime's, not the user's (e.g. numReturns mismatch): never retried. */
  readonly fatal?: boolean;
}

export interface TaskOptionsWire {
  readonly demand: Readonly<Record<string, number>>;
}

/** Node information as `nodes()` reports it. */
export interface NodeInfo {
  readonly nodeId: string;
  readonly address: string;
  readonly alive: boolean;
  readonly resources: Readonly<Record<string, number>>;
  readonly labels: Readonly<Record<string, string>>;
}
