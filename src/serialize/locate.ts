import { SerializationError } from "../errors.ts";
import { actorState, Kind, kindOf } from "./kinds.ts";
import { MAX_DEPTH } from "./wire.ts";

interface Problem {
  path: string;
  what: string;
  advice: string;
}

/**
 * Explains why encoding `value` failed. Runs only after a failure, so the happy path never walks the
 * value twice: it walks the value again with paths and an ancestor stack and reports the first
 * thing that cannot cross the wire.
 */
export function explainFailure(value: unknown, root: string): SerializationError | undefined {
  let problem: Problem | undefined;
  try {
    problem = find(value, root, [], [], 0);
  } catch (err) {
    if (!isStackOverflow(err)) throw err;
    problem = { path: root, what: "value", advice: "it is nested too deeply; flatten the structure" };
  }
  if (!problem) return undefined;
  const noun =
    problem.what === "value" || problem.what === "cycle"
      ? `${problem.what === "cycle" ? "a cycle" : "value"}`
      : `${/^[aeiou]/i.test(problem.what) ? "an" : "a"} ${problem.what}`;
  return new SerializationError(`Cannot serialize ${noun} at ${elide(problem.path)}: ${problem.advice}`);
}

function find(
  v: unknown,
  path: string,
  ancestors: object[],
  paths: string[],
  depth: number,
): Problem | undefined {
  if (typeof v === "symbol") {
    return {
      path,
      what: "symbol",
      advice: "symbols exist only in the process that made them; pass a string instead",
    };
  }
  if (typeof v !== "object" && typeof v !== "function") return undefined;
  if (v === null) return undefined;
  const seen = ancestors.indexOf(v);
  if (seen >= 0) {
    return {
      path,
      what: "cycle",
      advice: `it refers back to ${paths[seen]}; remove the back reference or pass an id instead`,
    };
  }
  if (depth >= MAX_DEPTH) {
    return {
      path,
      what: "value",
      advice: `it is nested more than ${MAX_DEPTH} levels deep; flatten the structure`,
    };
  }
  const state = actorState(v);
  ancestors.push(v);
  paths.push(path);
  try {
    if (state !== undefined) return find(state, path, ancestors, paths, depth + 1);
    if (typeof v === "function") {
      return {
        path,
        what: "function",
        advice: "pass data, not functions; define the function in a remote task instead",
      };
    }
    return children(v, path, ancestors, paths, depth);
  } finally {
    ancestors.pop();
    paths.pop();
  }
}

function children(
  o: object,
  path: string,
  ancestors: object[],
  paths: string[],
  depth: number,
): Problem | undefined {
  const next = depth + 1;
  switch (kindOf(o)) {
    case Kind.plain:
      for (const key of Object.keys(o)) {
        const p = find((o as Record<string, unknown>)[key], member(path, key), ancestors, paths, next);
        if (p) return p;
      }
      return undefined;
    case Kind.array: {
      const a = o as unknown[];
      for (let i = 0; i < a.length; i++) {
        const p = find(a[i], `${path}[${i}]`, ancestors, paths, next);
        if (p) return p;
      }
      return undefined;
    }
    case Kind.map: {
      let i = 0;
      for (const [k, v] of o as Map<unknown, unknown>) {
        const p =
          find(k, `${path}.keys()[${i}]`, ancestors, paths, next) ??
          find(v, `${path}.get(${keyText(k)})`, ancestors, paths, next);
        if (p) return p;
        i++;
      }
      return undefined;
    }
    case Kind.set: {
      let i = 0;
      for (const v of o as Set<unknown>) {
        const p = find(v, `${path}.values()[${i++}]`, ancestors, paths, next);
        if (p) return p;
      }
      return undefined;
    }
    case Kind.error: {
      const e = o as Error & Record<string, unknown>;
      const keys = Object.keys(e);
      if (Object.hasOwn(e, "cause")) keys.unshift("cause");
      if (e instanceof AggregateError) keys.push("errors");
      for (const key of new Set(["message", ...keys])) {
        const p = find(e[key], member(path, key), ancestors, paths, next);
        if (p) return p;
      }
      return undefined;
    }
    case Kind.unsupported:
      return unsupported(o, path);
    default:
      return undefined;
  }
}

function unsupported(o: object, path: string): Problem {
  if (o instanceof Promise) {
    return { path, what: "Promise", advice: "await it and pass the result, or pass an ObjectRef instead" };
  }
  if (
    o instanceof WeakMap ||
    o instanceof WeakSet ||
    o instanceof WeakRef ||
    o instanceof FinalizationRegistry
  ) {
    return {
      path,
      what: className(o),
      advice: "weak references cannot be copied to another process; pass the values themselves",
    };
  }
  return {
    path,
    what: className(o),
    advice:
      "it is a live object bound to this process (a handle, stream or socket); pass the plain data it holds instead",
  };
}

function className(o: object): string {
  const tag = Object.prototype.toString.call(o).slice(8, -1);
  if (tag !== "Object") return tag;
  const ctor = (o as { constructor?: { name?: unknown } }).constructor;
  return typeof ctor?.name === "string" && ctor.name !== "" ? ctor.name : "host object";
}

function member(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function keyText(k: unknown): string {
  if (typeof k === "string") return JSON.stringify(k);
  if (typeof k === "bigint") return `${k}n`;
  if (k === null || typeof k !== "object") return String(k);
  return Array.isArray(k) ? "[…]" : "{…}";
}

/** True for the engine's "Maximum call stack size exceeded", which deep nesting causes. */
export function isStackOverflow(err: unknown): boolean {
  return err instanceof RangeError && /call stack/i.test(err.message);
}

/** Keeps messages readable when the path runs hundreds of levels deep. */
function elide(path: string): string {
  return path.length <= 200 ? path : `${path.slice(0, 100)}…${path.slice(-60)}`;
}
