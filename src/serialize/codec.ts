/**
 * The value codec behind every task argument, return value and `put`.
 *
 * - Types kept: primitives, `undefined` (distinct from `null`), `-0`/`NaN`/`±Infinity`, `bigint`,
 *   arrays (holes arrive as `undefined`), plain objects, `Map`, `Set`, `Date`, `Error` (name, message,
 *   stack, cause and own enumerable props; rayts errors come back as their class), every TypedArray,
 *   `ArrayBuffer`, `DataView`, `ObjectRef` and ActorHandles. A Node `Buffer` arrives as a `Buffer`;
 *   a `SharedArrayBuffer` arrives as an `ArrayBuffer`.
 * - Class instances arrive as plain objects of their own enumerable properties; symbol-keyed and
 *   non-enumerable properties are left out.
 * - Shared references are copied once per occurrence; a cycle throws `SerializationError` naming
 *   the path where it closes.
 * - Binaries of at least {@link OOB_THRESHOLD} bytes go out of band: `serialize` returns views of the
 *   caller's memory and `deserialize` returns views of the buffers it is given (copy first if those
 *   are memory someone will write to).
 *
 * The meta is MessagePack written by a purpose-built encoder: the generic msgpack `Encoder` folds
 * `undefined` into `null`, re-enters itself (one clone per nested extension) and has no place for
 * out-of-band buffers or failure paths. Any MessagePack reader can still inspect the meta.
 *
 * @example
 * const s = serialize([1, new Map([["k", 2n]])], "args");
 * const back = deserialize(readFrame(frameCopy)); // after writeFrame(s, frameCopy)
 */
import { SerializationError } from "../errors.ts";
import { Decoder } from "./decoder.ts";
import { Encoder, encodeFailed } from "./encoder.ts";
import { readFrame, SMALL_FRAME_HEADER, smallFrameMetaEnd } from "./frame.ts";
import { explainFailure, isStackOverflow } from "./locate.ts";
import type { CodecHooks, Serialized } from "./types.ts";

export { frameSize, readFrame, writeFrame } from "./frame.ts";
export { ACTOR_HANDLE_STATE } from "./kinds.ts";
export type { CodecHooks, Serialized } from "./types.ts";
export { OOB_THRESHOLD } from "./wire.ts";

const encoder = new Encoder();
const decoder = new Decoder();

/**
 * Encodes `value`. `root` names it in error paths (`"args"`, `"value"`, `"return value"`); an
 * unserializable part throws `SerializationError` such as
 * `Cannot serialize a function at args[1].cb: pass data, not functions; …`.
 */
export function serialize(value: unknown, root = "value", hooks?: CodecHooks): Serialized {
  const enc = encoder.busy ? new Encoder() : encoder;
  try {
    return enc.encode(value, hooks?.onRef);
  } catch (err) {
    // Anything else (a getter or a hook threw) is the caller's own error: pass it through.
    if (err !== encodeFailed && !isStackOverflow(err)) throw err;
    throw explainFailure(value, root) ?? (err === encodeFailed ? unexplained(root) : err);
  }
}

/** Decodes what {@link serialize} produced; refs and actor handles are built through `hooks`. */
export function deserialize(s: Serialized, hooks?: CodecHooks): unknown {
  return (decoder.busy ? new Decoder() : decoder).decode(s, hooks);
}

/**
 * Decodes a whole frame (see `frame.ts`): `deserialize(readFrame(bytes))`, but a frame without
 * out-of-band buffers, the usual small value, is read in place instead of through a view.
 */
export function deserializeFrame(bytes: Uint8Array, hooks?: CodecHooks): unknown {
  const metaEnd = smallFrameMetaEnd(bytes);
  if (metaEnd < 0) return deserialize(readFrame(bytes), hooks);
  return (decoder.busy ? new Decoder() : decoder).decodeRange(bytes, SMALL_FRAME_HEADER, metaEnd, [], hooks);
}

function unexplained(root: string): SerializationError {
  return new SerializationError(
    `Cannot serialize ${root}: it holds an object the codec does not support; pass plain data`,
  );
}
