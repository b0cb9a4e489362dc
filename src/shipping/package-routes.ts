/**
 * Job packages over HTTP (behind the cluster token like every route), served by the head and every
 * node from the archives in its environment cache (see `package-cache.ts`):
 * - `HEAD /packages/:hash`: 200 when this node holds the archive, else 404 (drivers ask before
 *   uploading, so a package is uploaded once);
 * - `GET /packages/:hash` streams the archive (nodes fetch it by hash);
 * - `PUT /packages/:hash` with a `Content-Length` of at most the package limit streams the body into
 *   the archive of that hash.
 *
 * @example
 * startTransportServer({ ..., routes: (app) => packageRoutes(app, log) });
 */
import { existsSync } from "node:fs";
import type { Context, Hono } from "hono";
import { PACKAGE_MAX_BYTES } from "./job-package.ts";
import { archivePath, isPackageHash, storeArchive } from "./package-cache.ts";

function badHash(c: Context, hash: string): Response {
  return c.json(
    {
      error: `Invalid package hash ${JSON.stringify(hash.slice(0, 80))}: expected hex digits`,
      code: "ERR_BAD_REQUEST",
    },
    400,
  );
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Adds the package routes; `log` writes one line per received package. */
export function packageRoutes(app: Hono, log: (line: string) => void): void {
  app.on(["GET", "HEAD"], "/packages/:hash", (c) => {
    const hash = c.req.param("hash");
    if (!isPackageHash(hash)) return badHash(c, hash);
    const file = archivePath(hash);
    if (!existsSync(file)) {
      return c.json({ error: `This node holds no job package ${hash}`, code: "ERR_PACKAGE_NOT_FOUND" }, 404);
    }
    const body = Bun.file(file);
    const headers = { "Content-Type": "application/gzip", "Content-Length": String(body.size) };
    return new Response(c.req.method === "HEAD" ? null : body, { headers });
  });

  app.put("/packages/:hash", async (c) => {
    const hash = c.req.param("hash");
    if (!isPackageHash(hash)) return badHash(c, hash);
    const size = Number(c.req.header("content-length"));
    if (!Number.isSafeInteger(size) || size <= 0) {
      return c.json({ error: "PUT /packages/:hash needs a Content-Length", code: "ERR_BAD_REQUEST" }, 411);
    }
    if (size > PACKAGE_MAX_BYTES) {
      return c.json(
        {
          error: `A job package of ${size} bytes is over the ${PACKAGE_MAX_BYTES}-byte limit; ship less (.gitignore, runtimeEnv.workingDir)`,
          code: "ERR_PACKAGE_TOO_LARGE",
        },
        413,
      );
    }
    const body = c.req.raw.body;
    if (body === null) {
      return c.json({ error: "PUT /packages/:hash without a body", code: "ERR_BAD_REQUEST" }, 400);
    }
    try {
      await storeArchive(hash, body, size);
    } catch (err) {
      return c.json(
        {
          error: `Upload of job package ${hash} failed: ${err instanceof Error ? err.message : String(err)}`,
          code: "ERR_BAD_REQUEST",
        },
        400,
      );
    }
    const root = safeDecode(c.req.header("x-rayts-package-root") ?? "");
    log(`Received job package ${hash} (${size} bytes${root === "" ? "" : `, ${root}`})`);
    return c.json({ hash, size });
  });
}
