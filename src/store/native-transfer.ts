/**
 * Object transfer by the native library's thread (`native/rayts_fetch.c`): one HTTP/1.1 GET whose
 * body the thread receives straight into memory (a block of a shm segment, see
 * `ShmArena.receiveHttp`, or a buffer of this process, see {@link receiveHttpInto}), while the event
 * loop only polls for the end.
 */
import { CString, type Pointer, ptr } from "bun:ffi";
import { asPointer, type NativeStore, nativeStore } from "./native-lib.ts";

/** How a native transfer ended: `status` is the HTTP status (0 if none arrived). */
export interface HttpReceipt {
  ok: boolean;
  status: number;
  message: string;
}

/** `rs_fetch_state` values (`native/rayts_fetch.h`). */
const FETCH_RUNNING = 0;
const FETCH_DONE = 1;

/** Native transfers still running on this thread, with who waits for each. */
const transfers = new Map<Pointer, { lib: NativeStore; done: (r: HttpReceipt) => void }>();
let polling = false;

/**
 * Waits for native transfer `f` to end, then reads its outcome and frees it. One poller serves all
 * of this thread's transfers (every millisecond while any runs), so many at once cost no more
 * wake-ups than one.
 */
export function watchTransfer(lib: NativeStore, f: Pointer, done: (r: HttpReceipt) => void): void {
  transfers.set(f, { lib, done });
  if (polling) return;
  polling = true;
  setTimeout(pollTransfers, 0);
}

function pollTransfers(): void {
  for (const [f, { lib, done }] of transfers) {
    const state = lib.rs_fetch_state(f);
    if (state === FETCH_RUNNING) continue;
    transfers.delete(f);
    const receipt: HttpReceipt = {
      ok: state === FETCH_DONE,
      status: lib.rs_fetch_http_status(f),
      message: new CString(asPointer(lib.rs_fetch_message(f))!).toString(),
    };
    lib.rs_fetch_free(f);
    done(receipt);
  }
  if (transfers.size === 0) polling = false;
  else setTimeout(pollTransfers, 1);
}

function cstring(text: string): Buffer {
  return Buffer.from(`${text}\0`);
}

/**
 * Sends `request` (a whole HTTP/1.1 GET) to `host`:`port` and receives the 200 response's body,
 * exactly `out.byteLength` bytes, straight into `out` on a native thread (for a process without a
 * store: one copy from the socket, no chunk by chunk reading). `out` stays referenced here until
 * the transfer ended, so it is neither collected nor moved meanwhile.
 */
export function receiveHttpInto(
  host: string,
  port: string,
  request: string,
  out: Uint8Array,
  idleLimitMs: number,
): Promise<HttpReceipt> {
  const lib = nativeStore();
  const dst = out.byteLength === 0 ? null : ptr(out);
  const f = asPointer(
    lib.rs_fetch_start_into(dst, cstring(host), cstring(port), cstring(request), out.byteLength, idleLimitMs),
  );
  if (f === null) {
    return Promise.resolve({ ok: false, status: 0, message: `cannot start a transfer from ${host}:${port}` });
  }
  return new Promise((resolve) =>
    watchTransfer(lib, f, (r) => {
      void out; // kept alive until here
      resolve(r);
    }),
  );
}
