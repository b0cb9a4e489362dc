/**
 * A reference to an immutable object in the cluster. Returned by `put` and `.remote()`; resolve it
 * with `get`. Deliberately not thenable, so async functions can return refs.
 *
 * The runtime attaches reference counting through {@link ObjectRef.tracker}: every live instance
 * holds one count that is released when the instance is garbage collected or disposed.
 */
export class ObjectRef<T = unknown> {
  /** Object id, hex. */
  readonly id: string;
  /** Address of the owner (the process that created it); "" for the embedded cluster. */
  readonly owner: string;
  /** Phantom field so `ObjectRef<number>` and `ObjectRef<string>` stay distinct types. */
  declare readonly __type?: T;
  #released = false;
  readonly #token: unknown;

  /** Hooks installed by the runtime; the default does nothing (plain values in unit tests). */
  static tracker: RefTracker = { acquire: () => undefined, release() {} };

  constructor(id: string, owner = "") {
    this.id = id;
    this.owner = owner;
    this.#token = ObjectRef.tracker.acquire(this);
  }

  /** Releases this instance's reference now instead of at garbage collection. */
  [Symbol.dispose](): void {
    if (this.#released) return;
    this.#released = true;
    ObjectRef.tracker.release(this, this.#token);
  }

  /** True once `Symbol.dispose` ran on this instance. */
  get released(): boolean {
    return this.#released;
  }

  toString(): string {
    return `ObjectRef(${this.id})`;
  }

  toJSON(): string {
    return this.toString();
  }
}

/** How the runtime counts live `ObjectRef` instances. */
export interface RefTracker {
  /** Counts a new instance; the returned token comes back to `release`. */
  acquire(ref: ObjectRef<unknown>): unknown;
  release(ref: ObjectRef<unknown>, token: unknown): void;
}
