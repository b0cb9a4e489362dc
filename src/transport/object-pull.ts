/**
 * The client side of object transfer over HTTP (`object-routes.ts` serves it): pulling an object
 * from another node straight into a block of this node's store, and pushing a local block into a
 * block of another node's store. Bodies stream in chunks; no side holds a whole object in the JS
 * heap.
 *
 * @example
 * const off = await pullObject(store, "127.0.0.1:41234", token, id, size);
 * store.seal(id, { payload: { t: 1, off, size }, err: false }, undefined);
 */
import { RaytsError } from "../errors.ts";
import { receiveHttpInto } from "../store/native-transfer.ts";
import type { ObjectStore } from "../store/object-store.ts";
import type { ShmArena } from "../store/shm-arena.ts";
import { authHeaders } from "./token.ts";

/** An object could not be moved between nodes (connection lost, short body, refused request). */
export class ObjectTransferError extends RaytsError {}

/**
 * Streams `body` into `[off, off + size)` of the store's arena as chunks arrive. Throws
 * ObjectTransferError when the body is shorter or longer than `size` or the stream fails.
 */
export async function readBodyInto(
  body: ReadableStream<Uint8Array>,
  store: ObjectStore,
  off: number,
  size: number,
  what: string,
): Promise<void> {
  await readBodyIntoView(body, arenaOf(store, what).slice(off, size), what);
}

/** The store's shm arena, or an ObjectTransferError saying that this node has none. */
function arenaOf(store: ObjectStore, what: string): ShmArena {
  const arena = store.arena;
  if (arena === undefined) throw new ObjectTransferError(`${what}: this node has no shared memory`);
  return arena;
}

/**
 * Streams `body` into `dest` (a view of exactly the expected size: a shm block, or plain memory) as
 * chunks arrive. Throws ObjectTransferError when the body is shorter or longer, or the stream fails.
 */
async function readBodyIntoView(
  body: ReadableStream<Uint8Array>,
  dest: Uint8Array,
  what: string,
): Promise<void> {
  const size = dest.byteLength;
  const reader = body.getReader();
  let pos = 0;
  try {
    for (;;) {
      let r: Awaited<ReturnType<typeof reader.read>>;
      try {
        r = await reader.read();
      } catch (err) {
        throw new ObjectTransferError(
          `${what}: the connection failed after ${pos} of ${size} bytes: ${err instanceof Error ? err.message : String(err)}`,
          { cause: err },
        );
      }
      if (r.done) break;
      const chunk = r.value;
      if (pos + chunk.byteLength > size) {
        throw new ObjectTransferError(`${what}: the body is longer than the expected ${size} bytes`);
      }
      dest.set(chunk, pos);
      pos += chunk.byteLength;
    }
  } finally {
    reader.releaseLock();
  }
  if (pos !== size) {
    throw new ObjectTransferError(`${what}: the body ended after ${pos} of ${size} bytes`);
  }
}

/**
 * Sends one request of an object transfer (`what` names it in errors): a network failure or a
 * refused request (its status and body) is an ObjectTransferError.
 */
async function requestObject(url: string, init: RequestInit, what: string): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new ObjectTransferError(`${what} failed: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  if (!res.ok) {
    const text = await res.text().catch(() => "");
    throw new ObjectTransferError(`${what} failed: HTTP ${res.status} ${text}`);
  }
  return res;
}

/** `GET /objects/:id` from the node at `address`: the response's body, or ObjectTransferError. */
async function getObjectBody(
  address: string,
  token: string,
  id: string,
  what: string,
): Promise<ReadableStream<Uint8Array>> {
  const res = await requestObject(
    `http://${address}/objects/${encodeURIComponent(id)}`,
    { headers: authHeaders(token) },
    what,
  );
  if (res.body === null) throw new ObjectTransferError(`${what} failed: HTTP ${res.status} without a body`);
  return res.body;
}

/**
 * Objects at least this large are received by the store's native thread (`ShmArena.receiveHttp`),
 * smaller ones through `fetch` (a thread per transfer costs more than it saves on a small body).
 */
const NATIVE_PULL_BYTES = 1024 * 1024;

/** How long a native pull waits without receiving a byte before it gives up. */
const PULL_IDLE_LIMIT_MS = 60_000;

/** `host:port` (or `[v6]:port`) split for the native client. */
function splitAddress(address: string): { host: string; port: string } {
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(address);
  if (m === null) throw new ObjectTransferError(`Invalid node address ${address}: expected host:port`);
  return { host: m[1] as string, port: m[2] as string };
}

/**
 * Receives `GET /objects/:id` from `address` on the native thread: into `[off, off + size)` of the
 * store's arena, or into `into` (memory of this process) for a process without a store.
 */
async function pullNative(
  address: string,
  token: string,
  id: string,
  dest: { store: ObjectStore; off: number; size: number } | { into: Uint8Array },
  what: string,
): Promise<void> {
  // The token goes into a header line: a control character in it could end the line early.
  if ([...token].some((ch) => ch < " " || ch === "\x7f")) {
    throw new ObjectTransferError(`${what}: the token has control characters`);
  }
  const { host, port } = splitAddress(address);
  const request =
    `GET /objects/${encodeURIComponent(id)} HTTP/1.1\r\nHost: ${address}\r\n` +
    `Authorization: Bearer ${token}\r\nConnection: close\r\n\r\n`;
  const r =
    "into" in dest
      ? await receiveHttpInto(host, port, request, dest.into, PULL_IDLE_LIMIT_MS)
      : await arenaOf(dest.store, what).receiveHttp(
          host,
          port,
          request,
          dest.off,
          dest.size,
          PULL_IDLE_LIMIT_MS,
        );
  if (!r.ok) throw new ObjectTransferError(`${what} failed: ${r.message}`);
}

/**
 * Pulls object `id` (`size` bytes) from the node at `address` (`host:port`) into a new shm block of
 * `store` and returns its offset; the caller seals it. On any failure the block is freed and an
 * ObjectTransferError (or ObjectStoreFullError) is thrown.
 */
export async function pullObject(
  store: ObjectStore,
  address: string,
  token: string,
  id: string,
  size: number,
): Promise<number> {
  const what = `Pulling object ${id} from ${address}`;
  if (size >= NATIVE_PULL_BYTES && store.arena !== undefined) {
    const t0 = performance.now();
    const off = store.allocShm(size);
    try {
      await pullNative(address, token, id, { store, off, size }, what);
      require("node:fs").appendFileSync(
        "/tmp/xfer.log",
        `XFER pid=${process.pid} off=${off} ms=${(performance.now() - t0).toFixed(1)} used=${store.arena?.stats().used} at=${Date.now() % 100000}\n`,
      );
    } catch (err) {
      store.freeShm(off);
      throw err;
    }
    return off;
  }
  const body = await getObjectBody(address, token, id, what);
  let off: number;
  try {
    off = store.allocShm(size);
  } catch (err) {
    // No room here: end the response so the serving node unpins its block.
    await body.cancel().catch(() => {});
    throw err;
  }
  try {
    await readBodyInto(body, store, off, size, what);
  } catch (err) {
    store.freeShm(off);
    await body.cancel().catch(() => {});
    throw err;
  }
  return off;
}

/**
 * Pushes `bytes` (a view of a local block, kept alive by the caller until this settles) into a new
 * shm block on the node at `address` as object `id`; returns the block's offset there. The caller
 * then registers it there with `putObject` (a shm payload at that offset).
 */
export async function pushObject(
  address: string,
  token: string,
  id: string,
  bytes: Uint8Array,
): Promise<number> {
  const what = `Pushing object ${id} to ${address}`;
  const res = await requestObject(
    `http://${address}/objects/${encodeURIComponent(id)}`,
    {
      method: "PUT",
      headers: {
        ...authHeaders(token),
        "Content-Type": "application/octet-stream",
        "Content-Length": String(bytes.byteLength),
      },
      body: bytes,
    },
    what,
  );
  const text = await res.text();
  const answer = JSON.parse(text) as { off?: unknown };
  if (typeof answer.off !== "number") throw new ObjectTransferError(`${what}: malformed answer ${text}`);
  return answer.off;
}

/**
 * Pulls object `id` (`size` bytes) from the node at `address` into memory: for a process that has
 * no attached store to pull into (a driver on another machine). A body of 1 MiB or more is received
 * by the native thread straight into the result. Throws ObjectTransferError on a refused request,
 * a dropped connection or a body of the wrong length.
 */
export async function pullObjectBytes(
  address: string,
  token: string,
  id: string,
  size: number,
): Promise<Uint8Array> {
  const what = `Pulling object ${id} from ${address}`;
  const out = new Uint8Array(size);
  if (size >= NATIVE_PULL_BYTES) {
    await pullNative(address, token, id, { into: out }, what);
    return out;
  }
  const body = await getObjectBody(address, token, id, what);
  await readBodyIntoView(body, out, what);
  return out;
}

/** One request of a node to an object's owner (or, for `free`, of the owner to a holder). */
export interface OwnerOp {
  /**
   * `borrow`/`release`: the sender starts/stops referencing the object; `holder`/`unholder`: the
   * sender has a copy / dropped its copy; `locate`: where are copies; `free`: (owner → holder) the
   * object is gone, drop the copy.
   */
  readonly op: "borrow" | "release" | "holder" | "unholder" | "locate" | "free";
  readonly id: string;
}

/** The answer to one {@link OwnerOp}. */
export interface OwnerOpResult {
  /** The owner no longer has the object (freed, or never existed). */
  readonly lost?: boolean;
  /** With `lost`: the dead node that held its last copy. */
  readonly lostWith?: string;
  /** `locate`: not sealed anywhere yet; ask again later. */
  readonly pending?: boolean;
  /** `locate`: addresses of nodes with a copy. */
  readonly holders?: readonly string[];
  readonly size?: number;
  readonly inline?: boolean;
  readonly err?: boolean;
  /** The request was refused. */
  readonly error?: string;
}

const OPS = new Set(["borrow", "release", "holder", "unholder", "locate", "free"]);

/** Checks the body of `POST /objects/ops`; throws a TypeError naming what is wrong. */
export function parseOwnerOps(body: unknown): { from: string; ops: OwnerOp[] } {
  const b = body as { from?: unknown; ops?: unknown } | null;
  if (b === null || typeof b !== "object") throw new TypeError("expected a JSON object { from, ops }");
  if (typeof b.from !== "string" || b.from.length === 0 || b.from.length > 300) {
    throw new TypeError("from must be the sender's address (host:port)");
  }
  if (!Array.isArray(b.ops) || b.ops.length > 100_000) throw new TypeError("ops must be an array");
  for (const [i, op] of b.ops.entries()) {
    const o = op as { op?: unknown; id?: unknown } | null;
    if (o === null || typeof o !== "object" || typeof o.op !== "string" || !OPS.has(o.op)) {
      throw new TypeError(`ops[${i}].op must be one of ${[...OPS].join(", ")}`);
    }
    if (typeof o.id !== "string" || o.id.length === 0 || o.id.length > 200) {
      throw new TypeError(`ops[${i}].id must be an object id`);
    }
  }
  return { from: b.from, ops: b.ops as OwnerOp[] };
}

/**
 * Sends {@link OwnerOp}s to one node, in order: the ops of one turn go as one `POST /objects/ops`,
 * and a batch leaves only once the one before it was answered, so a `release` can never overtake
 * the `borrow` before it.
 */
export class OwnerClient {
  readonly #address: string;
  readonly #token: string;
  readonly #from: string;
  #queue: Array<{ op: OwnerOp; resolve: (r: OwnerOpResult) => void; reject: (e: unknown) => void }> = [];
  #busy = false;
  #closed = false;
  #idle: Array<() => void> = [];

  constructor(address: string, token: string, from: string) {
    this.#address = address;
    this.#token = token;
    this.#from = from;
  }

  send(op: OwnerOp): Promise<OwnerOpResult> {
    if (this.#closed) return Promise.reject(new ObjectTransferError("the node is stopping"));
    return new Promise((resolve, reject) => {
      this.#queue.push({ op, resolve, reject });
      if (!this.#busy) {
        this.#busy = true;
        queueMicrotask(() => void this.#drain());
      }
    });
  }

  close(): void {
    this.#closed = true;
    for (const q of this.#queue.splice(0)) q.reject(new ObjectTransferError("the node is stopping"));
    for (const wake of this.#idle.splice(0)) wake();
  }

  /** Resolves once every op sent so far has been answered (or failed). */
  idle(): Promise<void> {
    if (!this.#busy || this.#closed) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0 && !this.#closed) {
      const batch = this.#queue;
      this.#queue = [];
      try {
        const res = await fetch(`http://${this.#address}/objects/ops`, {
          method: "POST",
          headers: { ...authHeaders(this.#token), "Content-Type": "application/json" },
          body: JSON.stringify({ from: this.#from, ops: batch.map((b) => b.op) }),
        });
        const text = await res.text();
        if (!res.ok)
          throw new ObjectTransferError(`POST /objects/ops at ${this.#address}: HTTP ${res.status} ${text}`);
        const results = JSON.parse(text) as OwnerOpResult[];
        for (const [i, b] of batch.entries()) b.resolve(results[i] ?? { error: "no answer" });
      } catch (err) {
        const e =
          err instanceof ObjectTransferError
            ? err
            : new ObjectTransferError(
                `Object requests to ${this.#address} failed: ${err instanceof Error ? err.message : String(err)}`,
                { cause: err },
              );
        for (const b of batch) b.reject(e);
      }
    }
    this.#busy = false;
    for (const wake of this.#idle.splice(0)) wake();
  }
}
