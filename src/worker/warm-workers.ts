/**
 * Workers booted ahead of the node. A Bun Worker takes a few milliseconds to start; the CLI starts
 * a couple while it is still loading the user's script, and the node adopts them when it starts, so
 * a one-task script does not wait for a Worker to boot after the script asks for it. Unadopted
 * workers are unref'd: they never keep the process alive.
 */
import { WORKER_ENTRY_URL } from "./worker-url.ts";

const warm: Worker[] = [];

/** Starts `n` workers now for a node to adopt later. */
export function prewarmWorkers(n: number): void {
  for (let i = 0; i < n; i++) {
    const w = new Worker(WORKER_ENTRY_URL);
    w.unref();
    warm.push(w);
  }
}

/** A pre-started worker, or a new one. */
export function takeWorker(): Worker {
  return warm.shift() ?? new Worker(WORKER_ENTRY_URL);
}
