/**
 * The entry of the Worker that holds a driver's control WebSocket (see `thread-peer.ts`). It only
 * moves frames: the peer logic (batching, requests, errors) stays on the main thread.
 *
 * Why a thread of its own: Bun's WebSocket client keeps the process alive for as long as it is open
 * and cannot be unref'd, while a Worker can. A driver script must end once its own work is done,
 * exactly as it does on the embedded cluster.
 */

declare const self: Worker;

/** What the main thread sends: open once, then frames (ArrayBuffer), then close. */
export type ToSocketThread =
  | { readonly t: "open"; readonly url: string; readonly headers: Record<string, string> }
  | { readonly t: "close"; readonly code: number; readonly reason: string };

/** What this thread answers: open, received frames (ArrayBuffer), then close. */
export type FromSocketThread =
  | { readonly t: "open" }
  | { readonly t: "close"; readonly code: number; readonly reason: string; readonly opened: boolean };

let ws: WebSocket | undefined;
let opened = false;

self.onmessage = (event: MessageEvent) => {
  const data = event.data as ToSocketThread | ArrayBuffer | Uint8Array;
  if (data instanceof ArrayBuffer || data instanceof Uint8Array) {
    ws?.send(data);
    return;
  }
  if (data.t === "open") {
    ws = new WebSocket(data.url, { headers: data.headers });
    ws.binaryType = "arraybuffer";
    ws.addEventListener("open", () => {
      opened = true;
      self.postMessage({ t: "open" } satisfies FromSocketThread);
    });
    ws.addEventListener("message", (e) => {
      const frame = e.data as ArrayBuffer | string;
      if (typeof frame === "string") self.postMessage(frame);
      else self.postMessage(frame, [frame]);
    });
    ws.addEventListener("close", (e) => {
      self.postMessage({ t: "close", code: e.code, reason: e.reason, opened } satisfies FromSocketThread);
    });
    ws.addEventListener("error", () => {
      // The close event follows with the details.
    });
  } else if (data.t === "close") {
    ws?.close(data.code, data.reason);
  }
};
