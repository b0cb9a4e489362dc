/**
 * One long-lived connection to another process, as both ends see it. {@link Peer} is the whole
 * interface the cluster uses, so the socket underneath (server side, client side, or an in-process
 * pair in tests) can change without touching the code above it.
 */
import type { Message } from "./message.ts";
import type { RemoteError } from "./transport-errors.ts";

/** `OPEN` until either side closes; then `CLOSED` for good. */
export type PeerState = "OPEN" | "CLOSED";

/**
 * Handles one incoming message. For a request (a message with `id`) the returned value, or the value
 * the returned promise settles with, is the reply; a throw becomes an `error` answer. For a one-way
 * message the result is ignored, and a throw is answered with an `error` message.
 */
export type MessageHandler = (message: Message, peer: Peer) => unknown;

/** Options of {@link Peer.request}. */
export interface RequestOptions {
  /** Reject with RequestTimeoutError after this long (default 30 s). */
  timeoutMs?: number;
}

/** A connection carrying batched msgpack frames of {@link Message}s. */
export interface Peer {
  readonly state: PeerState;
  /** Who is on the other side, for logs: `127.0.0.1:40312`. */
  readonly remote: string;
  /** Queues a one-way message; queued messages leave together in one frame. */
  send(message: Message): void;
  /**
   * Sends `message` as a request and resolves with the `value` of its reply. Rejects with
   * RemoteError when the peer answers with an error, PeerClosedError when the connection ends first.
   *
   * @example
   * const status = await peer.request({ t: "status" });
   */
  request(message: Message, options?: RequestOptions): Promise<unknown>;
  /** Sets the handler of incoming messages (one per peer; a later call replaces it). */
  onMessage(handler: MessageHandler): void;
  /** Sets the callback for `error` answers to one-way messages this side sent (default: ignore). */
  onError(handler: (error: RemoteError) => void): void;
  /** Adds a callback run once when the connection ends, with the reason. */
  onClose(handler: (reason: string) => void): void;
  /** Flushes what is queued and closes the connection. */
  close(reason?: string): void;
}
