/**
 * Garbage-collection rounds across a node's workers: each is asked to collect and release what its
 * dead refs and views held, and the round ends once every one has answered (or after a second).
 */
import type { WorkerPool } from "./worker/worker-pool.ts";
import type { WorkerProc } from "./worker/worker-proc.ts";

export class GcRounds {
  readonly #pool: WorkerPool;
  #gcRound = 0;
  readonly #gcWaiters = new Map<number, { waiting: Set<number>; done: () => void }>();

  constructor(pool: WorkerPool) {
    this.#pool = pool;
  }

  #collecting = false;
  #retry: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /**
   * One round, unless one is already under way. While `stillHeld()` (a released large object
   * still keeps its block afterwards: a collection can miss a view still on a worker's stack, or
   * one the task's context held a moment longer), up to six more rounds follow with a doubling
   * pause (0.1 s to 3.2 s); a view user code really keeps is then left alone.
   */
  collectSoon(stillHeld: () => boolean, pauseMs = 100): void {
    if (this.#collecting || this.#closed) return;
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#collecting = true;
    void this.collect().finally(() => {
      this.#collecting = false;
      if (this.#closed || pauseMs > 3200 || !stillHeld()) return;
      this.#retry = setTimeout(() => this.collectSoon(stillHeld, pauseMs * 2), pauseMs);
      this.#retry.unref?.();
    });
  }

  /** Stops the retries of {@link collectSoon} (the node is stopping). */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#retry);
  }

  /** How many rounds were started (debug counters, tests). */
  get rounds(): number {
    return this.#gcRound;
  }

  /** See {@link Node.collectWorkers}. */
  collect(): Promise<void> {
    const id = ++this.#gcRound;
    const waiting = new Set<number>();
    for (const w of this.#pool.workers()) {
      // (one still waiting to boot holds nothing, and would answer only once it booted)
      if (!w.booted) continue;
      waiting.add(w.id);
      w.send({ t: "gc", id });
    }
    if (waiting.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, 1000);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#gcWaiters.set(id, { waiting, done });
    });
  }

  /** A worker answered a garbage-collection round (see {@link collect}). */
  ack(w: WorkerProc, id: number): void {
    const round = this.#gcWaiters.get(id);
    if (round === undefined) return;
    round.waiting.delete(w.id);
    if (round.waiting.size === 0) {
      this.#gcWaiters.delete(id);
      round.done();
    }
  }
}
