/**
 * Actor handles: `handle.method.remote(...)` submits a call, `handle.method.options({ numReturns })`
 * refines it. A generator method's call returns an {@link ObjectRefGenerator}, as a generator task's
 * does. A handle is serializable (its state travels, the proxy is rebuilt on arrival) and is never
 * thenable, so async functions can return it.
 */
import { compileMethodOptions } from "../options/compile.ts";
import type { MethodOptions } from "../options/types.ts";
import { ACTOR_HANDLE_STATE } from "../serialize/codec.ts";
import type { Core } from "./core.ts";
import { ObjectRefGenerator } from "./object-ref-generator.ts";
import type { ActorHandleState } from "./protocol.ts";

/** Base of every actor handle: `handle instanceof ActorHandle` holds. */
export class ActorHandleBase {
  /** The actor's id, hex. */
  readonly actorId: string;
  constructor(actorId: string) {
    this.actorId = actorId;
  }
}

interface MethodStub {
  remote(...args: unknown[]): unknown;
  options(opts: MethodOptions): MethodStub;
}

function methodStub(
  core: Core,
  state: ActorHandleState,
  method: string,
  opts: MethodOptions | undefined,
): MethodStub {
  const compiled = compileMethodOptions(opts);
  const name = compiled.name ?? `${state.className}.${method}`;
  // A generator method streams whatever numReturns says, as Ray's num_returns="streaming" does.
  const streaming = state.generators?.includes(method) === true;
  return {
    remote: (...args: unknown[]) => {
      const numReturns = streaming ? "streaming" : compiled.numReturns;
      const { taskId, refs } = core.submitActorCall(
        state.actorId,
        method,
        name,
        numReturns,
        args,
        state.home,
      );
      if (streaming) return new ObjectRefGenerator(core, taskId);
      return compiled.numReturns === 1 ? refs[0] : refs;
    },
    options: (more: MethodOptions) => methodStub(core, state, method, { ...opts, ...more }),
  };
}

function missingMethod(state: ActorHandleState, method: string): MethodStub {
  const fail = (): never => {
    throw new TypeError(
      `Actor ${state.className} has no method "${method}": its methods are ${state.methods.map((m) => `"${m}"`).join(", ") || "none"}`,
    );
  };
  return { remote: fail, options: fail };
}

const NOT_METHODS = new Set(["then", "toJSON", "constructor", "asymmetricMatch", "nodeType", "$$typeof"]);

/** Builds the handle proxy for an actor's state. */
export function makeActorHandle(state: ActorHandleState, core: Core): unknown {
  const methods = new Set(state.methods);
  const stubs = new Map<string, MethodStub>();
  const target = new ActorHandleBase(state.actorId);
  return new Proxy(target, {
    get(t, prop, receiver) {
      if (prop === ACTOR_HANDLE_STATE) return { ...state };
      if (typeof prop === "symbol" || prop === "actorId" || NOT_METHODS.has(prop)) {
        return prop === "then" ? undefined : Reflect.get(t, prop, receiver);
      }
      if (prop === "toString") return () => `ActorHandle(${state.className}, ${state.actorId})`;
      let stub = stubs.get(prop);
      if (stub === undefined) {
        stub = methods.has(prop) ? methodStub(core, state, prop, undefined) : missingMethod(state, prop);
        stubs.set(prop, stub);
      }
      return stub;
    },
    has(t, prop) {
      return (
        prop === ACTOR_HANDLE_STATE || (typeof prop === "string" && methods.has(prop)) || Reflect.has(t, prop)
      );
    },
  });
}

/** The methods of a class, and which of them are generator functions (their calls stream). */
export interface ActorMethods {
  readonly methods: readonly string[];
  readonly generators: readonly string[];
}

const GENERATOR_KINDS = new Set(["GeneratorFunction", "AsyncGeneratorFunction"]);

/**
 * The methods of a class: own and inherited prototype functions, minus the constructor. A method
 * overridden in a subclass is classified by the override.
 */
export function actorMethods(cls: abstract new (...a: never[]) => unknown): ActorMethods {
  const methods: string[] = [];
  const generators: string[] = [];
  const seen = new Set<string>();
  let proto = cls.prototype as object | null;
  while (proto !== null && proto !== Object.prototype) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (key === "constructor" || seen.has(key)) continue;
      const d = Object.getOwnPropertyDescriptor(proto, key);
      if (d === undefined || typeof d.value !== "function") continue;
      seen.add(key);
      methods.push(key);
      if (GENERATOR_KINDS.has((d.value as () => unknown).constructor?.name)) generators.push(key);
    }
    proto = Object.getPrototypeOf(proto);
  }
  return { methods, generators };
}
