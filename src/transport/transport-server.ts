/**
 * The one port of a process: Hono on `Bun.serve`, every route behind the cluster token, and `/ws`
 * upgrading to the control WebSocket, where each connection becomes a {@link Peer}.
 *
 * @example
 * const server = startTransportServer({
 *   host: "127.0.0.1", port: 0, token,
 *   onPeer: (peer) => peer.onMessage(routeMessages({ ping: () => "pong" })),
 *   routes: (app) => app.get("/api/status", (c) => c.json(status())),
 * });
 * console.log(server.address); // 127.0.0.1:41234
 */
import { Hono } from "hono";
import { getConnInfo, upgradeWebSocket, websocket } from "hono/bun";
import { advertisedHost } from "./advertised-host.ts";
import { requireToken } from "./auth.ts";
import { DEFAULT_MAX_FRAME_BYTES } from "./frame-codec.ts";
import { FramedPeer } from "./framed-peer.ts";
import type { Peer } from "./peer.ts";

/** The path of the control WebSocket. */
export const SOCKET_PATH = "/ws";

/** Largest HTTP request body: 1 PiB, i.e. no practical limit (object uploads stream). */
export const MAX_REQUEST_BODY_BYTES = 2 ** 50;

/** Options of {@link startTransportServer}. */
export interface TransportServerOptions {
  /** Interface to bind: `127.0.0.1` unless the operator asks for more. */
  readonly host: string;
  /** Port to bind; 0 picks a free one (read it back from `port`). */
  readonly port: number;
  readonly token: string;
  /** Called for each new control connection, before any of its messages is handled. */
  readonly onPeer: (peer: Peer) => void;
  /** Adds HTTP routes; they run after the token check. */
  readonly routes?: (app: Hono) => void;
  /** Largest control frame accepted (default 16 MiB). */
  readonly maxFrameBytes?: number;
}

/** A running server. */
export interface TransportServer {
  readonly host: string;
  /** The real port, also when 0 was asked for. */
  readonly port: number;
  /** `host:port`, as peers dial it (a wildcard bind advertises this machine's external address). */
  readonly address: string;
  /** Stops accepting and closes every connection. */
  stop(): Promise<void>;
}

/** Binds the port and serves. Throws when the port is taken or the host cannot be bound. */
export function startTransportServer(options: TransportServerOptions): TransportServer {
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const app = new Hono();
  app.use("*", requireToken(options.token));
  app.get(
    SOCKET_PATH,
    upgradeWebSocket((c) => {
      const info = getConnInfo(c);
      const remote = `${info.remote.address ?? "?"}:${info.remote.port ?? "?"}`;
      let peer: FramedPeer | undefined;
      return {
        onOpen(_event, ws) {
          peer = new FramedPeer({
            remote,
            maxFrameBytes,
            write: (frame) => ws.send(frame as Uint8Array<ArrayBuffer>),
            shut: (code, reason) => ws.close(code, reason),
          });
          options.onPeer(peer);
        },
        onMessage(event) {
          peer?.receive(event.data as string | ArrayBuffer);
        },
        onClose(event) {
          peer?.closed(event.reason || `socket closed (${event.code})`);
        },
        onError() {
          peer?.closed("socket error");
        },
      };
    }),
  );
  options.routes?.(app);
  app.notFound((c) =>
    c.json({ error: `Not found: ${c.req.method} ${c.req.path}`, code: "ERR_NOT_FOUND" }, 404),
  );
  app.onError((err, c) => c.json({ error: `Internal error: ${err.message}`, code: "ERR_INTERNAL" }, 500));

  const server = Bun.serve({
    hostname: options.host,
    port: options.port,
    fetch: app.fetch,
    // Objects are uploaded with streamed bodies of any size (`PUT /objects/:id`); the limit must stay
    // a number below 2^53 (a 32-bit shift overflows).
    maxRequestBodySize: MAX_REQUEST_BODY_BYTES,
    // Frames between our limit and twice it still arrive and get an error answer; bigger ones make
    // Bun close the socket (1009), which the peer sees as a closed connection.
    websocket: { ...websocket, maxPayloadLength: maxFrameBytes * 2 },
    error: (err) =>
      Response.json({ error: `Internal error: ${err.message}`, code: "ERR_INTERNAL" }, { status: 500 }),
  });
  const port = server.port ?? options.port;
  return {
    host: options.host,
    port,
    address: `${formatHost(advertisedHost(options.host))}:${port}`,
    stop: () => server.stop(true),
  };
}

function formatHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}
