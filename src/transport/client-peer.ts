/**
 * Dialling another process: {@link connectPeer} opens the control WebSocket with the token in the
 * `Authorization` header (Bun's WebSocket client can send headers) and resolves once it is open.
 * Call {@link checkToken} first when a refused token must be told apart from an unreachable host:
 * a refused WebSocket upgrade does not tell the client why.
 */
import { DEFAULT_MAX_FRAME_BYTES } from "./frame-codec.ts";
import { FramedPeer } from "./framed-peer.ts";
import type { Peer } from "./peer.ts";
import { authHeaders } from "./token.ts";
import { PeerClosedError, UnauthorizedError } from "./transport-errors.ts";
import { SOCKET_PATH } from "./transport-server.ts";

/** Options of {@link connectPeer}. */
export interface ConnectOptions {
  readonly token: string;
  /** Give up after this long (default 10 s). */
  readonly timeoutMs?: number;
  readonly maxFrameBytes?: number;
}

/**
 * Asks `GET /api/hello` of `address` and returns its JSON. Throws {@link UnauthorizedError} (with the
 * server's reason) on 401, {@link PeerClosedError} when nothing answers.
 */
export async function checkToken(address: string, token: string, timeoutMs = 10_000): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(`http://${address}/api/hello`, {
      headers: authHeaders(token),
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    throw new PeerClosedError(
      `Cannot reach ${address}: ${err instanceof Error ? err.message : String(err)}; check the address and that the process runs`,
    );
  }
  const body: unknown = await response.json().catch(() => undefined);
  if (response.status === 401) {
    const reason = (body as { error?: unknown } | undefined)?.error;
    throw new UnauthorizedError(typeof reason === "string" ? reason : "Unauthorized: the token was refused");
  }
  if (!response.ok) throw new PeerClosedError(`Unexpected answer from ${address}: HTTP ${response.status}`);
  return body;
}

/** Opens the control socket to `address` (`host:port`). */
export function connectPeer(address: string, options: ConnectOptions): Promise<Peer> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://${address}${SOCKET_PATH}`, { headers: authHeaders(options.token) });
    ws.binaryType = "arraybuffer";
    const peer = new FramedPeer({
      remote: address,
      maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      write: (frame) => ws.send(frame),
      shut: (code, reason) => ws.close(code, reason),
    });
    let opened = false;
    const timer = setTimeout(() => {
      if (opened) return;
      ws.close();
      reject(new PeerClosedError(`Cannot connect to ${address}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.addEventListener("open", () => {
      opened = true;
      clearTimeout(timer);
      resolve(peer);
    });
    ws.addEventListener("message", (event) => peer.receive(event.data as string | ArrayBuffer));
    ws.addEventListener("close", (event) => {
      clearTimeout(timer);
      const reason = event.reason || `socket closed (${event.code})`;
      if (!opened) {
        reject(
          new PeerClosedError(`Cannot connect to ${address}: ${reason}; check the address and the token`),
        );
      }
      peer.closed(reason);
    });
    ws.addEventListener("error", () => {
      // The close event follows with the details.
    });
  });
}
