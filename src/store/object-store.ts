/**
 * The node's object table: which objects exist, where their bytes live (inline or in the shm arena),
 * who references them, and who waits for them. Reference counting is exact: an object's memory is
 * released as soon as nothing references it (driver refs, worker-held refs, task arguments, refs
 * contained in other objects, stream items) and no zero-copy view pins its shm block.
 */
import { ObjectLostError, ObjectStoreFullError } from "../errors.ts";
import type { ObjectValue, Payload } from "../runtime/protocol.ts";
import type { ShmArena } from "./shm-arena.ts";

interface Entry {
  value: ObjectValue | undefined;
  refs: number;
  pins: number;
  contained: readonly string[] | undefined;
  waiters: Array<() => void> | undefined;
  /** Set once nothing references the object: its memory goes when the last pin does. */
  dead: boolean;
}

const MiB = 1024 * 1024;

/** Called when the arena is full, before giving up: frees what it can (GC nudge) synchronously. */
export type ReclaimHook = () => void;

export class ObjectStore {
  readonly #entries = new Map<string, Entry>();
  readonly #arena: ShmArena | undefined;
  #reclaim: ReclaimHook = () => {};
  #inlineBytes = 0;

  constructor(arena: ShmArena | undefined) {
    this.#arena = arena;
  }

  get arena(): ShmArena | undefined {
    return this.#arena;
  }

  set reclaimHook(hook: ReclaimHook) {
    this.#reclaim = hook;
  }

  /** Registers an object that a task will produce. Its first reference comes with it. */
  expect(id: string): void {
    if (!this.#entries.has(id)) {
      this.#entries.set(id, {
        value: undefined,
        refs: 0,
        pins: 0,
        contained: undefined,
        waiters: undefined,
        dead: false,
      });
    }
  }

  /** Stores a finished object and wakes its waiters. An object nobody references is dropped at once. */
  seal(id: string, value: ObjectValue, contained: readonly string[] | undefined): void {
    let e = this.#entries.get(id);
    if (e === undefined) {
      e = { value: undefined, refs: 0, pins: 0, contained: undefined, waiters: undefined, dead: false };
      this.#entries.set(id, e);
    } else if (e.value !== undefined) {
      // Sealed twice (a retried task finishing late): keep the first value, drop the second.
      this.#dropPayload(value.payload);
      return;
    }
    e.value = value;
    if (value.payload.t === 0) this.#inlineBytes += value.payload.bytes.byteLength;
    if (contained !== undefined && contained.length > 0) {
      e.contained = contained;
      for (const c of contained) this.addRef(c);
    }
    const waiters = e.waiters;
    e.waiters = undefined;
    if (waiters !== undefined) for (const w of waiters) w();
    // Waiters took what they needed (pins for shm views) synchronously; nothing else holds it.
    if (e.refs <= 0) this.#release(id, e);
  }

  /** True while the object exists (pending or ready) and is referenced. */
  has(id: string): boolean {
    const e = this.#entries.get(id);
    return e !== undefined && !e.dead;
  }

  /** The object's value if it is ready. */
  peek(id: string): ObjectValue | undefined {
    const e = this.#entries.get(id);
    return e === undefined || e.dead ? undefined : e.value;
  }

  isReady(id: string): boolean {
    return this.peek(id) !== undefined;
  }

  /** Calls `cb` once the object is ready (at once if it is); throws ObjectLostError for unknown ids. */
  onReady(id: string, cb: () => void): void {
    const e = this.#entries.get(id);
    if (e === undefined || e.dead) throw lost(id);
    if (e.value !== undefined) {
      cb();
      return;
    }
    if (e.waiters === undefined) e.waiters = [cb];
    else e.waiters.push(cb);
  }

  /** Removes a waiter registered with `onReady` (a `get` that timed out). */
  offReady(id: string, cb: () => void): void {
    const ws = this.#entries.get(id)?.waiters;
    if (ws === undefined) return;
    const i = ws.indexOf(cb);
    if (i >= 0) ws.splice(i, 1);
  }

  /** Adds references; false when the object is unknown or already released. */
  addRef(id: string, n = 1): boolean {
    const e = this.#entries.get(id);
    if (e === undefined || e.dead) return false;
    e.refs += n;
    return true;
  }

  removeRef(id: string, n = 1): void {
    const e = this.#entries.get(id);
    if (e === undefined || e.dead) return;
    e.refs -= n;
    if (e.refs <= 0 && e.value !== undefined) this.#release(id, e);
  }

  /** A zero-copy view of the object's shm block was handed out: keep the block until `unpin`. */
  pin(id: string): void {
    const e = this.#entries.get(id);
    if (e !== undefined) e.pins++;
  }

  unpin(id: string): void {
    const e = this.#entries.get(id);
    if (e === undefined) return;
    e.pins--;
    if (e.pins <= 0 && e.dead) {
      this.#entries.delete(id);
      if (e.value !== undefined) this.#dropPayload(e.value.payload);
    }
  }

  /** Evicts objects now, ahead of garbage collection (`free()`): later `get`s fail with ObjectLostError. */
  free(id: string): void {
    const e = this.#entries.get(id);
    if (e === undefined || e.value === undefined || e.dead) return;
    this.#release(id, e);
  }

  /** Allocates a shm block, reclaiming unreferenced memory first when the arena is full. */
  allocShm(size: number): number {
    const arena = this.#arena;
    if (arena === undefined)
      throw new ObjectStoreFullError(
        "Object store has no shared memory: start the node with --object-store-memory",
      );
    if (size > arena.capacity) {
      throw new ObjectStoreFullError(
        `Object is larger than the whole object store: ${fmt(size)} asked for, the store holds ${fmt(arena.capacity)}; raise objectStoreMemory (init option or --object-store-memory)`,
      );
    }
    let off = arena.alloc(size);
    if (off >= 0) return off;
    this.#reclaim();
    off = arena.alloc(size);
    if (off >= 0) return off;
    const s = arena.stats();
    throw new ObjectStoreFullError(
      `Object store is full: ${fmt(s.used)} used of ${fmt(s.capacity)}, the largest free block is ${s.largestFree} bytes and ${size} bytes were asked for; raise objectStoreMemory or drop and free() refs`,
    );
  }

  freeShm(off: number): void {
    this.#arena?.free(off);
  }

  stats(): { objects: number; inlineBytes: number; shmUsed: number; shmCapacity: number } {
    const s = this.#arena?.stats();
    return {
      objects: this.#entries.size,
      inlineBytes: this.#inlineBytes,
      shmUsed: s?.used ?? 0,
      shmCapacity: s?.capacity ?? 0,
    };
  }

  /** Drops every object (shutdown). */
  clear(): void {
    for (const e of this.#entries.values()) if (e.value !== undefined) this.#dropPayload(e.value.payload);
    this.#entries.clear();
  }

  #release(id: string, e: Entry): void {
    if (e.dead) return;
    e.dead = true;
    const contained = e.contained;
    e.contained = undefined;
    if (e.pins <= 0) {
      this.#entries.delete(id);
      if (e.value !== undefined) this.#dropPayload(e.value.payload);
    }
    // Otherwise views still read the block: the entry stays, dead, until the last unpin frees it.
    if (contained !== undefined) for (const c of contained) this.removeRef(c);
  }

  #dropPayload(p: Payload): void {
    if (p.t === 1) this.#arena?.free(p.off);
    else this.#inlineBytes -= p.bytes.byteLength;
  }
}

function lost(id: string): ObjectLostError {
  return new ObjectLostError(
    `Object ${id} is lost: it was freed or never existed; keep an ObjectRef to it while you need it`,
  );
}

export { lost as objectLostError };

function fmt(bytes: number): string {
  return bytes >= MiB ? `${(bytes / MiB).toFixed(1)} MiB` : `${bytes} B`;
}
