/**
 * Dialling from a driver: {@link connectPeerOffThread} is {@link connectPeer} with the WebSocket held
 * by an unref'd Worker (`socket-thread.ts`), so an open connection does not keep the process alive;
 * whoever waits for an answer keeps it alive instead (the driver's pending `get`s, see
 * `runtime/keep-alive.ts`). Frames cross the thread boundary as transferred buffers; batching,
 * requests and error answers stay in the {@link FramedPeer} on the calling thread.
 */
import { workerEntrySpecifier } from "../worker/worker-url.ts";
import type { ConnectOptions } from "./client-peer.ts";
import { DEFAULT_MAX_FRAME_BYTES } from "./frame-codec.ts";
import { FramedPeer } from "./framed-peer.ts";
import type { Peer } from "./peer.ts";
import type { FromSocketThread, ToSocketThread } from "./socket-thread.ts";
import { authHeaders } from "./token.ts";
import { PeerClosedError } from "./transport-errors.ts";
import { SOCKET_PATH } from "./transport-server.ts";

const SOCKET_THREAD_URL = workerEntrySpecifier("src/transport/socket-thread.ts");

/** Opens the control socket to `address` (`host:port`) on a thread of its own. */
export function connectPeerOffThread(address: string, options: ConnectOptions): Promise<Peer> {
  const timeoutMs = options.timeoutMs ?? 10_000;
  return new Promise((resolve, reject) => {
    const thread = new Worker(SOCKET_THREAD_URL);
    thread.unref();
    const post = (m: ToSocketThread | Uint8Array) => thread.postMessage(m);
    const peer = new FramedPeer({
      remote: address,
      maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
      write: (frame) => post(frame),
      shut: (code, reason) => post({ t: "close", code, reason }),
    });
    let opened = false;
    const timer = setTimeout(() => {
      if (opened) return;
      void thread.terminate();
      reject(new PeerClosedError(`Cannot connect to ${address}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    thread.onmessage = (event: MessageEvent) => {
      const data = event.data as FromSocketThread | ArrayBuffer | string;
      if (typeof data === "string" || data instanceof ArrayBuffer) {
        peer.receive(data);
        return;
      }
      if (data.t === "open") {
        opened = true;
        clearTimeout(timer);
        resolve(peer);
        return;
      }
      clearTimeout(timer);
      void thread.terminate();
      const reason = data.reason || `socket closed (${data.code})`;
      if (!opened) {
        reject(
          new PeerClosedError(`Cannot connect to ${address}: ${reason}; check the address and the token`),
        );
      }
      peer.closed(reason);
    };
    thread.onerror = (event) => {
      clearTimeout(timer);
      void thread.terminate();
      const reason = `the socket thread failed: ${event.message}`;
      if (!opened) reject(new PeerClosedError(`Cannot connect to ${address}: ${reason}`));
      peer.closed(reason);
    };
    post({ t: "open", url: `ws://${address}${SOCKET_PATH}`, headers: authHeaders(options.token) });
  });
}
