/**
 * Streams of generator tasks: the node keeps each item alive until its consumer has moved past it,
 * and answers `streamNext` as items arrive. A retried generator re-yields from the start; items the
 * stream already has are dropped, as in Ray.
 */
import type { ObjectStore } from "../store/object-store.ts";
import { objectIdFor } from "./ids.ts";
import type { StreamStep } from "./node-api.ts";
import type { Payload } from "./protocol.ts";

interface Stream {
  readonly items: string[];
  done: boolean;
  /** Items before this index were handed to the consumer and released by the stream. */
  released: number;
  waiters: Array<() => void>;
}

export class StreamTable {
  readonly #store: ObjectStore;
  readonly #streams = new Map<string, Stream>();

  constructor(store: ObjectStore) {
    this.#store = store;
  }

  open(taskId: string, _consumer: number): void {
    this.#streams.set(taskId, { items: [], done: false, released: 0, waiters: [] });
  }

  /** Item `index` (1-based) arrived. */
  push(
    taskId: string,
    index: number,
    payload: Payload,
    err: boolean,
    contained: readonly string[] | undefined,
  ): boolean {
    const s = this.#streams.get(taskId);
    if (s === undefined || s.done || index <= s.items.length) return false;
    const id = objectIdFor(taskId, index);
    this.#store.expect(id);
    this.#store.addRef(id);
    this.#store.seal(id, { payload, err }, contained);
    s.items.push(id);
    this.#wake(s);
    return true;
  }

  close(taskId: string): void {
    const s = this.#streams.get(taskId);
    if (s === undefined) return;
    s.done = true;
    this.#wake(s);
  }

  /** Ends the stream with an error item (the task failed or was cancelled). */
  fail(taskId: string, payload: Payload): void {
    const s = this.#streams.get(taskId);
    if (s === undefined || s.done) return;
    this.push(taskId, s.items.length + 1, payload, true, undefined);
    s.done = true;
    this.#wake(s);
  }

  /** The consumer asks for item `index` (0-based): it has taken every item before it. */
  next(taskId: string, index: number): Promise<StreamStep> | StreamStep {
    const s = this.#streams.get(taskId);
    if (s === undefined) return { done: true };
    this.#releaseUpTo(s, index);
    const step = this.#step(s, index);
    if (step !== undefined) return step;
    return new Promise((resolve) => {
      const check = () => {
        const st = this.#step(s, index);
        if (st === undefined) s.waiters.push(check);
        else resolve(st);
      };
      s.waiters.push(check);
    });
  }

  /** The consumer dropped the generator: release what it never took. */
  drop(taskId: string): void {
    const s = this.#streams.get(taskId);
    if (s === undefined) return;
    this.#releaseUpTo(s, s.items.length);
    if (s.done) this.#streams.delete(taskId);
    else s.waiters.length = 0;
  }

  #step(s: Stream, index: number): StreamStep | undefined {
    if (index < s.items.length) return { id: s.items[index] as string };
    if (s.done) return { done: true };
    return undefined;
  }

  #releaseUpTo(s: Stream, index: number): void {
    while (s.released < index && s.released < s.items.length) {
      this.#store.removeRef(s.items[s.released] as string);
      s.released++;
    }
  }

  #wake(s: Stream): void {
    const ws = s.waiters;
    s.waiters = [];
    for (const w of ws) w();
  }
}
