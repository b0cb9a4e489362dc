/**
 * The node's object table: which objects exist, where their bytes live (inline or in the shm arena),
 * who references them, and who waits for them. Reference counting is exact: an object's memory is
 * released as soon as nothing references it (driver refs, worker-held refs, task arguments, refs
 * contained in other objects, stream items) and no zero-copy view pins its shm block.
 *
 * Objects of other nodes (see `object-directory.ts`): an entry may be **remote**, its value fetched
 * from another node when first needed (`onReady` asks the {@link ObjectHooks.fetch} hook), and may
 * be **borrowed**, owned by the node at `owner`. A borrowed entry tells its owner when it gains its
 * first reference and when it loses its last one; a fetched copy then stays as a cached copy (other
 * nodes may pull it from here) until the owner says the object is gone (`dropCopy`).
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
  /** The owner's address (`host:port`) when another node owns the object. */
  owner: string | undefined;
  /** The value lives on another node: fetched when someone waits for it here. */
  remote: boolean;
  /** The owner freed the object while it was referenced here: release it, not cache it, at 0 refs. */
  orphan: boolean;
  /** Waiters for the object to exist anywhere (ready here, or sealed on another node). */
  available: Array<() => void> | undefined;
}

/** How the store reaches the node's object directory (objects of other nodes). */
export interface ObjectHooks {
  /** Someone waits for remote object `id`: bring its value here (deduplicated by the hook). */
  fetch(id: string): void;
  /** Borrowed object `id` gained its first reference here. */
  referenced(id: string, owner: string): void;
  /** Borrowed object `id` lost its last reference here. */
  unreferenced(id: string, owner: string): void;
  /** Object `id` was released here (`owner` undefined when this node owned it). */
  released(id: string, owner: string | undefined): void;
  /** The cached copy of borrowed object `id` was dropped to make room: this node no longer holds it. */
  evicted(id: string, owner: string): void;
}

const NO_HOOKS: ObjectHooks = { fetch() {}, referenced() {}, unreferenced() {}, released() {}, evicted() {} };

function newEntry(): Entry {
  return {
    value: undefined,
    refs: 0,
    pins: 0,
    contained: undefined,
    waiters: undefined,
    dead: false,
    owner: undefined,
    remote: false,
    orphan: false,
    available: undefined,
  };
}

const MiB = 1024 * 1024;

/** Called when the arena is full, before giving up: frees what it can (GC nudge) synchronously. */
export type ReclaimHook = () => void;

/**
 * A released object at least this large whose block stays because something here still holds it
 * (a worker's view or ref that its garbage collector has not dropped yet) calls the held hook, so
 * the node can ask its workers to collect now instead of whenever they next collect by themselves.
 */
const HELD_NUDGE_BYTES = 4 * MiB;

export class ObjectStore {
  readonly #entries = new Map<string, Entry>();
  readonly #arena: ShmArena | undefined;
  #reclaim: ReclaimHook = () => {};
  #held: () => void = () => {};
  /** Released large objects whose blocks were still held when released (see holdsReleasedLarge). */
  readonly #heldLarge = new Map<string, Entry>();
  #hooks: ObjectHooks = NO_HOOKS;
  #inlineBytes = 0;
  /** Blocks pushed over HTTP waiting for their `putObject`, with the timer that frees them. */
  readonly #pushed = new Map<number, ReturnType<typeof setTimeout>>();

  constructor(arena: ShmArena | undefined) {
    this.#arena = arena;
  }

  get arena(): ShmArena | undefined {
    return this.#arena;
  }

  set reclaimHook(hook: ReclaimHook) {
    this.#reclaim = hook;
  }

  /** See {@link HELD_NUDGE_BYTES}. */
  set heldHook(hook: () => void) {
    this.#held = hook;
  }

  set objectHooks(hooks: ObjectHooks) {
    this.#hooks = hooks;
  }

  /** Registers an object that a task will produce. Its first reference comes with it. */
  expect(id: string): void {
    if (!this.#entries.has(id)) this.#entries.set(id, newEntry());
  }

  /**
   * Registers object `id` owned by the node at `owner`, fetched from the cluster when first needed.
   * An id already known here keeps its entry. Its first reference comes with it (`addRef`).
   */
  expectBorrowed(id: string, owner: string): void {
    const e = this.#entries.get(id);
    if (e !== undefined && !e.dead) return;
    const n = newEntry();
    n.owner = owner;
    n.remote = true;
    this.#entries.set(id, n);
  }

  /** The owner of a borrowed object (undefined when this node owns it or it is unknown). */
  ownerOf(id: string): string | undefined {
    const e = this.#entries.get(id);
    return e === undefined || e.dead ? undefined : e.owner;
  }

  /**
   * This node's object `id` was sealed on another node and its value stays there: it is fetched
   * when someone waits for it here. Wakes the waiters for its availability (and fetches at once
   * when someone already waits for its value).
   */
  markRemote(id: string): void {
    const e = this.#entries.get(id);
    if (e === undefined || e.dead || e.value !== undefined) return;
    e.remote = true;
    const avail = e.available;
    e.available = undefined;
    if (avail !== undefined) for (const w of avail) w();
    if (e.waiters !== undefined && e.waiters.length > 0) this.#hooks.fetch(id);
  }

  /**
   * True when the object's value is here, or this node's object was sealed on another node (a
   * forwarded task may use it there). A borrowed object counts once its value is here.
   */
  isAvailable(id: string): boolean {
    const e = this.#entries.get(id);
    return e !== undefined && !e.dead && (e.value !== undefined || (e.remote && e.owner === undefined));
  }

  /** Calls `cb` once the object is available (see `isAvailable`); throws ObjectLostError for unknown ids. */
  onAvailable(id: string, cb: () => void): void {
    const e = this.#entries.get(id);
    if (e === undefined || e.dead) throw lost(id);
    if (e.value !== undefined || (e.remote && e.owner === undefined)) {
      cb();
      return;
    }
    if (e.owner !== undefined) {
      // Whether the owner has it yet is known only by asking: bring it here.
      this.onReady(id, cb);
      return;
    }
    if (e.available === undefined) e.available = [cb];
    else e.available.push(cb);
  }

  /** The ids of the refs nested in the object's value (undefined when none). */
  containedOf(id: string): readonly string[] | undefined {
    const e = this.#entries.get(id);
    return e === undefined || e.dead ? undefined : e.contained;
  }

  /** True while something references the object here. */
  isReferenced(id: string): boolean {
    const e = this.#entries.get(id);
    return e !== undefined && !e.dead && e.refs > 0;
  }

  /** Removes a waiter registered with `onAvailable`. */
  offAvailable(id: string, cb: () => void): void {
    this.offReady(id, cb);
    const ws = this.#entries.get(id)?.available;
    if (ws === undefined) return;
    const i = ws.indexOf(cb);
    if (i >= 0) ws.splice(i, 1);
  }

  /** True while the value of a remote object is not here. */
  isRemote(id: string): boolean {
    const e = this.#entries.get(id);
    return e !== undefined && !e.dead && e.value === undefined && e.remote;
  }

  /**
   * The owner of borrowed object `id` released it: drop the copy kept here, now if nothing here
   * references it, else once the last reference goes.
   */
  dropCopy(id: string): void {
    const e = this.#entries.get(id);
    if (e === undefined || e.dead || e.owner === undefined) return;
    if (e.refs <= 0) this.#release(id, e);
    else {
      e.orphan = true;
      this.#nudgeIfLarge(id, e);
    }
  }

  #nudgeIfLarge(id: string, e: Entry): void {
    const p = e.value?.payload;
    if (p === undefined || p.t !== 1 || p.size < HELD_NUDGE_BYTES) return;
    this.#heldLarge.set(id, e);
    this.#held();
  }

  /**
   * True while a released object of {@link HELD_NUDGE_BYTES} or more still keeps its block (a view
   * or ref here not dropped yet): the node keeps asking its workers to collect, less and less often.
   */
  holdsReleasedLarge(): boolean {
    for (const [id, e] of this.#heldLarge) {
      const held = e.dead ? e.pins > 0 : e.orphan && e.refs > 0;
      if (!held || this.#entries.get(id) !== e) this.#heldLarge.delete(id);
    }
    return this.#heldLarge.size > 0;
  }

  /** Ids of the objects this node holds a value of (ready here), for debugging and tests. */
  readyIds(): string[] {
    const out: string[] = [];
    for (const [id, e] of this.#entries) if (!e.dead && e.value !== undefined) out.push(id);
    return out;
  }

  /** Stores a finished object and wakes its waiters. An object nobody references is dropped at once. */
  seal(id: string, value: ObjectValue, contained: readonly string[] | undefined): void {
    let e = this.#entries.get(id);
    if (e === undefined) {
      e = newEntry();
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
    const avail = e.available;
    e.available = undefined;
    if (waiters !== undefined) for (const w of waiters) w();
    if (avail !== undefined) for (const w of avail) w();
    // Waiters took what they needed (pins for shm views) synchronously; nothing else holds it.
    if (e.refs <= 0 && (e.owner === undefined || e.orphan)) this.#release(id, e);
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
    if (e.remote) this.#hooks.fetch(id);
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
    const first = e.refs <= 0;
    e.refs += n;
    if (first && e.owner !== undefined && e.refs > 0) this.#hooks.referenced(id, e.owner);
    return true;
  }

  removeRef(id: string, n = 1): void {
    const e = this.#entries.get(id);
    if (e === undefined || e.dead) return;
    const had = e.refs > 0;
    e.refs -= n;
    if (e.refs > 0) return;
    if (e.owner === undefined) {
      if (e.value !== undefined || e.remote) this.#release(id, e);
      return;
    }
    // A borrowed object: the owner stops counting this node; a fetched copy stays cached.
    if (had) this.#hooks.unreferenced(id, e.owner);
    if (e.value === undefined || e.orphan) this.#release(id, e);
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
    if (e === undefined || (e.value === undefined && !e.remote) || e.dead) return;
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
    if (this.#evictCached() > 0) {
      off = arena.alloc(size);
      if (off >= 0) return off;
    }
    this.#reclaim();
    off = arena.alloc(size);
    if (off >= 0) return off;
    const s = arena.stats();
    throw new ObjectStoreFullError(
      `Object store is full: ${fmt(s.used)} used of ${fmt(s.capacity)}, the largest free block is ${s.largestFree} bytes and ${size} bytes were asked for; raise objectStoreMemory or drop and free() refs`,
    );
  }

  /**
   * Drops the cached copies of borrowed objects nothing here references or reads (the store needs
   * room; their owners still have them); returns how many.
   */
  #evictCached(): number {
    const out: Array<[string, Entry]> = [];
    for (const [id, e] of this.#entries) {
      if (e.owner !== undefined && !e.dead && e.refs <= 0 && e.pins <= 0 && e.value?.payload.t === 1) {
        out.push([id, e]);
      }
    }
    for (const [id, e] of out) {
      this.#release(id, e);
      this.#hooks.evicted(id, e.owner as string);
    }
    return out.length;
  }

  freeShm(off: number): void {
    this.#arena?.free(off);
  }

  /**
   * A block was filled by a push (`PUT /objects/:id`): free it unless `claimPushed` takes it within
   * `ms` (the pusher died, or never registered it).
   */
  holdPushed(off: number, ms: number): void {
    const timer = setTimeout(() => {
      if (this.#pushed.delete(off)) this.#arena?.free(off);
    }, ms);
    timer.unref?.();
    this.#pushed.set(off, timer);
  }

  /** A shm payload is being stored: if it is a pushed block, it is claimed (no longer expires). */
  claimPushed(off: number): void {
    const t = this.#pushed.get(off);
    if (t === undefined) return;
    clearTimeout(t);
    this.#pushed.delete(off);
  }

  /** Pushed blocks not claimed yet. */
  get pushesPending(): number {
    return this.#pushed.size;
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
    for (const t of this.#pushed.values()) clearTimeout(t);
    this.#pushed.clear();
    for (const e of this.#entries.values()) if (e.value !== undefined) this.#dropPayload(e.value.payload);
    this.#entries.clear();
    this.#heldLarge.clear();
  }

  #release(id: string, e: Entry): void {
    if (e.dead) return;
    e.dead = true;
    // Released while referenced (`free()`): the owner must stop counting this node too.
    if (e.owner !== undefined && e.refs > 0) this.#hooks.unreferenced(id, e.owner);
    this.#hooks.released(id, e.owner);
    const contained = e.contained;
    e.contained = undefined;
    if (e.pins <= 0) {
      this.#entries.delete(id);
      if (e.value !== undefined) this.#dropPayload(e.value.payload);
    } else {
      // Views still read the block: the entry stays, dead, until the last unpin frees it.
      this.#nudgeIfLarge(id, e);
    }
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
