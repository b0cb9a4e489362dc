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
