/**
 * Paces Worker boots on a node [Ray's `maximum_startup_concurrency`]: at most `limit` Workers boot
 * at once, a Worker counting as booting from `new Worker` until it reports ready (its first message,
 * `ready`, posted once it has run the node's init). Booting a Bun Worker is CPU work (a JS engine
 * and the entry module); a thousand actors created at once would otherwise boot a thousand threads
 * together and starve the node's main thread, heartbeats included, on a small machine.
 *
 * Workers beyond the limit wait in one FIFO queue, task workers and actor workers alike, and boot in
 * the order they were asked for as earlier boots finish. One queue rather than a share reserved for
 * tasks: a task worker asked for after a flood of actors waits for the boots ahead of it, never for
 * actors asked for after it, so it cannot starve; and tasks rarely need a new worker at all (idle
 * task workers are reused). Messages for a waiting worker queue in its `WorkerProc` until it boots.
 * A worker that goes away while waiting (a killed actor) leaves the queue without booting; one that
 * exits, fails (an error before it is ready) or is terminated while booting frees its slot.
 *
 * @example
 * const gate = new BootGate(startupConcurrency(process.env.RAYTS_MAX_STARTUP_CONCURRENCY));
 * gate.admit(proc); // boots now, or once a slot frees
 */
import { availableParallelism } from "node:os";
import { RaytsError } from "../errors.ts";
import { takeWorker } from "./warm-workers.ts";
import type { WorkerProc } from "./worker-proc.ts";

/** The environment variable that overrides the default limit. */
export const STARTUP_CONCURRENCY_ENV = "RAYTS_MAX_STARTUP_CONCURRENCY";

/** The default limit: the machine's cores, at least 2. */
export function defaultStartupConcurrency(): number {
  return Math.max(2, availableParallelism());
}

/**
 * The limit from `value` (the environment variable's text; unset or empty: the default). Throws a
 * `RaytsError` that says what to set for anything but a whole number of at least 1.
 */
export function startupConcurrency(value: string | undefined): number {
  if (value === undefined || value.trim() === "") return defaultStartupConcurrency();
  const n = Number(value.trim());
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new RaytsError(
      `${STARTUP_CONCURRENCY_ENV} must be a whole number of at least 1 (Workers a node boots at once): got ${JSON.stringify(value)}; set it to e.g. ${defaultStartupConcurrency()}, or unset it for the default (the number of CPUs, at least 2)`,
    );
  }
  return n;
}

/** Debug counters of a node's Worker boots (served by `GET /workers`, read by the tests). */
export interface BootStats {
  /** How many Workers may boot at once. */
  readonly startupConcurrency: number;
  /** Workers booting now. */
  readonly booting: number;
  /** Workers waiting for a slot to boot. */
  readonly waiting: number;
  /** The most Workers ever booting at once on this node. */
  readonly maxBooting: number;
  /** Workers started (`new Worker`, or a pre-started one adopted) since the node started. */
  readonly started: number;
}

export class BootGate {
  readonly limit: number;
  readonly #start: () => Worker;
  readonly #booting = new Set<WorkerProc>();
  /** Insertion-ordered: the first is the oldest. */
  readonly #waiting = new Set<WorkerProc>();
  #maxBooting = 0;
  #started = 0;

  /** `start` makes a Worker (default: a pre-started one or a new one of the worker entry). */
  constructor(limit: number, start: () => Worker = takeWorker) {
    this.limit = limit;
    this.#start = start;
  }

  get stats(): BootStats {
    return {
      startupConcurrency: this.limit,
      booting: this.#booting.size,
      waiting: this.#waiting.size,
      maxBooting: this.#maxBooting,
      started: this.#started,
    };
  }

  /** Boots `w` now when a slot is free, else once the workers queued before it have booted. */
  admit(w: WorkerProc): void {
    if (this.#booting.size < this.limit && this.#waiting.size === 0) this.#boot(w);
    else this.#waiting.add(w);
  }

  /** `w` is gone (exited, terminated, or dropped while waiting): its place or slot is freed. */
  leave(w: WorkerProc): void {
    if (this.#waiting.delete(w)) return;
    if (this.#booting.delete(w)) this.#next();
  }

  /** Forgets every worker (the node is closing). */
  clear(): void {
    this.#waiting.clear();
    this.#booting.clear();
  }

  #boot(w: WorkerProc): void {
    this.#booting.add(w);
    this.#started++;
    if (this.#booting.size > this.#maxBooting) this.#maxBooting = this.#booting.size;
    let worker: Worker;
    try {
      worker = this.#start();
    } catch (err) {
      // No thread could be made (resources exhausted): the worker fails as one that exited at once.
      this.#booting.delete(w);
      queueMicrotask(() => {
        w.failBoot(`Cannot start a Worker: ${err instanceof Error ? err.message : String(err)}`);
        this.#next();
      });
      return;
    }
    w.boot(worker, () => this.#ready(w));
  }

  #ready(w: WorkerProc): void {
    if (this.#booting.delete(w)) this.#next();
  }

  #next(): void {
    while (this.#booting.size < this.limit) {
      const first = this.#waiting.values().next();
      if (first.done === true) return;
      this.#waiting.delete(first.value);
      this.#boot(first.value);
    }
  }
}
