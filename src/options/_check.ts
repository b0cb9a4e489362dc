// Validation primitives shared by every options compiler. Each check names the option in the style
// `Task option "numCpus" must be …: got …`; a wrong JS type is a TypeError, a wrong number a RangeError.
import { UNITS_PER_RESOURCE } from "../scheduler/resource-set.ts";
import { closest } from "./_suggest.ts";

/** Which options are being checked; it starts every message. */
export type OptionKind = "task" | "actor" | "method" | "init";

/** `Task option "numCpus"` */
export function label(kind: OptionKind, key: string): string {
  return `${capitalised(kind)} option "${key}"`;
}

function capitalised(kind: OptionKind): string {
  return `${kind[0]!.toUpperCase()}${kind.slice(1)}`;
}

/** A short, safe rendering of a bad value for the `got …` part of a message. */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  switch (typeof value) {
    case "string":
      return `string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)}`;
    case "number":
    case "boolean":
    case "bigint":
      return `${typeof value} ${String(value)}`;
    case "undefined":
      return "undefined";
    case "function":
      return "a function";
    case "symbol":
      return "a symbol";
    default:
      return Object.getPrototypeOf(value) === Object.prototype
        ? "an object"
        : `a ${value.constructor?.name ?? "object"}`;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** The options object itself, or its nested objects (`key` given). */
export function object(kind: OptionKind, key: string | undefined, value: unknown): Record<string, unknown> {
  if (isPlainObject(value)) return value;
  const what = key === undefined ? `${capitalised(kind)} options` : label(kind, key);
  throw new TypeError(`${what} must be a plain object: got ${describe(value)}`);
}

/** Rejects keys outside `valid`, suggesting the closest one. `key` names the nested object, if any. */
export function knownKeys(
  kind: OptionKind,
  key: string | undefined,
  value: Record<string, unknown>,
  valid: readonly string[],
): void {
  for (const k of Object.keys(value)) {
    if (valid.includes(k)) continue;
    const near = closest(k, valid);
    const hint = near === undefined ? "" : `did you mean "${near}"? `;
    const list = valid.join(", ");
    if (key === undefined) {
      throw new TypeError(`Unknown ${kind} option "${k}": ${hint}Valid options: ${list}`);
    }
    throw new TypeError(`Unknown key "${k}" in ${kind} option "${key}": ${hint}Valid keys: ${list}`);
  }
}

/** Own keys whose value is not `undefined`: an `undefined` option means "not given". */
export function given<T extends object>(value: T): Partial<T> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = v;
  return out as Partial<T>;
}

function number(kind: OptionKind, key: string, value: unknown): number {
  if (typeof value !== "number")
    throw new TypeError(`${label(kind, key)} must be a number: got ${describe(value)}`);
  return value;
}

/**
 * A resource amount: finite, ≥ 0, rounded to the 0.0001 granularity (whole bytes when `bytes`). A
 * nonzero amount that rounds to zero is an error rather than a silent zero.
 */
export function amount(kind: OptionKind, key: string, value: unknown, bytes = false): number {
  const n = number(kind, key, value);
  if (!Number.isFinite(n) || n < 0) {
    throw new RangeError(`${label(kind, key)} must be a finite amount ≥ 0: got ${n}`);
  }
  const scale = bytes ? 1 : UNITS_PER_RESOURCE;
  const units = Math.round(n * scale);
  if (units === 0 && n > 0) {
    const unit = bytes ? "1 byte" : String(1 / UNITS_PER_RESOURCE);
    throw new RangeError(
      `${label(kind, key)} is below the granularity of ${unit}: got ${n}; use 0 or at least ${unit}`,
    );
  }
  if (units > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`${label(kind, key)} is too large to count exactly: got ${n}`);
  }
  return units / scale;
}

/** An integer ≥ `min`; `also` lists extra allowed values (e.g. -1 for "unbounded"). */
export function integer(kind: OptionKind, key: string, value: unknown, min: number, also?: number): number {
  const n = number(kind, key, value);
  if (n === also) return n;
  if (!Number.isInteger(n) || n < min) {
    const extra = also === undefined ? "" : ` (or ${also})`;
    throw new RangeError(`${label(kind, key)} must be an integer ≥ ${min}${extra}: got ${n}`);
  }
  return n;
}

/** A positive integer (sizes in bytes). */
export function positiveInteger(kind: OptionKind, key: string, value: unknown): number {
  return integer(kind, key, value, 1);
}

/** A positive finite number (durations). */
export function positive(kind: OptionKind, key: string, value: unknown): number {
  const n = number(kind, key, value);
  if (!Number.isFinite(n) || n <= 0)
    throw new RangeError(`${label(kind, key)} must be a finite number > 0: got ${n}`);
  return n;
}

export function boolean(kind: OptionKind, key: string, value: unknown): boolean {
  if (typeof value !== "boolean")
    throw new TypeError(`${label(kind, key)} must be true or false: got ${describe(value)}`);
  return value;
}

/** A non-empty string. */
export function string(kind: OptionKind, key: string, value: unknown): string {
  if (typeof value !== "string")
    throw new TypeError(`${label(kind, key)} must be a string: got ${describe(value)}`);
  if (value === "") throw new TypeError(`${label(kind, key)} must not be empty: give a non-empty string`);
  return value;
}

/** One of a few string literals. */
export function oneOf<T extends string>(
  kind: OptionKind,
  key: string,
  value: unknown,
  allowed: readonly T[],
): T {
  if (typeof value === "string" && (allowed as readonly string[]).includes(value)) return value as T;
  const list = allowed.map((a) => `"${a}"`).join(" or ");
  throw new TypeError(`${label(kind, key)} must be ${list}: got ${describe(value)}`);
}

/** A frozen copy of an array of non-empty strings. */
export function stringArray(kind: OptionKind, key: string, value: unknown): readonly string[] {
  if (!Array.isArray(value)) {
    throw new TypeError(`${label(kind, key)} must be an array of strings: got ${describe(value)}`);
  }
  return Object.freeze(value.map((v, i) => string(kind, `${key}[${i}]`, v)));
}

/**
 * Custom resources: a frozen `{ name: amount }` without zero entries. `CPU`/`GPU` and the byte
 * resources have their own options, so naming them here is an error that says which option to use.
 */
export function resources(kind: OptionKind, key: string, value: unknown): Readonly<Record<string, number>> {
  const rec = object(kind, key, value);
  const out: Record<string, number> = {};
  for (const [name, v] of Object.entries(rec)) {
    const instead = RESERVED[name];
    if (instead !== undefined) {
      throw new TypeError(`${label(kind, key)} must not contain "${name}": ${instead}`);
    }
    if (name.trim() === "")
      throw new TypeError(`${label(kind, key)} has an empty resource name: name every resource`);
    const n = amount(kind, `${key}.${name}`, v);
    if (n > 0) out[name] = n;
  }
  return Object.freeze(out);
}

const RESERVED: Record<string, string> = {
  CPU: "use the numCpus option instead",
  GPU: "use the numGpus option instead",
  memory: "use the memory option instead",
  object_store_memory: "it is the object store's own resource; size the store with objectStoreMemory at init",
};

/** Ray's rule for GPUs: fractions only below 1, so a device is either shared or owned whole. */
export function gpuAmount(kind: OptionKind, key: string, value: unknown): number {
  const n = amount(kind, key, value);
  if (n > 1 && !Number.isInteger(n)) {
    throw new RangeError(
      `${label(kind, key)} above 1 must be a whole number: got ${n}; use a fraction below 1 or whole GPUs`,
    );
  }
  return n;
}
