/**
 * The unit of control traffic: a msgpack map with a string type `t`. A message with a numeric `id` is
 * a request and gets exactly one answer, `reply` or `error`, carrying that id in `re`. Everything else
 * is one-way; a one-way message the receiver cannot handle is answered with an `error` without `re`.
 *
 * @example
 * { t: "heartbeat", nodeId: "ab12…", report: {…} }      // one-way
 * { t: "status", id: 7 }                                // request
 * { t: "reply", re: 7, value: {…} }                     // its answer
 * { t: "error", re: 7, code: "ERR_UNKNOWN_MESSAGE", message: "Unknown message type: …" }
 */

/** Any message on the wire. Fields besides `t`, `id` and `re` belong to the message type. */
export interface Message {
  readonly t: string;
  readonly id?: number;
  readonly re?: number;
  readonly [field: string]: unknown;
}

/** The answer to a request that succeeded. */
export interface ReplyMessage extends Message {
  readonly t: "reply";
  readonly re: number;
  readonly value: unknown;
}

/** The answer to a request that failed, or to a frame or one-way message that could not be handled. */
export interface ErrorMessage extends Message {
  readonly t: "error";
  readonly code: string;
  readonly message: string;
}

/** Whether `value` is a well-formed message: a plain object with a non-empty string `t`. */
export function isMessage(value: unknown): value is Message {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  const t = (value as { t?: unknown }).t;
  if (typeof t !== "string" || t.length === 0) return false;
  const { id, re } = value as { id?: unknown; re?: unknown };
  return (id === undefined || Number.isSafeInteger(id)) && (re === undefined || Number.isSafeInteger(re));
}

/** An `error` message for `err`, answering request `re` when given. */
export function errorMessage(err: unknown, re?: number): ErrorMessage {
  const code =
    typeof (err as { code?: unknown })?.code === "string" ? (err as { code: string }).code : "ERR_RAYTS";
  const message = err instanceof Error ? err.message : String(err);
  return re === undefined ? { t: "error", code, message } : { t: "error", re, code, message };
}
