/**
 * Object bytes over HTTP between nodes (behind the cluster token like every route):
 * - `GET /objects/:id` streams a ready object's payload bytes (its shm block or its inline bytes).
 *   The block is pinned while it streams, so freeing the object meanwhile cannot reuse its memory.
 *   Unknown or not-yet-ready ids answer 404 with a JSON error.
 * - `PUT /objects/:id` with a `Content-Length` streams the body into a freshly allocated shm block and
 *   answers `{ off, size }`; the sender then registers the block under `id` with a control message
 *   (`putObject` with a shm payload), exactly as when it copies into an attached segment. A pushed
 *   block that no `putObject` claims within `RAYTS_PUSH_CLAIM_MS` (default 60 s) is freed.
 * - `POST /objects/ops` with `{ from, ops }` serves the object directory's requests (borrow,
 *   release, holder, locate, free; see `store/object-directory.ts`) and answers one result per op.
 * - `GET /objects` answers debug counters: `{ served, pulled, pushesPending, ready, shmUsed }`
 *   (bodies served from here, objects pulled into here, pushed blocks not claimed yet, ids of the
 *   values held here, bytes of the store's blocks in use).
 *
 * @example
 * startTransportServer({ ..., routes: (app) => objectRoutes(app, () => node) });
 */
import type { Hono } from "hono";
import type { ObjectDirectory } from "../store/object-directory.ts";
import type { ObjectStore } from "../store/object-store.ts";
import { parseOwnerOps, readBodyInto } from "./object-pull.ts";

/** What the routes serve: a node's store and its object directory (once it has an address). */
export interface ObjectSource {
  readonly store: ObjectStore;
  readonly objects: ObjectDirectory | undefined;
  /** Garbage-collection rounds its workers were asked for. */
  readonly gcRounds?: number;
}

/** How long a pushed block waits for its `putObject` before it is freed. */
const PUSH_CLAIM_MS =
  Number(process.env.RAYTS_PUSH_CLAIM_MS) > 0 ? Number(process.env.RAYTS_PUSH_CLAIM_MS) : 60_000;

/** Bytes per write when a block streams out of shm. */
export const OBJECT_CHUNK_BYTES = 16 << 20;

/** Adds the object routes; `source()` is the node, or undefined while it is not running. */
export function objectRoutes(app: Hono, source: () => ObjectSource | undefined): void {
  const store = () => source()?.store;
  app.get("/objects", (c) => {
    const src = source();
    if (src === undefined) return c.json({ error: "This node is not running", code: "ERR_INTERNAL" }, 503);
    return c.json({
      served: src.objects?.stats.served ?? 0,
      pulled: src.objects?.stats.pulled ?? 0,
      pushesPending: src.store.pushesPending,
      ready: src.store.readyIds(),
      shmUsed: src.store.stats().shmUsed,
      gcRounds: src.gcRounds ?? 0,
    });
  });

  app.post("/objects/ops", async (c) => {
    const dir = source()?.objects;
    if (dir === undefined) {
      return c.json({ error: "This node serves no object directory", code: "ERR_INTERNAL" }, 503);
    }
    let parsed: ReturnType<typeof parseOwnerOps>;
    try {
      parsed = parseOwnerOps(await c.req.json());
    } catch (err) {
      return c.json(
        {
          error: `Bad POST /objects/ops: ${err instanceof Error ? err.message : String(err)}`,
          code: "ERR_BAD_REQUEST",
        },
        400,
      );
    }
    return c.json(dir.serve(parsed.from, parsed.ops));
  });

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
    const dir = source()?.objects;
    if (dir !== undefined) dir.stats.served++;
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
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      s.unpin(id);
    };
    // A direct stream hands views of the block to the socket with no copy into the JS heap; every
    // write is awaited (the socket took it, or its buffer copied it), so the block is unpinned only
    // once nothing refers to it any more. A write answering 0 means the reader went away.
    const body = new ReadableStream({
      type: "direct",
      async pull(controller) {
        try {
          for (let pos = 0; pos < p.size; ) {
            const n = Math.min(OBJECT_CHUNK_BYTES, p.size - pos);
            if ((await controller.write(arena.slice(p.off + pos, n))) === 0) break;
            pos += n;
          }
          await controller.end();
        } finally {
          release();
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
    s.holdPushed(off, PUSH_CLAIM_MS);
    return c.json({ off, size });
  });
}
