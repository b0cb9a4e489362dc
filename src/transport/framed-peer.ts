/**
 * The {@link Peer} logic shared by every socket: batching outgoing messages into frames, matching
 * replies to requests, and answering what cannot be handled (bad frames, unknown types, handler
 * errors) with an `error` message instead of throwing. Socket adapters feed it bytes with `receive`
 * and tell it when the socket ended with `closed`.
 */
import { DEFAULT_MAX_FRAME_BYTES, decodeFrame, encodeFrame, MAX_MESSAGES_PER_FRAME } from "./frame-codec.ts";
import { errorMessage, type Message } from "./message.ts";
import type { MessageHandler, Peer, PeerState, RequestOptions } from "./peer.ts";
import {
  FrameError,
  PeerClosedError,
  RemoteError,
  RequestTimeoutError,
  UnknownMessageError,
} from "./transport-errors.ts";

/** What a socket adapter gives a {@link FramedPeer}. */
export interface SocketSide {
  /** Writes one binary frame. */
  write(frame: Uint8Array): void;
  /** Closes the socket (the adapter calls `closed` once it has). */
  shut(code: number, reason: string): void;
  /** Who is on the other side, for logs. */
  readonly remote: string;
  /** The largest frame accepted in either direction (default 16 MiB). */
  readonly maxFrameBytes?: number;
}

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: ReturnType<typeof setTimeout>;
}

const DEFAULT_TIMEOUT_MS = 30_000;
const NORMAL_CLOSURE = 1000;

/** A {@link Peer} over any socket that moves binary frames. */
export class FramedPeer implements Peer {
  readonly remote: string;
  readonly #side: SocketSide;
  readonly #maxFrameBytes: number;
  #state: PeerState = "OPEN";
  #queue: Message[] = [];
  #flushScheduled = false;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();
  #handler: MessageHandler | undefined;
  readonly #closeHandlers: Array<(reason: string) => void> = [];
  #errorHandler: (error: RemoteError) => void = () => {};
  /** Called when a one-way message could not be sent (too large for a frame). */
  onSendError: (err: Error) => void = (err) => console.error(err.message);

  constructor(side: SocketSide) {
    this.#side = side;
    this.remote = side.remote;
    this.#maxFrameBytes = side.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  get state(): PeerState {
    return this.#state;
  }

  send(message: Message): void {
    if (this.#state === "CLOSED") return;
    this.#queue.push(message);
    if (!this.#flushScheduled) {
      this.#flushScheduled = true;
      queueMicrotask(() => this.#flush());
    }
  }

  request(message: Message, options: RequestOptions = {}): Promise<unknown> {
    if (this.#state === "CLOSED") {
      return Promise.reject(
        new PeerClosedError(`Cannot send ${message.t} to ${this.remote}: the connection is closed`),
      );
    }
    const id = this.#nextId++;
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        reject(
          new RequestTimeoutError(
            `No answer to ${message.t} from ${this.remote} within ${timeoutMs} ms: the peer is busy or gone`,
          ),
        );
      }, timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      this.send({ ...message, id });
    });
  }

  onMessage(handler: MessageHandler): void {
    this.#handler = handler;
  }

  onError(handler: (error: RemoteError) => void): void {
    this.#errorHandler = handler;
  }

  onClose(handler: (reason: string) => void): void {
    if (this.#state === "CLOSED") handler("closed");
    else this.#closeHandlers.push(handler);
  }

  close(reason = "closed"): void {
    if (this.#state === "CLOSED") return;
    this.#flush();
    this.#side.shut(NORMAL_CLOSURE, reason);
    this.closed(reason);
  }

  /** Feeds one received WebSocket message. Never throws: problems are answered to the peer. */
  receive(data: string | ArrayBuffer | Uint8Array): void {
    if (this.#state === "CLOSED") return;
    if (typeof data === "string") {
      this.send(errorMessage(new FrameError("Text frames are not accepted: send binary msgpack frames")));
      return;
    }
    let messages: Message[];
    try {
      messages = decodeFrame(data instanceof Uint8Array ? data : new Uint8Array(data), this.#maxFrameBytes);
    } catch (err) {
      this.send(errorMessage(err));
      return;
    }
    for (const message of messages) this.#dispatch(message);
  }

  /** The socket ended: fail what waits for an answer and run the close callbacks once. */
  closed(reason: string): void {
    if (this.#state === "CLOSED") return;
    this.#state = "CLOSED";
    this.#queue = [];
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(new PeerClosedError(`Connection to ${this.remote} closed before it answered: ${reason}`));
      this.#pending.delete(id);
    }
    for (const handler of this.#closeHandlers.splice(0)) handler(reason);
  }

  #dispatch(message: Message): void {
    if (message.t === "reply" || message.t === "error") {
      this.#settle(message);
      return;
    }
    const id = message.id;
    try {
      if (this.#handler === undefined) throw unknownType(message.t);
      const result = this.#handler(message, this);
      if (id === undefined) {
        if (result instanceof Promise) result.catch((err: unknown) => this.send(errorMessage(err)));
        return;
      }
      if (result instanceof Promise) {
        result.then(
          (value) => this.send({ t: "reply", re: id, value }),
          (err: unknown) => this.send(errorMessage(err, id)),
        );
      } else this.send({ t: "reply", re: id, value: result });
    } catch (err) {
      this.send(errorMessage(err, id));
    }
  }

  #settle(message: Message): void {
    const re = message.re;
    const pending = re === undefined ? undefined : this.#pending.get(re);
    if (pending === undefined) {
      // An error about something one-way we sent; a reply nobody waits for (timed out) is dropped.
      if (message.t === "error") this.#errorHandler(remoteError(message));
      return;
    }
    this.#pending.delete(re!);
    clearTimeout(pending.timer);
    if (message.t === "reply") pending.resolve(message.value);
    else pending.reject(remoteError(message));
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#queue.length === 0 || this.#state === "CLOSED") return;
    const queue = this.#queue;
    this.#queue = [];
    for (let i = 0; i < queue.length; i += MAX_MESSAGES_PER_FRAME) {
      this.#writeBatch(queue.slice(i, i + MAX_MESSAGES_PER_FRAME));
    }
  }

  /** Writes `batch` as one frame, halving it while the frame would exceed the limit. */
  #writeBatch(batch: Message[]): void {
    const frame = encodeFrame(batch);
    if (frame.byteLength <= this.#maxFrameBytes) {
      this.#side.write(frame);
      return;
    }
    if (batch.length > 1) {
      const half = Math.ceil(batch.length / 2);
      this.#writeBatch(batch.slice(0, half));
      this.#writeBatch(batch.slice(half));
      return;
    }
    const [message] = batch;
    const err = new FrameError(
      `Message ${message!.t} is too large for one frame: ${frame.byteLength} bytes, the limit is ${this.#maxFrameBytes}; send large data over HTTP`,
    );
    const pending = message!.id === undefined ? undefined : this.#pending.get(message!.id);
    if (pending === undefined) {
      this.onSendError(err);
      return;
    }
    this.#pending.delete(message!.id!);
    clearTimeout(pending.timer);
    pending.reject(err);
  }
}

function remoteError(message: Message): RemoteError {
  const code = typeof message.code === "string" ? message.code : "ERR_RAYTS";
  const text = typeof message.message === "string" ? message.message : "The peer answered with an error";
  return new RemoteError(code, text);
}

function unknownType(t: string): UnknownMessageError {
  return new UnknownMessageError(`Unknown message type: ${t}; this process does not handle it`);
}
