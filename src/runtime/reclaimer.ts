/**
 * Runs a callback once an object is garbage collected, and can also find the dead ones on demand.
 * A FinalizationRegistry alone only reports deaths in a later task; when the object store is full,
 * `put` is synchronous and must free memory now, so after a forced GC `sweep()` checks WeakRefs
 * (which a full collection clears at once) and runs the callbacks of every dead target. Either path
 * runs each callback exactly once.
 */
export interface Tracked {
  readonly weak: WeakRef<object>;
  readonly onDead: () => void;
  done: boolean;
}

export class Reclaimer {
  readonly #live = new Set<Tracked>();
  readonly #registry = new FinalizationRegistry<Tracked>((t) => this.#fire(t));

  /** Calls `onDead` once `target` is collected (or swept dead). */
  track(target: object, onDead: () => void): Tracked {
    const t: Tracked = { weak: new WeakRef(target), onDead, done: false };
    this.#live.add(t);
    // No unregister token: JSC makes each finalization with a token cost O(registrations), so an
    // explicitly settled entry simply stays registered and its later callback finds it done.
    this.#registry.register(target, t);
    return t;
  }

  /** Runs the callback now (explicit release) instead of at collection. */
  settle(t: Tracked): void {
    this.#fire(t);
  }

  /** Runs the callbacks of targets already collected; returns how many. Call after `Bun.gc(true)`. */
  sweep(): number {
    let n = 0;
    for (const t of this.#live) {
      if (t.weak.deref() !== undefined) continue;
      this.#fire(t);
      n++;
    }
    return n;
  }

  get size(): number {
    return this.#live.size;
  }

  #fire(t: Tracked): void {
    if (t.done) return;
    t.done = true;
    this.#live.delete(t);
    t.onDead();
  }
}

/** This thread's reclaimer (refs and zero-copy views register here). */
export const reclaimer = new Reclaimer();
