/** Asking a head for {@link ClusterStatus} over HTTP (`GET /api/status`, token in the header). */
import { authHeaders } from "../transport/token.ts";
import type { ClusterStatus } from "./cluster-protocol.ts";
import { resolveAddress, resolveToken } from "./discovery.ts";

/**
 * The status of the cluster at `address` (or the discovered one), or a one-line reason why there is
 * none, saying what to do.
 */
export async function fetchStatus(
  addressFlag: string | undefined,
  tokenFlag: string | undefined,
): Promise<ClusterStatus | string> {
  const address = resolveAddress(addressFlag);
  if (address === undefined) {
    return "No cluster found: no head runs on this machine; give --address HOST:PORT or set RAYTS_ADDRESS";
  }
  const token = resolveToken(tokenFlag, address);
  if (token === undefined) {
    return `Missing token for ${address}: pass --token or set RAYTS_TOKEN to the token rayts head printed`;
  }
  let response: Response;
  try {
    response = await fetch(`http://${address}/api/status`, {
      headers: authHeaders(token),
      signal: AbortSignal.timeout(10_000),
    });
  } catch (err) {
    return `Cannot reach the head at ${address}: ${err instanceof Error ? err.message : String(err)}; check that it runs (rayts head)`;
  }
  const body = (await response.json().catch(() => undefined)) as { error?: string } | undefined;
  if (!response.ok) {
    return `The head at ${address} answered HTTP ${response.status}: ${body?.error ?? "no detail"}`;
  }
  return body as ClusterStatus;
}
