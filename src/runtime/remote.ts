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
import type { ActorOptions, MethodOptions, TaskOptions } from "../options/types.ts";
import { type ActorHandleBase, type ActorMethods, actorMethods, makeActorHandle } from "./actor-handle.ts";
import { ensureCore } from "./context.ts";
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

  remote(...args: unknown[]): unknown {
    const core = ensureCore();
    const env = mergeEnv(core.jobEnv, this.#opts.runtimeEnv?.envVars);
    const { taskId, refs } = core.submitTask(this.#desc, this.#opts, args, env);
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

  remote(...args: unknown[]): unknown {
    const core = ensureCore();
    const env = mergeEnv(core.jobEnv, this.#opts.runtimeEnv?.envVars);
    const { actorId, namespace } = core.createActor(this.#desc, this.#opts, this.#methods, args, env);
    const { methods, generators } = this.#methods;
    return makeActorHandle(
      { actorId, className: this.#desc.name, methods, generators, name: this.#opts.name, namespace },
      core,
    );
  }

  options(opts: ActorOptions): ActorClassImpl {
    return new ActorClassImpl(this.#desc, compileActorOptions(opts, this.#opts), this.#methods);
  }
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
