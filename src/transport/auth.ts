/**
 * The Hono middleware that puts every route (HTTP and the WebSocket upgrade) behind the cluster
 * token. A request without the right token gets 401 before any handler runs, so it changes nothing.
 */
import type { MiddlewareHandler } from "hono";
import { tokenOf, tokensEqual } from "./token.ts";

/** Middleware answering 401 unless the request carries `token` (header or `token` query parameter). */
export function requireToken(token: string): MiddlewareHandler {
  return async (c, next) => {
    const given = tokenOf(c.req.raw);
    if (given === undefined || !tokensEqual(given, token)) {
      const error =
        given === undefined
          ? "Unauthorized: the request carries no cluster token; send Authorization: Bearer TOKEN (the token rayts head printed)"
          : "Unauthorized: wrong cluster token; use the token rayts head printed (--token or RAYTS_TOKEN)";
      return c.json({ error, code: "ERR_UNAUTHORIZED" }, 401, { "WWW-Authenticate": 'Bearer realm="rayts"' });
    }
    await next();
  };
}
