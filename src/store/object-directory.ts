/**
 * Objects across nodes [Ray's ownership-based object directory and reference counting, simplified].
 * Every object has an **owner**: the node whose store made it (a `put`, or the returns of a task
 * submitted there), named by its address (`host:port`, what `ObjectRef.owner` holds). The owner's
 * directory knows, for each object it lent to other nodes, the nodes holding a copy and the nodes
 * borrowing it (holding references there).
 *
 * - **Borrowing.** A node that receives a ref it does not own (`Node.borrowObjects`) registers the id
 *   as borrowed (`ObjectStore.expectBorrowed`). While it references the object, the owner counts one
 *   reference for that node, so the object outlives the owner's own refs; when the node's last
 *   reference goes, it tells the owner, which releases its count. The node lending a ref counts the
 *   borrower at once (`lend`), so the object cannot go in the window before the borrower reports.
 * - **Pulling.** When someone waits for a remote object here (a task's argument, a `get`), the store
 *   asks `fetch`: the directory asks the owner where copies are (`locate`), pulls the bytes with
 *   `GET /objects/:id` from a holder (preferring the latest holder other than the owner, so a
 *   broadcast spreads over the nodes that already have it), seals them here and reports this node
 *   as a holder. Concurrent waiters on one node share one pull: a broadcast is fetched once per node.
 * - **Freeing.** A pulled copy stays as a cached copy after its last reference here (others may pull
 *   from it) until the owner releases the object: then the owner tells every holder to drop its copy
 *   (`free`), and releases the copies of returns it left on the node that ran the task.
 *
 * All owner traffic is `POST /objects/ops` (see `object-routes.ts`), sent in order per owner and
 * batched per turn (`OwnerClient` in `transport/object-pull.ts`).
 */
import { ObjectLostError, ObjectStoreFullError } from "../errors.ts";
import type { ObjectValue, Payload } from "../runtime/protocol.ts";
import {
  ObjectTransferError,
  OwnerClient,
  type OwnerOp,
  type OwnerOpResult,
  pullObject,
  pullObjectBytes,
} from "../transport/object-pull.ts";
import type { ObjectHooks, ObjectStore } from "./object-store.ts";

/** What the owner knows of an object it lent out. */
interface Owned {
  /** Nodes with a copy (not this one), each with how to release that copy (undefined: send `free`). */
  readonly holders: Map<string, (() => void) | undefined>;
  /** Nodes borrowing the object; each holds one reference in this store. */
  readonly borrowers: Set<string>;
  /** The value's size and kind while it lives only on other nodes. */
  size: number;
  inline: boolean;
  err: boolean;
  /** The dead node whose going took the last copy (the object is lost with it). */
  lostWith?: string;
}

/** Options of {@link ObjectDirectory}. */
export interface DirectoryOptions {
  readonly store: ObjectStore;
  readonly token: string;
  /** This node's address (`host:port`). */
  readonly address: string;
  /** An error as an inline payload (a fetch that cannot succeed seals it). */
  readonly errorPayload: (err: Error) => Payload;
  /** Writes one log line. */
  readonly log?: (line: string) => void;
  /**
   * Frees what nothing reaches any more (garbage-collects the node's workers, so the views they
   * dropped unpin their blocks); a pull that finds the store full retries once after it.
   */
  readonly reclaim?: () => Promise<void>;
}

/** Debug counters of a node's object traffic (`GET /objects`). */
export interface ObjectTrafficStats {
  /** `GET /objects/:id` bodies served from this node. */
  served: number;
  /** Objects pulled into this node from others. */
  pulled: number;
}

const LOCATE_RETRY_MAX_MS = 500;

export class ObjectDirectory implements ObjectHooks {
  readonly address: string;
  readonly stats: ObjectTrafficStats = { served: 0, pulled: 0 };
  readonly #o: DirectoryOptions;
  readonly #owned = new Map<string, Owned>();
  readonly #fetching = new Set<string>();
  readonly #owners = new Map<string, OwnerClient>();
  /** Borrow requests not answered yet, by object id. */
  readonly #borrowing = new Map<string, Promise<unknown>>();
  /** Borrowers and holders missing from the last look at the alive nodes (gone after two). */
  readonly #missing = new Set<string>();
  #watch: ReturnType<typeof setInterval> | undefined;
  /** The alive nodes' addresses (see `watchNodes`), to tell a dead holder from a failing one. */
  #alive: (() => readonly string[] | undefined) | undefined;
  #closed = false;

  constructor(options: DirectoryOptions) {
    this.#o = options;
    this.address = options.address;
    options.store.objectHooks = this;
  }

  /**
   * Follows which nodes are alive (`alive()` lists their addresses, undefined while unknown): a
   * borrower or holder of this node's objects missing from two looks in a row is dead, and what it
   * borrowed or held is forgotten (its borrows released), so nothing leaks when a borrower dies.
   */
  watchNodes(alive: () => readonly string[] | undefined, everyMs = 1000): void {
    if (this.#watch !== undefined) clearInterval(this.#watch);
    this.#alive = alive;
    this.#watch = setInterval(() => this.sweepNodes(alive()), everyMs);
    this.#watch.unref?.();
  }

  /** One look at the alive nodes (see `watchNodes`). */
  sweepNodes(alive: readonly string[] | undefined): void {
    if (alive === undefined) return;
    const now = new Set(alive);
    const known = new Set<string>();
    for (const rec of this.#owned.values()) {
      for (const a of rec.borrowers) known.add(a);
      for (const a of rec.holders.keys()) known.add(a);
    }
    for (const a of [...this.#missing]) if (now.has(a) || !known.has(a)) this.#missing.delete(a);
    for (const a of known) {
      if (now.has(a) || a === this.address) continue;
      // Missing twice in a row: a node just joined may not be in this node's view yet.
      if (!this.#missing.has(a)) {
        this.#missing.add(a);
        continue;
      }
      this.#missing.delete(a);
      this.#nodeGone(a);
    }
  }

  #nodeGone(address: string): void {
    this.#o.log?.(`Node at ${address} is gone: releasing what it borrowed and forgetting its copies`);
    for (const [id, rec] of [...this.#owned]) {
      if (rec.holders.delete(address) && rec.holders.size === 0) rec.lostWith = address;
      if (rec.borrowers.delete(address)) this.#o.store.removeRef(id);
    }
    this.#owners.get(address)?.close();
    this.#owners.delete(address);
  }

  /** Stops all traffic (the node is stopping). */
  /** Resolves once every request sent to other nodes so far has been answered (or failed). */
  async settled(): Promise<void> {
    await Promise.all([...this.#owners.values()].map((c) => c.idle()));
  }

  close(): void {
    this.#closed = true;
    if (this.#watch !== undefined) clearInterval(this.#watch);
    for (const c of this.#owners.values()) c.close();
    this.#owners.clear();
  }

  /** The owner's address of object `id` as seen here: its borrowed owner, else this node. */
  ownerOf(id: string): string {
    return this.#o.store.ownerOf(id) ?? this.address;
  }

  /** Addresses of the nodes known to hold a copy of `id` (this node's own copy included). */
  locations(id: string): string[] {
    const store = this.#o.store;
    const out = store.isReady(id) ? [this.address] : [];
    const rec = this.#owned.get(id);
    if (rec !== undefined) out.push(...rec.holders.keys());
    return out;
  }

  /** The size of object `id`'s value, here or where it was left (0 when unknown). */
  sizeOf(id: string): number {
    const v = this.#o.store.peek(id);
    if (v !== undefined) return v.payload.t === 0 ? v.payload.bytes.byteLength : v.payload.size;
    return this.#owned.get(id)?.size ?? 0;
  }

  // ---- the lending side ------------------------------------------------------------------------

  /** This node hands a ref to object `id` (owned here) to the node at `address`: count it a borrower. */
  lend(id: string, address: string): void {
    if (address === this.address || this.#o.store.ownerOf(id) !== undefined) return;
    this.#borrow(id, address);
  }

  /**
   * This node's object `id` was sealed on the node at `address` and stays there: it is pulled from
   * there when needed here; `release` frees that copy once the object is released here.
   */
  leaveOn(
    id: string,
    address: string,
    value: { size: number; inline: boolean; err: boolean },
    release: () => void,
  ): void {
    const store = this.#o.store;
    if (!store.isReferenced(id) || store.isReady(id)) {
      // Nobody here wants it any more (or it is here already): free the copy there, drop the entry.
      release();
      if (!store.isReady(id)) {
        store.markRemote(id);
        store.free(id);
      }
      return;
    }
    const rec = this.#record(id);
    rec.size = value.size;
    rec.inline = value.inline;
    rec.err = value.err;
    rec.holders.set(address, release);
    store.markRemote(id);
  }

  // ---- store hooks -----------------------------------------------------------------------------

  fetch(id: string): void {
    if (this.#closed || this.#fetching.has(id)) return;
    this.#fetching.add(id);
    void this.#fetch(id).finally(() => this.#fetching.delete(id));
  }

  referenced(id: string, owner: string): void {
    const p = this.#send(owner, { op: "borrow", id });
    this.#borrowing.set(id, p);
    void p.finally(() => {
      if (this.#borrowing.get(id) === p) this.#borrowing.delete(id);
    });
  }

  /** Resolves once the owners answered the borrow requests of `ids` sent so far. */
  whenBorrowed(ids: readonly string[]): Promise<void> {
    const waits: Promise<unknown>[] = [];
    for (const id of ids) {
      const p = this.#borrowing.get(id);
      if (p !== undefined) waits.push(p);
    }
    return waits.length === 0 ? Promise.resolve() : Promise.all(waits).then(() => {});
  }

  /**
   * The refs nested in a value copied here from another node (`v.contained`): each one this node
   * does not own is registered as borrowed from its owner; returns their ids, for the value's
   * entry to hold (its `seal` adds the references, which start the borrows).
   */
  adoptNested(v: ObjectValue): string[] | undefined {
    const c = v.contained;
    if (c === undefined || c.length === 0) return undefined;
    for (const [id, owner] of c) if (owner !== this.address) this.#o.store.expectBorrowed(id, owner);
    return c.map(([id]) => id);
  }

  unreferenced(id: string, owner: string): void {
    void this.#send(owner, { op: "release", id });
  }

  evicted(id: string, owner: string): void {
    void this.#send(owner, { op: "unholder", id });
  }

  released(id: string, owner: string | undefined): void {
    if (owner !== undefined) return;
    const rec = this.#owned.get(id);
    if (rec === undefined) return;
    this.#owned.delete(id);
    for (const [address, release] of rec.holders) {
      if (release !== undefined) release();
      else void this.#send(address, { op: "free", id });
    }
  }

  // ---- the owner side (requests of other nodes) ------------------------------------------------

  /** Serves one batch of `POST /objects/ops` from the node at `from`, in order. */
  serve(from: string, ops: readonly OwnerOp[]): OwnerOpResult[] {
    return ops.map((op) => this.#serveOne(from, op));
  }

  #serveOne(from: string, op: OwnerOp): OwnerOpResult {
    const store = this.#o.store;
    const id = op.id;
    switch (op.op) {
      case "borrow":
        if (!store.has(id)) return { lost: true };
        this.#borrow(id, from);
        return {};
      case "release": {
        const rec = this.#owned.get(id);
        if (rec?.borrowers.delete(from)) store.removeRef(id);
        return {};
      }
      case "holder": {
        if (!store.has(id) || store.ownerOf(id) !== undefined) return { lost: true };
        this.#record(id).holders.set(from, undefined);
        return {};
      }
      case "unholder":
        this.#owned.get(id)?.holders.delete(from);
        return {};
      case "locate":
        return this.#locate(id, from);
      case "free":
        store.dropCopy(id);
        return {};
      default:
        return { error: `Unknown object operation ${String((op as { op: unknown }).op)}` };
    }
  }

  #locate(id: string, from: string): OwnerOpResult {
    const store = this.#o.store;
    if (!store.has(id)) return { lost: true };
    if (store.ownerOf(id) !== undefined) return { lost: true };
    const v = store.peek(id);
    const rec = this.#owned.get(id);
    const others = rec === undefined ? [] : [...rec.holders.keys()].filter((a) => a !== from);
    if (v !== undefined) {
      const p = v.payload;
      return {
        holders: [this.address, ...others],
        size: p.t === 0 ? p.bytes.byteLength : p.size,
        inline: p.t === 0,
        err: v.err,
      };
    }
    if (store.isRemote(id)) {
      // Sealed elsewhere: where it was left, or lost with the nodes that held it.
      if (rec === undefined || rec.holders.size === 0)
        return rec?.lostWith === undefined ? { lost: true } : { lost: true, lostWith: rec.lostWith };
      return { holders: others, size: rec.size, inline: rec.inline, err: rec.err };
    }
    return { pending: true };
  }

  #borrow(id: string, from: string): void {
    const rec = this.#record(id);
    if (rec.borrowers.has(from)) return;
    if (this.#o.store.addRef(id)) rec.borrowers.add(from);
  }

  #record(id: string): Owned {
    let rec = this.#owned.get(id);
    if (rec === undefined) {
      rec = { holders: new Map(), borrowers: new Set(), size: 0, inline: false, err: false };
      this.#owned.set(id, rec);
    }
    return rec;
  }

  // ---- fetching --------------------------------------------------------------------------------

  async #fetch(id: string): Promise<void> {
    const store = this.#o.store;
    const owner = store.ownerOf(id);
    let wait = 10;
    for (;;) {
      if (this.#closed || !store.isRemote(id)) return;
      let loc: OwnerOpResult;
      try {
        loc =
          owner === undefined
            ? this.#locate(id, this.address)
            : await this.#send(owner, { op: "locate", id });
      } catch (err) {
        this.#fail(id, `its owner ${owner} cannot be reached`, err);
        return;
      }
      if (loc.lostWith !== undefined) {
        this.#fail(id, `its only copies were on node ${loc.lostWith}, which died`, undefined, NO_LINEAGE);
        return;
      }
      if (loc.lost === true || loc.error !== undefined) {
        this.#fail(
          id,
          `its owner ${owner ?? this.address} no longer has it${loc.error ? ` (${loc.error})` : ""}`,
        );
        return;
      }
      if (loc.pending === true || loc.holders === undefined) {
        await Bun.sleep(wait);
        wait = Math.min(wait * 2, LOCATE_RETRY_MAX_MS);
        continue;
      }
      const holders = order(loc.holders, owner ?? this.address).filter((a) => a !== this.address);
      let lastErr: unknown;
      for (const holder of holders) {
        if (!store.isRemote(id)) return;
        try {
          await this.#pullFrom(id, holder, loc);
          return;
        } catch (err) {
          lastErr = err;
          this.#o.log?.(`Pulling object ${id} from ${holder} failed: ${(err as Error).message}`);
        }
      }
      const alive = this.#alive?.();
      if (alive !== undefined && holders.length > 0 && holders.every((h) => !alive.includes(h))) {
        const where = holders.length === 1 ? `node ${holders[0]}` : `nodes ${holders.join(", ")}`;
        this.#fail(id, `its only copies were on ${where}, which died`, lastErr, NO_LINEAGE);
        return;
      }
      this.#fail(id, `no node holding it could serve it (${holders.join(", ") || "none"})`, lastErr);
      return;
    }
  }

  async #pullFrom(id: string, holder: string, loc: OwnerOpResult): Promise<void> {
    const store = this.#o.store;
    const size = loc.size ?? 0;
    const err = loc.err === true;
    let payload: Payload;
    if (loc.inline === true) {
      payload = { t: 0, bytes: await pullObjectBytes(holder, this.#o.token, id, size) };
    } else {
      let off: number;
      try {
        off = await pullObject(store, holder, this.#o.token, id, size);
      } catch (err) {
        if (!(err instanceof ObjectStoreFullError) || this.#o.reclaim === undefined) throw err;
        // Cached copies still pinned by views the workers dropped: collect, then try once more.
        await this.#o.reclaim();
        off = await pullObject(store, holder, this.#o.token, id, size);
      }
      payload = { t: 1, off, size };
    }
    if (!store.isRemote(id)) {
      // Released (or sealed by someone else) meanwhile.
      if (payload.t === 1) store.freeShm(payload.off);
      return;
    }
    this.stats.pulled++;
    const owner = store.ownerOf(id);
    store.seal(id, { payload, err }, undefined);
    if (owner !== undefined) void this.#send(owner, { op: "holder", id });
  }

  #fail(id: string, why: string, cause?: unknown, hint = KEEP_REF): void {
    const store = this.#o.store;
    if (!store.isRemote(id)) return;
    const err = new ObjectLostError(
      `Object ${id} is lost: ${why}; ${hint}`,
      cause === undefined ? undefined : { cause },
    );
    store.seal(id, { payload: this.#o.errorPayload(err), err: true }, undefined);
  }

  #send(address: string, op: OwnerOp): Promise<OwnerOpResult> {
    if (this.#closed) return Promise.resolve({ error: "the node is stopping" });
    let c = this.#owners.get(address);
    if (c === undefined) {
      c = new OwnerClient(address, this.#o.token, this.address);
      this.#owners.set(address, c);
    }
    return c.send(op).catch((err: unknown) => {
      if (op.op === "locate") throw err;
      this.#o.log?.(
        `Object ${op.id}: ${op.op} at ${address} failed: ${err instanceof Error ? err.message : String(err)}`,
      );
      return { error: String(err) };
    });
  }
}

/** Holders to try, best first: the latest holder other than the owner first, the owner last. */
const KEEP_REF = "keep an ObjectRef to it while you need it (the node holding it may have died)";
const NO_LINEAGE =
  "rayts does not rebuild lost objects (no lineage reconstruction): re-run the task that made it";

function order(holders: readonly string[], owner: string): string[] {
  const others = holders.filter((a) => a !== owner).reverse();
  return holders.includes(owner) ? [...others, owner] : others;
}

export { ObjectTransferError };
