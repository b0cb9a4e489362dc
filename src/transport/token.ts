/**
 * The cluster token: generated with crypto randomness, carried on every request and socket, and
 * compared in constant time so response timing does not reveal how much of a guess was right.
 */
import { createHash, timingSafeEqual } from "node:crypto";

/** A new random token: 32 bytes as 64 hex characters. */
export function generateToken(): string {
  return Buffer.from(crypto.getRandomValues(new Uint8Array(32))).toString("hex");
}

/**
 * Whether `given` equals `expected`, in time that depends on neither value. Both are hashed first, so
 * the comparison always runs over 32 bytes and a wrong length is not revealed either.
 */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash("sha256").update(given).digest();
  const b = createHash("sha256").update(expected).digest();
  return timingSafeEqual(a, b) && given.length === expected.length;
}

/**
 * The token a request carries: `Authorization: Bearer T`, else the `token` query parameter (for
 * WebSocket clients that cannot set headers, such as browsers). Undefined when there is none.
 */
export function tokenOf(request: Request): string | undefined {
  const header = request.headers.get("authorization");
  if (header !== null) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    return match?.[1];
  }
  const query = new URL(request.url).searchParams.get("token");
  return query ?? undefined;
}

/** The headers that authenticate a request or WebSocket upgrade with `token`. */
export function authHeaders(token: string): Record<string, string> {
  return { authorization: `Bearer ${token}` };
}
