/**
 * `remote()`: turns a function into a {@link RemoteFunction} and a class into an {@link ActorClass}.
 * Both are immutable; `.options()` returns a refined copy with its options compiled once.
 */
import type { ObjectRef } from "../object-ref.ts";
import {
  type CompiledActorOptions,
  type CompiledTaskOptions,
  compileActorOptions,
  compileTaskOptions,
} from "../options/compile.ts";
import type { CompiledRuntimeEnv } from "../options/runtime-env.ts";
import type { ActorOptions, MethodOptions, TaskOptions } from "../options/types.ts";
import { needsHost } from "../runtime-env/env-key.ts";
import { type ActorHandleBase, type ActorMethods, actorMethods, makeActorHandle } from "./actor-handle.ts";
import { ensureCore } from "./context.ts";
import type { Core } from "./core.ts";
import { describe } from "./function-registry.ts";
import { ObjectRefGenerator } from "./object-ref-generator.ts";
import type { FunctionDescriptor } from "./protocol.ts";

/** An argument list where any argument may also be passed as a ref to its value. */
export type RemoteArgs<A extends readonly unknown[]> = { [K in keyof A]: A[K] | ObjectRef<A[K]> };

/** What `.remote()` returns for a function returning `R` with `N` return values. */
export type RemoteResult<R, N extends number> = R extends
  | Generator<infer Y, unknown, unknown>
  | AsyncGenerator<infer Y, unknown, unknown>
  ? ObjectRefGenerator<Y>
  : N extends 1
    ? ObjectRef<Awaited<R>>
    : Awaited<R> extends readonly unknown[]
      ? RefsOf<Awaited<R>>
      : ObjectRef<unknown>[];

/** One ref per element of a tuple (a homomorphic mapped type, so tuples stay tuples). */
export type RefsOf<T extends readonly unknown[]> = { [K in keyof T]: ObjectRef<T[K]> };

type NumReturnsOf<O, N extends number> = O extends { numReturns: infer K extends number } ? K : N;

/**
 * A function that runs as a task: `.remote(...args)` submits it and returns at once.
 *
 * @example
 * const square = remote((x: number) => x * x);
 * await get(square.remote(4)); // 16
 */
export interface RemoteFunction<A extends unknown[], R, N extends number = 1> {
  remote(...args: RemoteArgs<A>): RemoteResult<R, N>;
  /** A copy with these options merged over the current ones. */
  options<const O extends TaskOptions>(opts: O): RemoteFunction<A, R, NumReturnsOf<O, N>>;
}

type MethodKeys<T> = { [K in keyof T]: T[K] extends (...a: never[]) => unknown ? K : never }[keyof T];

/** One method of an actor, called with `.remote(...)`. */
export interface ActorMethod<F, N extends number = 1> {
  remote(
    ...args: F extends (...a: infer A) => unknown ? RemoteArgs<A> : never
  ): F extends (...a: never[]) => infer R ? RemoteResult<R, N> : never;
  options<const O extends MethodOptions>(opts: O): ActorMethod<F, NumReturnsOf<O, N>>;
}

/** A handle to an actor: each method of `T` as an {@link ActorMethod}, plus `actorId`. */
export type ActorHandle<T = unknown> = ActorHandleBase & { readonly [K in MethodKeys<T>]: ActorMethod<T[K]> };

// biome-ignore lint/suspicious/noExplicitAny: constructor parameter lists are contravariant.
type AnyClass = abstract new (...args: any[]) => unknown;

/**
 * A class whose instances run as actors: `.remote(...ctorArgs)` starts one and returns its handle.
 *
 * @example
 * const Counter = remote(class { n = 0; inc() { return ++this.n; } });
 * const c = Counter.remote();
 * await get(c.inc.remote()); // 1
 */
export interface ActorClass<C extends AnyClass> {
  remote(...args: RemoteArgs<ConstructorParameters<C>>): ActorHandle<InstanceType<C>>;
  options(opts: ActorOptions): ActorClass<C>;
}

class RemoteFunctionImpl {
  readonly #desc: FunctionDescriptor;
  readonly #opts: CompiledTaskOptions;

  constructor(desc: FunctionDescriptor, opts: CompiledTaskOptions) {
    this.#desc = desc;
    this.#opts = opts;
  }

  #job: JobApplied<CompiledTaskOptions> | undefined;

  remote(...args: unknown[]): unknown {
    const core = ensureCore();
    const env = mergeEnv(inheritedEnvVars(core), this.#opts.runtimeEnv?.envVars);
    this.#job = withJobEnv(core, this.#opts, this.#job);
    const { taskId, refs } = core.submitTask(this.#desc, this.#job.opts, args, env);
    if (this.#desc.generator) return new ObjectRefGenerator(core, taskId);
    return this.#opts.numReturns === 1 ? refs[0] : refs;
  }

  options(opts: TaskOptions): RemoteFunctionImpl {
    return new RemoteFunctionImpl(this.#desc, compileTaskOptions(opts, this.#opts));
  }
}

class ActorClassImpl {
  readonly #desc: FunctionDescriptor;
  readonly #opts: CompiledActorOptions;
  readonly #methods: ActorMethods;

  constructor(desc: FunctionDescriptor, opts: CompiledActorOptions, methods: ActorMethods) {
    this.#desc = desc;
    this.#opts = opts;
    this.#methods = methods;
  }

  #job: JobApplied<CompiledActorOptions> | undefined;

  remote(...args: unknown[]): unknown {
    const core = ensureCore();
    const env = mergeEnv(inheritedEnvVars(core), this.#opts.runtimeEnv?.envVars);
    this.#job = withJobEnv(core, this.#opts, this.#job);
    const { actorId, namespace } = core.createActor(this.#desc, this.#job.opts, this.#methods, args, env);
    const { methods, generators } = this.#methods;
    return makeActorHandle(
      {
        actorId,
        className: this.#desc.name,
        methods,
        generators,
        name: this.#opts.name,
        namespace,
        // The node that holds the record: calls from nodes that do not know the actor go there.
        home: core.api.nodeId,
      },
      core,
    );
  }

  options(opts: ActorOptions): ActorClassImpl {
    return new ActorClassImpl(this.#desc, compileActorOptions(opts, this.#opts), this.#methods);
  }
}

/**
 * The runtime environment that changes the process, per core, that work submitted there inherits:
 * on a driver the job's (`init`), on a worker the environment of its worker host (that of the tasks
 * or the actor it runs, fixed for its life).
 */
const jobRuntimeEnvs = new WeakMap<Core, CompiledRuntimeEnv>();

/**
 * Records the `runtimeEnv` that work submitted through `core` inherits: the job's on a driver, the
 * worker host's on a worker. Its `workingDir`/`excludes`/`packages`/`config` apply to every task and
 * actor submitted there, field by field under their own.
 */
export function setJobRuntimeEnv(core: Core, env: CompiledRuntimeEnv | undefined): void {
  if (needsHost(env)) jobRuntimeEnvs.set(core, env);
}

/** Options with the job's environment applied, remembered for the core they were made for. */
interface JobApplied<O> {
  readonly core: Core;
  readonly opts: O;
}

/**
 * The options to submit with on `core`: unchanged without a job-level environment, else with a
 * runtime environment whose fields are the job's overridden by the options' own (`envVars` are
 * merged separately, in `mergeEnv`). Computed once per options object and core.
 */
function withJobEnv<O extends { readonly runtimeEnv: CompiledRuntimeEnv | undefined }>(
  core: Core,
  opts: O,
  last: JobApplied<O> | undefined,
): JobApplied<O> {
  if (last !== undefined && last.core === core) return last;
  const job = jobRuntimeEnvs.get(core);
  if (job === undefined) return { core, opts };
  const runtimeEnv = Object.freeze({ ...job, ...opts.runtimeEnv });
  return { core, opts: Object.freeze({ ...opts, runtimeEnv }) };
}

/**
 * The environment variables work submitted now inherits: the running task's or actor's (which
 * already hold the job's), else the job's.
 */
function inheritedEnvVars(core: Core): Readonly<Record<string, string>> | undefined {
  const running = core.currentTask();
  return running === undefined ? core.jobEnv : running.envVars;
}

function mergeEnv(
  job: Readonly<Record<string, string>> | undefined,
  own: Readonly<Record<string, string>> | undefined,
): Readonly<Record<string, string>> | undefined {
  if (own === undefined) return job;
  if (job === undefined) return own;
  return { ...job, ...own };
}

/**
 * Makes a function a remote task, or a class a remote actor class.
 *
 * @example
 * const add = remote((a: number, b: number) => a + b);
 * const Counter = remote(CounterClass);
 */
export function remote<C extends AnyClass>(cls: C): ActorClass<C>;
export function remote<A extends unknown[], R>(fn: (...args: A) => R): RemoteFunction<A, R>;
export function remote(target: unknown, ...rest: unknown[]): unknown {
  if (typeof target !== "function") {
    throw new TypeError(
      `remote() takes a function or a class: got ${target === null ? "null" : typeof target}`,
    );
  }
  if (rest.length > 0) {
    throw new TypeError("remote() takes one argument: set options with remote(fn).options({ … })");
  }
  if (/\{\s*\[native code\]\s*\}\s*$/.test(Function.prototype.toString.call(target))) {
    throw new TypeError(
      `remote() cannot ship ${target.name ? `"${target.name}"` : "this function"}: it is bound or built in, so its code cannot reach a worker; wrap it: remote((...args) => fn(...args))`,
    );
  }
  const stack = new Error().stack;
  const isClass = /^class[\s{]/.test(Function.prototype.toString.call(target));
  if (isClass) {
    const cls = target as AnyClass;
    return new ActorClassImpl(
      describe(cls, "class", stack),
      compileActorOptions(undefined),
      actorMethods(cls),
    );
  }
  return new RemoteFunctionImpl(describe(target, "function", stack), compileTaskOptions(undefined));
}
