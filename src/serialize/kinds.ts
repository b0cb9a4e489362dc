import { EventEmitter } from "node:events";
import { ObjectRef } from "../object-ref.ts";
import { BinTag, binaryKinds } from "./wire.ts";

/**
 * How the codec treats an object, decided once per prototype and cached. Binary kinds are
 * `Kind.binary + tag` (tag from `binaryKinds`).
 */
export const Kind = {
  plain: 0,
  array: 1,
  map: 2,
  set: 3,
  date: 4,
  error: 5,
  ref: 6,
  unsupported: 7,
  binary: 16,
} as const;

/** The property an ActorHandle exposes its serializable state under; see `codec.ts`. */
export const ACTOR_HANDLE_STATE: unique symbol = Symbol.for("rayts.actorHandle") as never;

const builtinKinds = new Map<object, number>([
  [Object.prototype, Kind.plain],
  [Array.prototype, Kind.array],
  [Map.prototype, Kind.map],
  [Set.prototype, Kind.set],
  [Date.prototype, Kind.date],
  [Error.prototype, Kind.error],
  [ObjectRef.prototype, Kind.ref],
  [ArrayBuffer.prototype, Kind.binary + BinTag.arrayBuffer],
  [SharedArrayBuffer.prototype, Kind.binary + BinTag.arrayBuffer],
  [Buffer.prototype, Kind.binary + BinTag.buffer],
]);
for (const ctor of [
  TypeError,
  RangeError,
  SyntaxError,
  ReferenceError,
  EvalError,
  URIError,
  AggregateError,
]) {
  builtinKinds.set(ctor.prototype, Kind.error);
}
if (typeof DOMException === "function") builtinKinds.set(DOMException.prototype, Kind.error);
binaryKinds.forEach((k, tag) => {
  if (k.ctor) builtinKinds.set(k.ctor.prototype, Kind.binary + tag);
});

/** Prototypes of live objects whose JS side is not native code (Node streams, net.Socket, …). */
const hostBases: object[] = [EventEmitter.prototype];
if (typeof EventTarget === "function") hostBases.push(EventTarget.prototype);

const learned = new WeakMap<object, number>();
const nativeSource = /\{\s*\[native code\]\s*\}\s*$/;
const fnToString = Function.prototype.toString;

function isNative(f: unknown): boolean {
  return typeof f === "function" && nativeSource.test(fnToString.call(f));
}

/**
 * Whether a prototype that is not one of the supported builtins belongs to a host class: its own
 * constructor is native (Request, Blob, Promise, WeakMap…), or it has no constructor but native
 * methods (Bun's TCPSocket), or it is an emitter/event target (streams, sockets, workers).
 */
function isHostPrototype(proto: object): boolean {
  if (hostBases.includes(proto)) return true;
  if (Object.hasOwn(proto, "constructor")) return isNative((proto as { constructor: unknown }).constructor);
  for (const key of Object.getOwnPropertyNames(proto)) {
    const d = Object.getOwnPropertyDescriptor(proto, key);
    if (d && (isNative(d.value) || isNative(d.get))) return true;
  }
  return false;
}

function classify(proto: object): number {
  for (let p: object | null = proto; p !== null; p = Object.getPrototypeOf(p)) {
    const k = builtinKinds.get(p);
    if (k !== undefined && p !== Object.prototype) return k;
    if (p !== Object.prototype && isHostPrototype(p)) return Kind.unsupported;
  }
  // A user class (or Object.create of a plain object): sent as its own enumerable properties.
  return Kind.plain;
}

/** The {@link Kind} of an object with this (non-null) prototype. */
export function kindOfPrototype(proto: object): number {
  const k = builtinKinds.get(proto) ?? learned.get(proto);
  if (k !== undefined) return k;
  const computed = classify(proto);
  learned.set(proto, computed);
  return computed;
}

/** The {@link Kind} of any object, prototype-less ones included. */
export function kindOf(o: object): number {
  const proto = Object.getPrototypeOf(o);
  return proto === null ? Kind.plain : kindOfPrototype(proto);
}

/** The ActorHandle state of `v`, or undefined if `v` is not an ActorHandle. Reads only that property. */
export function actorState(v: object): unknown {
  return (v as { [ACTOR_HANDLE_STATE]?: unknown })[ACTOR_HANDLE_STATE];
}
