/**
 * A worker-host process (`rayts __worker-host`, started by `HostWorker`): runs one Bun Worker of the
 * node in this process, whose cwd and module path are a runtime environment's, and relays messages
 * between it and the node over IPC. The node's shared-memory segment is mapped here by name.
 */
import { ShmArena } from "../store/shm-arena.ts";
import type { FromHost } from "./host-worker.ts";
import { WORKER_ENTRY_URL } from "./worker-url.ts";

type Batch = Array<{ t: string; [key: string]: unknown }>;

/** Runs until the node goes away or the worker exits; never returns. */
export function runWorkerHost(): Promise<never> {
  if (process.send === undefined) {
    console.error("rayts __worker-host is started by a node, not by hand");
    process.exit(2);
  }
  const send = (m: FromHost) => process.send?.(m);
  let arena: ShmArena | undefined;
  const worker = new Worker(WORKER_ENTRY_URL);
  worker.addEventListener("message", (e: MessageEvent) => send({ k: "m", d: e.data }));
  worker.addEventListener("error", (e: Event) => {
    const ev = e as ErrorEvent;
    const text =
      ev.error instanceof Error
        ? `${ev.error.name}: ${ev.error.message}`
        : ev.message || String(ev.error ?? "unknown error");
    send({ k: "e", text });
  });
  worker.addEventListener("close", (e: Event) => {
    const code = (e as CloseEvent).code ?? 0;
    send({ k: "c", code });
    // Let the last messages leave before the process ends.
    setTimeout(() => process.exit(code), 50);
  });
  process.on("message", (data: unknown) => {
    const batch = data as Batch;
    for (let i = 0; i < batch.length; i++) {
      const m = batch[i] as Batch[number];
      if (m.t !== "init") continue;
      if (typeof m.shmName === "string") {
        arena ??= ShmArena.attach(m.shmName);
        batch[i] = { ...m, shmHeader: arena.headerAddress };
      } else batch[i] = { ...m, shmHeader: 0 };
    }
    worker.postMessage(batch);
  });
  // The node is gone (it exited or killed us): so are we.
  process.on("disconnect", () => process.exit(0));
  return new Promise<never>(() => {});
}
