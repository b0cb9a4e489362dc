/**
 * Turning values into payloads and back, in any thread. Small values become inline frames; values
 * carrying large binary data are written once into the shm arena, and reading them back on the same
 * node gives zero-copy views whose block stays pinned for as long as the views are reachable.
 */
import type { CodecHooks, Serialized } from "../serialize/codec.ts";
import {
  deserialize,
  deserializeFrame,
  frameSize,
  readFrame,
  serialize,
  writeFrame,
} from "../serialize/codec.ts";
import type { ShmArena } from "../store/shm-arena.ts";
import type { Payload } from "./protocol.ts";
import { reclaimer } from "./reclaimer.ts";

/** Allocates `size` bytes of shm, returning the offset (throws ObjectStoreFullError when it cannot). */
export type ShmAlloc = (size: number) => number;

/** Makes the payload of a serialized value: inline unless it carries out-of-band buffers. */
export function toPayload(s: Serialized, arena: ShmArena | undefined, alloc: ShmAlloc): Payload {
  const size = frameSize(s);
  if (s.buffers.length === 0 || arena === undefined) {
    const bytes = new Uint8Array(size);
    writeFrame(s, bytes);
    return { t: 0, bytes };
  }
  const off = alloc(size);
  writeFrame(s, arena.slice(off, size));
  return { t: 1, off, size };
}

/** Serializes `value` into a payload, collecting the ids of the refs it contains. */
export function encodeValue(
  value: unknown,
  root: string,
  hooks: CodecHooks,
  arena: ShmArena | undefined,
  alloc: ShmAlloc,
): { payload: Payload; contained: string[] } {
  const contained: string[] = [];
  const s = serialize(value, root, { ...hooks, onRef: (r) => contained.push(r.id) });
  return { payload: toPayload(s, arena, alloc), contained };
}

/**
 * Reads a payload back into a value. For a shm payload, `unpin` is called once no zero-copy view of
 * the block is reachable any more (at once if the value holds none).
 */
export function decodePayload(
  p: Payload,
  hooks: CodecHooks,
  arena: ShmArena | undefined,
  unpin: () => void,
): unknown {
  if (p.t === 0) return deserializeFrame(p.bytes, hooks);
  if (arena === undefined)
    throw new Error("Cannot read a shared-memory object: this process has no object store attached");
  const view = arena.view(p.off, p.size);
  const s = readFrame(view);
  const value = deserialize(s, hooks);
  if (s.buffers.length === 0) unpin();
  else reclaimer.track(view.buffer, unpin);
  return value;
}
