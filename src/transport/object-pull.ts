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
import type { ObjectStore } from "../store/object-store.ts";
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
  const arena = store.arena;
  if (arena === undefined) throw new ObjectTransferError(`${what}: this node has no shared memory`);
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
      arena.slice(off + pos, chunk.byteLength).set(chunk);
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
  let res: Response;
  try {
    res = await fetch(`http://${address}/objects/${encodeURIComponent(id)}`, { headers: authHeaders(token) });
  } catch (err) {
    throw new ObjectTransferError(`${what} failed: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  if (!res.ok || res.body === null) {
    const text = await res.text().catch(() => "");
    throw new ObjectTransferError(`${what} failed: HTTP ${res.status} ${text}`);
  }
  const off = store.allocShm(size);
  try {
    await readBodyInto(res.body, store, off, size, what);
  } catch (err) {
    store.freeShm(off);
    await res.body.cancel().catch(() => {});
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
  let res: Response;
  try {
    res = await fetch(`http://${address}/objects/${encodeURIComponent(id)}`, {
      method: "PUT",
      headers: {
        ...authHeaders(token),
        "Content-Type": "application/octet-stream",
        "Content-Length": String(bytes.byteLength),
      },
      body: bytes,
    });
  } catch (err) {
    throw new ObjectTransferError(`${what} failed: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  const text = await res.text();
  if (!res.ok) throw new ObjectTransferError(`${what} failed: HTTP ${res.status} ${text}`);
  const answer = JSON.parse(text) as { off?: unknown };
  if (typeof answer.off !== "number") throw new ObjectTransferError(`${what}: malformed answer ${text}`);
  return answer.off;
}

/**
 * Pulls object `id` (`size` bytes) from the node at `address` into memory: for a process that has
 * no attached store to pull into (a driver on another machine). Throws ObjectTransferError on a
 * refused request, a dropped connection or a body of the wrong length.
 */
export async function pullObjectBytes(
  address: string,
  token: string,
  id: string,
  size: number,
): Promise<Uint8Array> {
  const what = `Pulling object ${id} from ${address}`;
  let res: Response;
  try {
    res = await fetch(`http://${address}/objects/${encodeURIComponent(id)}`, { headers: authHeaders(token) });
  } catch (err) {
    throw new ObjectTransferError(`${what} failed: ${err instanceof Error ? err.message : String(err)}`, {
      cause: err,
    });
  }
  if (!res.ok || res.body === null) {
    const text = await res.text().catch(() => "");
    throw new ObjectTransferError(`${what} failed: HTTP ${res.status} ${text}`);
  }
  const out = new Uint8Array(size);
  let pos = 0;
  try {
    for await (const chunk of res.body) {
      if (pos + chunk.byteLength > size) {
        throw new ObjectTransferError(`${what}: the body is longer than the expected ${size} bytes`);
      }
      out.set(chunk, pos);
      pos += chunk.byteLength;
    }
  } catch (err) {
    if (err instanceof ObjectTransferError) throw err;
    throw new ObjectTransferError(
      `${what}: the connection failed after ${pos} of ${size} bytes: ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
  }
  if (pos !== size) throw new ObjectTransferError(`${what}: the body ended after ${pos} of ${size} bytes`);
  return out;
}
