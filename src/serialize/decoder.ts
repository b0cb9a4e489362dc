import { SerializationError } from "../errors.ts";
import { ObjectRef } from "../object-ref.ts";
import { rebuildError } from "./errors-codec.ts";
import type { CodecHooks, Serialized } from "./types.ts";
import { BinTag, binaryKinds, Ext } from "./wire.ts";

const utf8 = new TextDecoder();
const scratch = new DataView(new ArrayBuffer(8));
const scratchBytes = new Uint8Array(scratch.buffer);
const emptyBytes = new Uint8Array(0);
const MAX_CACHED_KEY = 24;
const KEY_SLOTS = 4096;
const keyCache = new Array<string | undefined>(KEY_SLOTS);

/**
 * Reads what {@link Encoder} wrote. Reused across calls (`busy` guards reentrancy through hooks).
 * Binaries from out-of-band buffers are views over those buffers when their alignment allows it;
 * inline ones are copied so they do not pin the meta.
 */
export class Decoder {
  busy = false;
  #bytes: Uint8Array = emptyBytes;
  /** Where the meta starts and ends in `#bytes` (a frame's meta is read in place, not as a view). */
  #start = 0;
  #end = 0;
  #pos = 0;
  #buffers: Uint8Array[] = [];
  #hooks: CodecHooks | undefined;

  decode(s: Serialized, hooks?: CodecHooks): unknown {
    return this.decodeRange(s.meta, 0, s.meta.length, s.buffers, hooks);
  }

  /**
   * Decodes the meta at `bytes[start..end]` in place: a small typed array keeps its bytes inside its
   * object in JSC, and a `subarray` view of it first moves them to a buffer of their own (a malloc
   * and a copy per value read).
   */
  decodeRange(
    bytes: Uint8Array,
    start: number,
    end: number,
    buffers: Uint8Array[],
    hooks: CodecHooks | undefined,
  ): unknown {
    this.#bytes = bytes;
    this.#start = start;
    this.#end = end;
    this.#buffers = buffers;
    this.#pos = start;
    this.#hooks = hooks;
    this.busy = true;
    try {
      const value = this.#value();
      if (this.#pos !== end) throw this.#malformed();
      return value;
    } finally {
      this.busy = false;
      this.#bytes = emptyBytes;
      this.#buffers = [];
      this.#hooks = undefined;
    }
  }

  #malformed(): SerializationError {
    return new SerializationError(
      `Cannot deserialize value: malformed data at byte ${this.#pos - this.#start} of ${this.#end - this.#start}; it was not written by this codec version`,
    );
  }

  #u16(): number {
    const b = this.#bytes;
    const p = this.#pos;
    this.#pos = p + 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  #u32(): number {
    const b = this.#bytes;
    const p = this.#pos;
    this.#pos = p + 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  #f64(): number {
    const b = this.#bytes;
    const p = this.#pos;
    if (p + 8 > this.#end) throw this.#malformed();
    for (let i = 0; i < 8; i++) scratchBytes[i] = b[p + i]!;
    this.#pos = p + 8;
    return scratch.getFloat64(0);
  }

  #value(): unknown {
    const b = this.#bytes;
    if (this.#pos >= this.#end) throw this.#malformed();
    const h = b[this.#pos++]!;
    if (h < 0x80) return h;
    if (h >= 0xe0) return h - 0x100;
    if (h < 0x90) return this.#object(h & 0x0f);
    if (h < 0xa0) return this.#array(h & 0x0f);
    if (h < 0xc0) return this.#string(h & 0x1f);
    switch (h) {
      case 0xc0:
        return null;
      case 0xc2:
        return false;
      case 0xc3:
        return true;
      case 0xcb:
        return this.#f64();
      case 0xcc:
        return b[this.#pos++];
      case 0xcd:
        return this.#u16();
      case 0xce:
        return this.#u32();
      case 0xd2: {
        const v = this.#u32();
        return v | 0;
      }
      case 0xd9:
        return this.#string(b[this.#pos++]!);
      case 0xda:
        return this.#string(this.#u16());
      case 0xdb:
        return this.#string(this.#u32());
      case 0xdc:
        return this.#array(this.#u16());
      case 0xdd:
        return this.#array(this.#u32());
      case 0xde:
        return this.#object(this.#u16());
      case 0xdf:
        return this.#object(this.#u32());
      case 0xd4:
        return this.#ext(1);
      case 0xd7:
        return this.#ext(8);
      case 0xc7:
        return this.#ext(b[this.#pos++]!);
      case 0xc9:
        return this.#ext(this.#u32());
      default:
        this.#pos--;
        throw this.#malformed();
    }
  }

  #string(n: number): string {
    const b = this.#bytes;
    const start = this.#pos;
    const end = start + n;
    if (end > this.#end) throw this.#malformed();
    this.#pos = end;
    if (n < 24) {
      let s = "";
      for (let i = start; i < end; i++) {
        const c = b[i]!;
        if (c >= 0x80) return utf8.decode(b.subarray(start, end));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return utf8.decode(b.subarray(start, end));
  }

  /**
   * Object keys repeat across objects; reusing the same string instance lets the engine skip
   * re-interning it on every property store (about 4x faster object building).
   */
  #key(n: number): string {
    const b = this.#bytes;
    const start = this.#pos;
    const end = start + n;
    if (end > this.#end) throw this.#malformed();
    let hash = n;
    for (let i = start; i < end; i++) hash = (Math.imul(hash, 31) + b[i]!) | 0;
    const slot = hash & (KEY_SLOTS - 1);
    const cached = keyCache[slot];
    if (cached !== undefined && cached.length === n) {
      let same = true;
      for (let i = 0; i < n; i++) {
        if (cached.charCodeAt(i) !== b[start + i]) {
          same = false;
          break;
        }
      }
      if (same) {
        this.#pos = end;
        return cached;
      }
    }
    const key = this.#string(n);
    if (key.length === n) keyCache[slot] = key; // ASCII only: then chars and bytes compare 1:1
    return key;
  }

  #array(n: number): unknown[] {
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = this.#value();
    return out;
  }

  #object(n: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const b = this.#bytes;
    for (let i = 0; i < n; i++) {
      const h = b[this.#pos]!;
      let key: unknown;
      if (h > 0xa0 && h <= 0xa0 + MAX_CACHED_KEY) {
        this.#pos++;
        key = this.#key(h - 0xa0);
      } else key = this.#value();
      const value = this.#value();
      if (key === "__proto__") {
        Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true });
      } else out[key as string] = value;
    }
    return out;
  }

  #ext(len: number): unknown {
    const type = this.#bytes[this.#pos++];
    const start = this.#pos;
    const end = start + len;
    if (end > this.#end) throw this.#malformed();
    let value: unknown;
    switch (type) {
      case Ext.undefined:
        this.#pos = end;
        return undefined;
      case Ext.bigint: {
        const hex = this.#string(len);
        value = hex.startsWith("-") ? -BigInt(`0x${hex.slice(1)}`) : BigInt(`0x${hex}`);
        break;
      }
      case Ext.date:
        value = new Date(this.#f64());
        break;
      case Ext.map: {
        const n = this.#value() as number;
        const m = new Map<unknown, unknown>();
        for (let i = 0; i < n; i++) m.set(this.#value(), this.#value());
        value = m;
        break;
      }
      case Ext.set: {
        const n = this.#value() as number;
        const s = new Set<unknown>();
        for (let i = 0; i < n; i++) s.add(this.#value());
        value = s;
        break;
      }
      case Ext.error: {
        const name = this.#value();
        const message = this.#value();
        const stack = this.#value();
        const cause = this.#value() ? { value: this.#value() } : undefined;
        const props = this.#value() as Record<string, unknown>;
        value = rebuildError(String(name), message, stack, cause, props);
        break;
      }
      case Ext.ref: {
        const id = this.#value() as string;
        const owner = this.#value() as string;
        value = this.#hooks?.makeRef ? this.#hooks.makeRef(id, owner) : new ObjectRef(id, owner);
        break;
      }
      case Ext.actor: {
        const state = this.#value() as Record<string, unknown>;
        value = this.#hooks?.makeActorHandle ? this.#hooks.makeActorHandle(state) : state;
        break;
      }
      case Ext.binInline:
        value = binary(this.#bytes[start]!, this.#bytes.slice(start + 1, end), true);
        this.#pos = end;
        break;
      case Ext.binOob: {
        this.#pos++;
        const buffer = this.#buffers[this.#u32()];
        if (!buffer) throw this.#malformed();
        value = binary(this.#bytes[start]!, buffer, false);
        break;
      }
      default:
        this.#pos = start;
        throw this.#malformed();
    }
    if (this.#pos !== end) throw this.#malformed();
    return value;
  }
}

/** Builds the binary of kind `tag` over `bytes`; `owned` says the bytes are a private copy at offset 0. */
function binary(tag: number, bytes: Uint8Array, owned: boolean): unknown {
  const { buffer, byteOffset, byteLength } = bytes;
  switch (tag) {
    case BinTag.arrayBuffer:
      // An ArrayBuffer cannot be a window into a larger one, so only a whole buffer is reused.
      return byteOffset === 0 && byteLength === buffer.byteLength ? buffer : bytes.slice().buffer;
    case BinTag.dataView:
      return new DataView(buffer, byteOffset, byteLength);
    case BinTag.buffer:
      return Buffer.from(buffer, byteOffset, byteLength);
  }
  const kind = binaryKinds[tag];
  if (!kind?.ctor) {
    throw new SerializationError(
      `Cannot deserialize a ${kind?.name ?? `binary of kind ${tag}`}: this runtime lacks it; upgrade Bun on this node`,
    );
  }
  if (owned || byteOffset % kind.elementSize === 0) {
    return new kind.ctor(buffer as ArrayBuffer, byteOffset, byteLength / kind.elementSize);
  }
  const copy = bytes.slice();
  return new kind.ctor(copy.buffer, 0, byteLength / kind.elementSize);
}
