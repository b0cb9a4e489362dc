import { SerializationError } from "../errors.ts";
import type { Serialized } from "./types.ts";

/**
 * One contiguous frame holding a {@link Serialized}, for shared memory and sockets:
 *
 *   0  u32 magic "RTS1"     4  u32 buffer count     8  u64 meta length
 *   16 per buffer: u64 offset, u64 length (offsets from the frame start)
 *   then the meta, then each buffer at a 64-byte-aligned offset
 *
 * Little-endian. With the frame itself 64-byte aligned, every buffer is aligned for any element type,
 * so `readFrame` hands out typed arrays over the frame without copying.
 */
const MAGIC = 0x31535452; // "RTS1" read little-endian
const HEADER = 16;
const ENTRY = 16;
const ALIGN = 64;

const align = (n: number) => Math.ceil(n / ALIGN) * ALIGN;

/** Bytes `writeFrame` needs for `s`. */
export function frameSize(s: Serialized): number {
  let size = HEADER + ENTRY * s.buffers.length + s.meta.length;
  for (const b of s.buffers) size = align(size) + b.byteLength;
  return size;
}

/** Writes `s` into `dest` (exactly `frameSize(s)` bytes, ideally starting 64-byte aligned in memory). */
export function writeFrame(s: Serialized, dest: Uint8Array): void {
  const size = frameSize(s);
  if (dest.length !== size) {
    throw new RangeError(
      `Frame destination has ${dest.length} bytes: frameSize() says ${size}; allocate exactly that`,
    );
  }
  if (s.buffers.length === 0) {
    // The common small frame: no DataView (creating one costs more than the whole write).
    writeU32(dest, 0, MAGIC);
    writeU32(dest, 4, 0);
    writeU32(dest, 8, s.meta.length);
    writeU32(dest, 12, 0);
    dest.set(s.meta, HEADER);
    return;
  }
  const view = new DataView(dest.buffer, dest.byteOffset, dest.byteLength);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, s.buffers.length, true);
  setU64(view, 8, s.meta.length);
  let pos = HEADER + ENTRY * s.buffers.length;
  dest.set(s.meta, pos);
  pos += s.meta.length;
  s.buffers.forEach((b, i) => {
    const start = align(pos);
    dest.fill(0, pos, start);
    setU64(view, HEADER + ENTRY * i, start);
    setU64(view, HEADER + ENTRY * i + 8, b.byteLength);
    dest.set(b, start);
    pos = start + b.byteLength;
  });
}

/** Where the meta of a frame without buffers ends (it starts at 16), or -1 for any other frame. */
export function smallFrameMetaEnd(bytes: Uint8Array): number {
  if (
    bytes.length >= HEADER &&
    readU32(bytes, 0) === MAGIC &&
    readU32(bytes, 4) === 0 &&
    readU32(bytes, 12) === 0
  ) {
    const metaEnd = HEADER + readU32(bytes, 8);
    if (metaEnd > bytes.length) throw truncated(bytes.length);
    return metaEnd;
  }
  return -1;
}

/** Bytes before the meta of a frame without buffers. */
export const SMALL_FRAME_HEADER = HEADER;

/** Reads a frame without copying: `meta` and every buffer are views of `bytes`. */
export function readFrame(bytes: Uint8Array): Serialized {
  const smallEnd = smallFrameMetaEnd(bytes);
  if (smallEnd >= 0) return { meta: bytes.subarray(HEADER, smallEnd), buffers: [] };
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < HEADER || view.getUint32(0, true) !== MAGIC) {
    throw new SerializationError(
      "Cannot read frame: bad header; the bytes are not a frame written by writeFrame",
    );
  }
  const count = view.getUint32(4, true);
  const metaStart = HEADER + ENTRY * count;
  const metaEnd = metaStart + getU64(view, 8);
  if (metaEnd > bytes.length) throw truncated(bytes.length);
  const buffers: Uint8Array[] = new Array(count);
  for (let i = 0; i < count; i++) {
    const start = getU64(view, HEADER + ENTRY * i);
    const end = start + getU64(view, HEADER + ENTRY * i + 8);
    if (start < metaEnd || end > bytes.length) throw truncated(bytes.length);
    buffers[i] = bytes.subarray(start, end);
  }
  return { meta: bytes.subarray(metaStart, metaEnd), buffers };
}

function truncated(length: number): SerializationError {
  return new SerializationError(
    `Cannot read frame: its table points past its ${length} bytes; the frame is truncated or corrupt`,
  );
}

function setU64(view: DataView, at: number, n: number): void {
  view.setUint32(at, n >>> 0, true);
  view.setUint32(at + 4, Math.floor(n / 2 ** 32), true);
}

function getU64(view: DataView, at: number): number {
  return view.getUint32(at, true) + view.getUint32(at + 4, true) * 2 ** 32;
}

function writeU32(b: Uint8Array, at: number, n: number): void {
  b[at] = n & 0xff;
  b[at + 1] = (n >>> 8) & 0xff;
  b[at + 2] = (n >>> 16) & 0xff;
  b[at + 3] = (n >>> 24) & 0xff;
}

function readU32(b: Uint8Array, at: number): number {
  return (
    ((b[at] as number) |
      ((b[at + 1] as number) << 8) |
      ((b[at + 2] as number) << 16) |
      ((b[at + 3] as number) << 24)) >>>
    0
  );
}
