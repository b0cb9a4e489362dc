/**
 * One WebSocket frame = one msgpack array of messages. Batching many messages into one frame is what
 * keeps per-message cost low when traffic is heavy; decoding validates everything a peer could get
 * wrong (not msgpack, truncated, trailing bytes, oversized, not an array of messages) and throws a
 * {@link FrameError} saying which, so the receiver can answer instead of crashing.
 *
 * @example
 * const bytes = encodeFrame([{ t: "heartbeat", nodeId }]);
 * const messages = decodeFrame(bytes, DEFAULT_MAX_FRAME_BYTES);
 */
import { Decoder, Encoder } from "@msgpack/msgpack";
import { isMessage, type Message } from "./message.ts";
import { FrameError } from "./transport-errors.ts";

/** The largest frame a peer accepts by default (control traffic only: objects travel over HTTP). */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** The most messages one frame may carry; longer batches are split by the sender. */
export const MAX_MESSAGES_PER_FRAME = 4096;

const encoder = new Encoder({ ignoreUndefined: true });
// An array or map needs at least one byte per element, so no legal frame declares more elements than
// the largest frame has bytes: the cap stops a 5-byte frame from asking for a 4-billion-slot array.
const decoder = new Decoder({
  maxStrLength: DEFAULT_MAX_FRAME_BYTES,
  maxBinLength: DEFAULT_MAX_FRAME_BYTES,
  maxArrayLength: DEFAULT_MAX_FRAME_BYTES,
  maxMapLength: DEFAULT_MAX_FRAME_BYTES,
  maxExtLength: DEFAULT_MAX_FRAME_BYTES,
});
decodeStringsNatively(decoder);

/** The internals of @msgpack/msgpack's Decoder that {@link decodeStringsNatively} relies on. */
interface DecoderInternals {
  bytes: Uint8Array;
  pos: number;
  maxStrLength: number;
  keyDecoder: {
    canBeCached(length: number): boolean;
    decode(b: Uint8Array, o: number, l: number): string;
  } | null;
  stateIsMapKey(): boolean;
  decodeUtf8String(byteLength: number, headerOffset: number): string;
}

const utf8Slice = (Buffer.prototype as unknown as { utf8Slice(start: number, end: number): string })
  .utf8Slice;

/**
 * @msgpack/msgpack decodes strings of up to 200 bytes in JavaScript, byte by byte, and control frames
 * are mostly such strings (task and object ids, module paths, names): that loop took a quarter of a
 * node's main-thread time under task load. Bun's native `Buffer#utf8Slice` decodes one in a single
 * call, about twice as fast per frame. This replaces the decoder's `decodeUtf8String` (internal in
 * the pinned version; map keys still go through its key cache) on this one instance; should a later
 * version lack the method, the stock decoding stays.
 */
function decodeStringsNatively(d: Decoder): void {
  const inner = d as unknown as DecoderInternals;
  if (typeof inner.decodeUtf8String !== "function" || typeof inner.stateIsMapKey !== "function") return;
  inner.decodeUtf8String = function (this: DecoderInternals, byteLength: number, headerOffset: number) {
    if (byteLength > this.maxStrLength) {
      throw new RangeError(`Max length exceeded: UTF-8 byte length (${byteLength}) > maxStrLength`);
    }
    const start = this.pos + headerOffset;
    // The stock decoder signals a truncated frame the same way ("Insufficient data").
    if (this.bytes.byteLength < start + byteLength) throw new RangeError("Insufficient data");
    const keys = this.keyDecoder;
    const text =
      keys?.canBeCached(byteLength) && this.stateIsMapKey()
        ? keys.decode(this.bytes, start, byteLength)
        : utf8Slice.call(this.bytes, start, start + byteLength);
    this.pos = start + byteLength;
    return text;
  };
}

/** Encodes `messages` as one frame. */
export function encodeFrame(messages: readonly Message[]): Uint8Array {
  return encoder.encode(messages);
}

/** Decodes a frame into its messages; throws {@link FrameError} for anything but a valid frame. */
export function decodeFrame(bytes: Uint8Array, maxBytes: number = DEFAULT_MAX_FRAME_BYTES): Message[] {
  if (bytes.byteLength > maxBytes) {
    throw new FrameError(
      `Frame is too large: ${bytes.byteLength} bytes, the limit is ${maxBytes}; send large data over HTTP, not the control socket`,
    );
  }
  if (bytes.byteLength === 0)
    throw new FrameError("Malformed frame: it is empty; send a msgpack array of messages");
  let value: unknown;
  try {
    value = decoder.decode(bytes);
  } catch (err) {
    const detail = err instanceof Error ? err.message : String(err);
    const what = /insufficient data/i.test(detail) ? "Truncated frame" : "Malformed frame";
    throw new FrameError(`${what}: ${detail}; send one complete msgpack array of messages per frame`);
  }
  if (!Array.isArray(value)) {
    throw new FrameError(
      `Malformed frame: it holds ${describe(value)}, not an array; send a msgpack array of messages`,
    );
  }
  if (value.length > MAX_MESSAGES_PER_FRAME) {
    throw new FrameError(
      `Frame holds too many messages: ${value.length}, the limit is ${MAX_MESSAGES_PER_FRAME}; split the batch`,
    );
  }
  for (let i = 0; i < value.length; i++) {
    if (!isMessage(value[i])) {
      throw new FrameError(
        `Malformed message at index ${i}: ${describe(value[i])}; each message is a map with a string field t (and an integer id to ask for a reply)`,
      );
    }
  }
  return value as Message[];
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Uint8Array) return "binary data";
  if (typeof value === "object") return "a map without a valid t";
  return `a ${typeof value}`;
}
