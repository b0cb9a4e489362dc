import { ObjectRef } from "../object-ref.ts";
import { ACTOR_HANDLE_STATE, Kind, kindOfPrototype } from "./kinds.ts";
import type { Serialized } from "./types.ts";
import { BinTag, Ext, MAX_DEPTH, OOB_THRESHOLD } from "./wire.ts";

/** Thrown (never seen by users) when encoding meets a value it cannot encode; the caller explains it. */
export const encodeFailed: unique symbol = Symbol("rayts.encodeFailed");

const objectProto = Object.prototype;
const arrayProto = Array.prototype;
const refProto = ObjectRef.prototype;
const errorSkip = new Set(["name", "message", "stack", "cause"]);

/**
 * Writes a value as MessagePack into one growing buffer that is reused across calls, so a small
 * value costs one copy of its bytes and no other allocation. Not reentrant: `busy` tells the caller
 * to use a fresh instance when a hook serializes while another serialize is running.
 */
export class Encoder {
  busy = false;
  #bytes = new Uint8Array(8192);
  #view = new DataView(this.#bytes.buffer);
  /** `Buffer#write` is the fastest UTF-8 writer in Bun (about 2x `TextEncoder#encodeInto`). */
  #buf = Buffer.from(this.#bytes.buffer);
  #pos = 0;
  #buffers: Uint8Array[] = [];
  #onRef: ((ref: ObjectRef<unknown>) => void) | undefined;

  encode(value: unknown, onRef?: (ref: ObjectRef<unknown>) => void): Serialized {
    this.#pos = 0;
    this.#buffers = [];
    this.#onRef = onRef;
    this.busy = true;
    try {
      this.#value(value, 0);
      return { meta: this.#bytes.slice(0, this.#pos), buffers: this.#buffers };
    } finally {
      this.busy = false;
      this.#onRef = undefined;
      this.#buffers = [];
    }
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#bytes.length) return;
    const grown = new Uint8Array(Math.max(this.#bytes.length * 2, this.#pos + n));
    grown.set(this.#bytes.subarray(0, this.#pos));
    this.#bytes = grown;
    this.#view = new DataView(grown.buffer);
    this.#buf = Buffer.from(grown.buffer);
  }

  #value(v: unknown, depth: number): void {
    switch (typeof v) {
      case "number":
        this.#number(v);
        return;
      case "string":
        this.#string(v);
        return;
      case "boolean":
        this.#ensure(1);
        this.#bytes[this.#pos++] = v ? 0xc3 : 0xc2;
        return;
      case "undefined":
        this.#ensure(3);
        this.#bytes[this.#pos++] = 0xd4;
        this.#bytes[this.#pos++] = Ext.undefined;
        this.#bytes[this.#pos++] = 0;
        return;
      case "object":
        if (v === null) {
          this.#ensure(1);
          this.#bytes[this.#pos++] = 0xc0;
          return;
        }
        this.#object(v, depth);
        return;
      case "bigint":
        this.#bigint(v);
        return;
      case "function": {
        // An ActorHandle may be a Proxy over a function.
        const state = (v as { [ACTOR_HANDLE_STATE]?: unknown })[ACTOR_HANDLE_STATE];
        if (state !== undefined) {
          this.#container(Ext.actor, state, depth);
          return;
        }
        throw encodeFailed;
      }
      default:
        throw encodeFailed;
    }
  }

  #number(v: number): void {
    this.#ensure(9);
    const b = this.#bytes;
    if (Number.isInteger(v) && (v !== 0 || 1 / v > 0)) {
      if (v >= 0) {
        if (v < 0x80) {
          b[this.#pos++] = v;
          return;
        }
        if (v < 0x100) {
          b[this.#pos++] = 0xcc;
          b[this.#pos++] = v;
          return;
        }
        if (v < 0x10000) {
          b[this.#pos++] = 0xcd;
          this.#view.setUint16(this.#pos, v);
          this.#pos += 2;
          return;
        }
        if (v < 0x100000000) {
          b[this.#pos++] = 0xce;
          this.#view.setUint32(this.#pos, v);
          this.#pos += 4;
          return;
        }
      } else {
        if (v >= -0x20) {
          b[this.#pos++] = v & 0xff;
          return;
        }
        if (v >= -0x80000000) {
          b[this.#pos++] = 0xd2;
          this.#view.setInt32(this.#pos, v);
          this.#pos += 4;
          return;
        }
      }
    }
    // Floats, -0, NaN, ±Infinity and integers beyond 32 bits: float64 holds them all exactly.
    b[this.#pos++] = 0xcb;
    this.#view.setFloat64(this.#pos, v);
    this.#pos += 8;
  }

  #string(s: string): void {
    const n = s.length;
    if (n < 32) {
      // Short ASCII strings (keys) are copied char by char: cheaper than a native call.
      this.#ensure(1 + n);
      const b = this.#bytes;
      const start = this.#pos;
      let i = 0;
      for (; i < n; i++) {
        const c = s.charCodeAt(i);
        if (c >= 0x80) break;
        b[start + 1 + i] = c;
      }
      if (i === n) {
        b[start] = 0xa0 + n;
        this.#pos = start + 1 + n;
        return;
      }
    }
    // The header is sized for the worst case (3 bytes per UTF-16 unit); MessagePack allows a
    // header wider than needed, and this avoids measuring the string twice.
    const max = n * 3;
    const head = max < 32 ? 1 : max < 0x100 ? 2 : max < 0x10000 ? 3 : 5;
    this.#ensure(head + max);
    const at = this.#pos;
    const written = this.#buf.write(s, at + head);
    const b = this.#bytes;
    if (head === 1) b[at] = 0xa0 + written;
    else if (head === 2) {
      b[at] = 0xd9;
      b[at + 1] = written;
    } else if (head === 3) {
      b[at] = 0xda;
      this.#view.setUint16(at + 1, written);
    } else {
      b[at] = 0xdb;
      this.#view.setUint32(at + 1, written);
    }
    this.#pos = at + head + written;
  }

  #bigint(v: bigint): void {
    const at = this.#extStart(Ext.bigint);
    const hex = v.toString(16);
    this.#ensure(hex.length);
    for (let i = 0; i < hex.length; i++) this.#bytes[this.#pos++] = hex.charCodeAt(i);
    this.#extEnd(at);
  }

  /** ext 32 header with the length patched in by {@link Encoder.#extEnd}. */
  #extStart(type: number): number {
    this.#ensure(6);
    const at = this.#pos;
    this.#bytes[at] = 0xc9;
    this.#bytes[at + 5] = type;
    this.#pos += 6;
    return at;
  }

  #extEnd(at: number): void {
    this.#view.setUint32(at + 1, this.#pos - at - 6);
  }

  #container(type: number, inner: unknown, depth: number): void {
    const at = this.#extStart(type);
    this.#value(inner, depth + 1);
    this.#extEnd(at);
  }

  #object(o: object, depth: number): void {
    if (depth >= MAX_DEPTH) throw encodeFailed;
    const state = (o as { [ACTOR_HANDLE_STATE]?: unknown })[ACTOR_HANDLE_STATE];
    if (state !== undefined) {
      this.#container(Ext.actor, state, depth);
      return;
    }
    const proto = Object.getPrototypeOf(o);
    if (proto === refProto) {
      this.#ref(o as ObjectRef<unknown>);
      return;
    }
    const kind =
      proto === objectProto || proto === null
        ? Kind.plain
        : proto === arrayProto
          ? Kind.array
          : kindOfPrototype(proto);
    switch (kind) {
      case Kind.plain:
        this.#plain(o as Record<string, unknown>, Object.keys(o), depth);
        return;
      case Kind.array:
        this.#array(o as unknown[], depth);
        return;
      case Kind.map:
        this.#map(o as Map<unknown, unknown>, depth);
        return;
      case Kind.set:
        this.#set(o as Set<unknown>, depth);
        return;
      case Kind.date:
        this.#date(o as Date);
        return;
      case Kind.error:
        this.#error(o as Error, depth);
        return;
      case Kind.ref:
        this.#ref(o as ObjectRef<unknown>);
        return;
      case Kind.unsupported:
        throw encodeFailed;
      default:
        this.#binary(o, kind - Kind.binary);
        return;
    }
  }

  #mapHeader(n: number): void {
    this.#ensure(5);
    if (n < 16) this.#bytes[this.#pos++] = 0x80 + n;
    else if (n < 0x10000) {
      this.#bytes[this.#pos] = 0xde;
      this.#view.setUint16(this.#pos + 1, n);
      this.#pos += 3;
    } else {
      this.#bytes[this.#pos] = 0xdf;
      this.#view.setUint32(this.#pos + 1, n);
      this.#pos += 5;
    }
  }

  #plain(o: Record<string, unknown>, keys: string[], depth: number): void {
    this.#mapHeader(keys.length);
    for (const key of keys) {
      this.#string(key);
      this.#value(o[key], depth + 1);
    }
  }

  #array(a: unknown[], depth: number): void {
    const n = a.length;
    this.#ensure(5);
    if (n < 16) this.#bytes[this.#pos++] = 0x90 + n;
    else if (n < 0x10000) {
      this.#bytes[this.#pos] = 0xdc;
      this.#view.setUint16(this.#pos + 1, n);
      this.#pos += 3;
    } else {
      this.#bytes[this.#pos] = 0xdd;
      this.#view.setUint32(this.#pos + 1, n);
      this.#pos += 5;
    }
    for (let i = 0; i < n; i++) this.#value(a[i], depth + 1);
  }

  #map(m: Map<unknown, unknown>, depth: number): void {
    const at = this.#extStart(Ext.map);
    this.#number(m.size);
    for (const [k, v] of m) {
      this.#value(k, depth + 1);
      this.#value(v, depth + 1);
    }
    this.#extEnd(at);
  }

  #set(s: Set<unknown>, depth: number): void {
    const at = this.#extStart(Ext.set);
    this.#number(s.size);
    for (const v of s) this.#value(v, depth + 1);
    this.#extEnd(at);
  }

  #date(d: Date): void {
    this.#ensure(10);
    this.#bytes[this.#pos] = 0xd7;
    this.#bytes[this.#pos + 1] = Ext.date;
    this.#view.setFloat64(this.#pos + 2, d.getTime());
    this.#pos += 10;
  }

  /** Payload: name, message, stack, hasCause, [cause], own enumerable props (plus AggregateError's errors). */
  #error(e: Error, depth: number): void {
    const at = this.#extStart(Ext.error);
    this.#value(String(e.name), depth + 1);
    this.#value(e.message, depth + 1);
    this.#value(e.stack, depth + 1);
    const hasCause = Object.hasOwn(e, "cause");
    this.#value(hasCause, depth + 1);
    if (hasCause) this.#value(e.cause, depth + 1);
    const keys = Object.keys(e).filter((k) => !errorSkip.has(k));
    if (e instanceof AggregateError && !keys.includes("errors")) keys.push("errors");
    this.#plain(e as unknown as Record<string, unknown>, keys, depth);
    this.#extEnd(at);
  }

  #ref(ref: ObjectRef<unknown>): void {
    this.#onRef?.(ref);
    const at = this.#extStart(Ext.ref);
    this.#string(ref.id);
    this.#string(ref.owner);
    this.#extEnd(at);
  }

  #binary(o: object, tag: number): void {
    const bytes =
      tag === BinTag.arrayBuffer
        ? new Uint8Array(o as ArrayBuffer)
        : new Uint8Array(
            (o as ArrayBufferView).buffer,
            (o as ArrayBufferView).byteOffset,
            (o as ArrayBufferView).byteLength,
          );
    const n = bytes.byteLength;
    if (n >= OOB_THRESHOLD) {
      this.#ensure(8);
      const b = this.#bytes;
      b[this.#pos] = 0xc7;
      b[this.#pos + 1] = 5;
      b[this.#pos + 2] = Ext.binOob;
      b[this.#pos + 3] = tag;
      this.#view.setUint32(this.#pos + 4, this.#buffers.length);
      this.#pos += 8;
      this.#buffers.push(bytes);
      return;
    }
    this.#ensure(7 + n);
    const b = this.#bytes;
    if (n + 1 < 0x100) {
      b[this.#pos] = 0xc7;
      b[this.#pos + 1] = n + 1;
      b[this.#pos + 2] = Ext.binInline;
      this.#pos += 3;
    } else {
      b[this.#pos] = 0xc9;
      this.#view.setUint32(this.#pos + 1, n + 1);
      b[this.#pos + 5] = Ext.binInline;
      this.#pos += 6;
    }
    b[this.#pos++] = tag;
    b.set(bytes, this.#pos);
    this.#pos += n;
  }
}
