/**
 * Object bytes over HTTP between nodes (behind the cluster token like every route):
 * - `GET /objects/:id` streams a ready object's payload bytes (its shm block or its inline bytes).
 *   The block is pinned while it streams, so freeing the object meanwhile cannot reuse its memory.
 *   Unknown or not-yet-ready ids answer 404 with a JSON error.
 * - `PUT /objects/:id` with a `Content-Length` streams the body into a freshly allocated shm block and
 *   answers `{ off, size }`; the sender then registers the block under `id` with a control message
 *   (`putObject` with a shm payload), exactly as when it copies into an attached segment.
 *
 * @example
 * startTransportServer({ ..., routes: (app) => objectRoutes(app, () => node.store) });
 */
import type { Hono } from "hono";
import type { ObjectStore } from "../store/object-store.ts";
import { readBodyInto } from "./object-pull.ts";

/** Bytes per chunk streamed out of shm (each chunk is copied out, so a freed block is never read). */
export const OBJECT_CHUNK_BYTES = 1 << 20;

/** Adds the object routes; `store()` is the node's store, or undefined while it is not running. */
export function objectRoutes(app: Hono, store: () => ObjectStore | undefined): void {
  app.get("/objects/:id", (c) => {
    const id = c.req.param("id");
    const s = store();
    const v = s?.peek(id);
    if (s === undefined || v === undefined) {
      return c.json(
        { error: `Unknown object ${id}: this node holds no ready copy of it`, code: "ERR_OBJECT_NOT_FOUND" },
        404,
      );
    }
    const p = v.payload;
    const headers = { "Content-Type": "application/octet-stream", "Content-Length": "" };
    if (p.t === 0) {
      headers["Content-Length"] = String(p.bytes.byteLength);
      return new Response(p.bytes.slice(), { headers });
    }
    const arena = s.arena;
    if (arena === undefined)
      return c.json({ error: "No shared memory on this node", code: "ERR_INTERNAL" }, 500);
    headers["Content-Length"] = String(p.size);
    s.pin(id);
    let pos = 0;
    let pinned = true;
    const release = () => {
      if (!pinned) return;
      pinned = false;
      s.unpin(id);
    };
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pos >= p.size) {
          release();
          controller.close();
          return;
        }
        const n = Math.min(OBJECT_CHUNK_BYTES, p.size - pos);
        controller.enqueue(arena.slice(p.off + pos, n).slice());
        pos += n;
        if (pos >= p.size) {
          release();
          controller.close();
        }
      },
      cancel: release,
    });
    return new Response(body, { headers });
  });

  app.put("/objects/:id", async (c) => {
    const s = store();
    const size = Number(c.req.header("content-length"));
    if (!Number.isSafeInteger(size) || size < 0) {
      return c.json({ error: "PUT /objects/:id needs a Content-Length", code: "ERR_BAD_REQUEST" }, 411);
    }
    if (s === undefined) return c.json({ error: "This node is not running", code: "ERR_INTERNAL" }, 503);
    const body = c.req.raw.body;
    if (body === null && size > 0) {
      return c.json({ error: "PUT /objects/:id without a body", code: "ERR_BAD_REQUEST" }, 400);
    }
    let off: number;
    try {
      off = s.allocShm(size);
    } catch (err) {
      return c.json({ error: err instanceof Error ? err.message : String(err), code: "ERR_STORE_FULL" }, 507);
    }
    try {
      if (body !== null) await readBodyInto(body, s, off, size, `upload of object ${c.req.param("id")}`);
    } catch (err) {
      s.freeShm(off);
      return c.json(
        { error: err instanceof Error ? err.message : String(err), code: "ERR_BAD_REQUEST" },
        400,
      );
    }
    return c.json({ off, size });
  });
}
