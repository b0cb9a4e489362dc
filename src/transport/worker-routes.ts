/**
 * `GET /workers` (behind the cluster token like every route): debug counters of the node's Worker
 * boots (`BootStats`: the limit, booting and waiting now, the most ever booting at once, started so
 * far) and how many workers it has, which the tests read.
 *
 * @example
 * startTransportServer({ ..., routes: (app) => workerRoutes(app, () => node.pool) });
 */
import type { Hono } from "hono";
import type { BootStats } from "../worker/boot-gate.ts";

/** What the route serves: a node's worker pool. */
export interface WorkerSource {
  readonly boots: BootStats;
  readonly size: number;
}

/** Adds the route; `source()` is the node's pool, or undefined while the node is not running. */
export function workerRoutes(app: Hono, source: () => WorkerSource | undefined): void {
  app.get("/workers", (c) => {
    const src = source();
    if (src === undefined) return c.json({ error: "This node is not running", code: "ERR_INTERNAL" }, 503);
    return c.json({ workers: src.size, ...src.boots });
  });
}
