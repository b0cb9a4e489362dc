/**
 * Wire constants of the value codec. The meta is MessagePack: plain values use its own types and
 * every other value is an extension whose type byte is one of {@link Ext}. Container extensions
 * (Map, Set, Error, ObjectRef, ActorHandle) hold further MessagePack values in their payload.
 */
export const Ext = {
  undefined: 0,
  bigint: 1,
  date: 2,
  map: 3,
  set: 4,
  error: 5,
  ref: 6,
  actor: 7,
  /** Payload: binary tag byte, then the raw bytes. */
  binInline: 8,
  /** Payload: binary tag byte, then the u32 index into `Serialized.buffers`. */
  binOob: 9,
} as const;

/** Binaries at least this long travel out of band, in `Serialized.buffers`. */
export const OOB_THRESHOLD = 64 * 1024;

/** Deeper nesting than this is refused (it is almost always a cycle). */
export const MAX_DEPTH = 1000;

type BinaryCtor = new (buffer: ArrayBuffer, byteOffset?: number, length?: number) => ArrayBufferView;

/** One entry per binary kind; the index is the tag byte on the wire. */
export const binaryKinds: readonly { name: string; ctor: BinaryCtor | undefined; elementSize: number }[] = [
  { name: "ArrayBuffer", ctor: undefined, elementSize: 1 },
  { name: "DataView", ctor: DataView, elementSize: 1 },
  { name: "Buffer", ctor: undefined, elementSize: 1 },
  { name: "Int8Array", ctor: Int8Array, elementSize: 1 },
  { name: "Uint8Array", ctor: Uint8Array, elementSize: 1 },
  { name: "Uint8ClampedArray", ctor: Uint8ClampedArray, elementSize: 1 },
  { name: "Int16Array", ctor: Int16Array, elementSize: 2 },
  { name: "Uint16Array", ctor: Uint16Array, elementSize: 2 },
  { name: "Int32Array", ctor: Int32Array, elementSize: 4 },
  { name: "Uint32Array", ctor: Uint32Array, elementSize: 4 },
  { name: "Float32Array", ctor: Float32Array, elementSize: 4 },
  { name: "Float64Array", ctor: Float64Array, elementSize: 8 },
  { name: "BigInt64Array", ctor: BigInt64Array as unknown as BinaryCtor, elementSize: 8 },
  { name: "BigUint64Array", ctor: BigUint64Array as unknown as BinaryCtor, elementSize: 8 },
  {
    name: "Float16Array",
    ctor: (globalThis as { Float16Array?: BinaryCtor }).Float16Array,
    elementSize: 2,
  },
];

export const BinTag = { arrayBuffer: 0, dataView: 1, buffer: 2 } as const;
