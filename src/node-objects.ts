/**
 * A node's objects as its callers see them: the per-caller books of references and pins (so a dead
 * worker's or a disconnected driver's share can be released), handing values out with their shm
 * blocks pinned, and the blocking `getObjects` / `waitObjects` of {@link NodeApi}.
 */
import { GetTimeoutError } from "./errors.ts";
import { keptAlive } from "./runtime/keep-alive.ts";
import type { CallerId } from "./runtime/node-api.ts";
import type { ObjectValue } from "./runtime/protocol.ts";
import type { TaskManager } from "./scheduler/task-manager.ts";
import type { ObjectDirectory } from "./store/object-directory.ts";
import { type ObjectStore, objectLostError } from "./store/object-store.ts";
import type { WorkerPool } from "./worker/worker-pool.ts";

/** What {@link CallerObjects} needs of its node. */
export interface CallerObjectsHost {
  readonly store: ObjectStore;
  readonly pool: WorkerPool;
  readonly tasks: TaskManager;
  readonly objects: ObjectDirectory | undefined;
}

/** Per-caller counts of references and pins, so a dead worker's share can be released. */
class CallerBook {
  readonly refs = new Map<string, number>();
  readonly pins = new Map<string, number>();
}

function bump(m: Map<string, number>, id: string, d: number): void {
  const n = (m.get(id) ?? 0) + d;
  if (n <= 0) m.delete(id);
  else m.set(id, n);
}

export class CallerObjects {
  readonly #node: CallerObjectsHost;
  readonly #books = new Map<CallerId, CallerBook>();

  constructor(node: CallerObjectsHost) {
    this.#node = node;
  }

  #book(caller: CallerId): CallerBook | undefined {
    if (caller === 0) return undefined;
    let b = this.#books.get(caller);
    if (b === undefined) {
      b = new CallerBook();
      this.#books.set(caller, b);
    }
    return b;
  }

  holdFor(caller: CallerId, id: string): void {
    if (this.#node.store.addRef(id)) {
      const b = this.#book(caller);
      if (b !== undefined) bump(b.refs, id, 1);
    }
  }

  argValues(caller: CallerId, argRefs: ReadonlyArray<readonly [number, string]>): ObjectValue[] {
    const out: ObjectValue[] = [];
    const store = this.#node.store;
    for (const [, id] of argRefs) out.push(this.handOut(caller, id, store.peek(id) as ObjectValue));
    return out;
  }

  /** Gives a caller an object's value, pinning its shm block until the caller unpins it. */
  handOut(caller: CallerId, id: string, v: ObjectValue): ObjectValue {
    const p = v.payload;
    const dir = this.#node.objects;
    if (dir !== undefined) {
      // In a cluster the value may be copied to another node: name its nested refs' owners.
      const c = this.#node.store.containedOf(id);
      if (c !== undefined && c.length > 0)
        v = { ...v, contained: c.map((cid) => [cid, dir.ownerOf(cid)] as const) };
    }
    if (caller !== 0 && p.t === 0 && p.bytes.byteLength !== p.bytes.buffer.byteLength) {
      // A view into a result batch: posting it would clone the whole batch buffer.
      return { payload: { t: 0, bytes: p.bytes.slice() }, err: v.err };
    }
    if (p.t === 1) {
      this.#node.store.pin(id);
      const b = this.#book(caller);
      if (b !== undefined) bump(b.pins, id, 1);
    }
    return v;
  }

  /** `NodeApi.getObjects`: the values once all are ready (pinned for the caller), or a timeout. */
  get(caller: CallerId, ids: readonly string[], timeoutMs: number | undefined): Promise<ObjectValue[]> {
    const store = this.#node.store;
    let missing = 0;
    for (const id of ids) {
      if (store.isReady(id)) continue;
      if (!store.has(id)) return Promise.reject(objectLostError(id));
      missing++;
    }
    if (missing === 0)
      return Promise.resolve(ids.map((id) => this.handOut(caller, id, store.peek(id) as ObjectValue)));
    const worker = caller === 0 ? undefined : this.#node.pool.get(caller);
    const p = new Promise<ObjectValue[]>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiting = new Set<string>();
      const settle = () => {
        if (timer !== undefined) clearTimeout(timer);
        if (worker !== undefined) this.#node.tasks.unblocked(worker);
      };
      const onOne = () => {
        missing--;
        if (missing > 0) return;
        settle();
        const out: ObjectValue[] = [];
        for (const id of ids) {
          const v = store.peek(id);
          if (v === undefined) {
            reject(objectLostError(id));
            return;
          }
          out.push(this.handOut(caller, id, v));
        }
        resolve(out);
      };
      for (const id of ids) {
        if (store.isReady(id) || waiting.has(id)) {
          if (waiting.has(id)) missing--;
          continue;
        }
        waiting.add(id);
        store.onReady(id, onOne);
      }
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          for (const id of waiting) store.offReady(id, onOne);
          missing = -1;
          settle();
          reject(
            new GetTimeoutError(
              `Get timed out: ${ids.length === 1 ? `object ${ids[0]} was` : `${waiting.size} of ${ids.length} objects were`} not ready after ${timeoutMs} ms; raise timeoutMs or check that the task can run (nothing infeasible, no deadlock)`,
            ),
          );
        }, timeoutMs);
      }
      if (worker !== undefined) this.#node.tasks.blocked(worker);
    });
    return caller === 0 ? keptAlive(p) : p;
  }

  /** `NodeApi.waitObjects`: which objects are ready, once `numReturns` are or the timeout passes. */
  wait(
    caller: CallerId,
    ids: readonly string[],
    numReturns: number,
    timeoutMs: number | undefined,
  ): Promise<boolean[]> {
    const store = this.#node.store;
    // Ready means sealed somewhere: an object on another node counts without being pulled here.
    const flags = () => ids.map((id) => store.isAvailable(id) || !store.has(id));
    const readyCount = () => {
      let n = 0;
      for (const id of ids) if (store.isAvailable(id) || !store.has(id)) n++;
      return n;
    };
    if (readyCount() >= numReturns || timeoutMs === 0) return Promise.resolve(flags());
    const worker = caller === 0 ? undefined : this.#node.pool.get(caller);
    const p = new Promise<boolean[]>((resolve) => {
      let done = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const pending = ids.filter((id) => !store.isAvailable(id) && store.has(id));
      const finish = () => {
        if (done) return;
        done = true;
        if (timer !== undefined) clearTimeout(timer);
        for (const id of pending) store.offAvailable(id, check);
        if (worker !== undefined) this.#node.tasks.unblocked(worker);
        resolve(flags());
      };
      const check = () => {
        if (readyCount() >= numReturns) queueMicrotask(finish);
      };
      for (const id of new Set(pending)) store.onAvailable(id, check);
      if (timeoutMs !== undefined) timer = setTimeout(finish, timeoutMs);
      if (worker !== undefined) this.#node.tasks.blocked(worker);
    });
    return caller === 0 ? keptAlive(p) : p;
  }

  addRefs(caller: CallerId, ids: readonly string[]): void {
    const b = this.#book(caller);
    for (const id of ids) if (this.#node.store.addRef(id) && b !== undefined) bump(b.refs, id, 1);
  }

  removeRefs(caller: CallerId, ids: readonly string[]): void {
    const b = this.#book(caller);
    for (const id of ids) {
      if (b !== undefined) {
        if (!b.refs.has(id)) continue;
        bump(b.refs, id, -1);
      }
      this.#node.store.removeRef(id);
    }
  }

  unpin(caller: CallerId, id: string): void {
    const b = this.#book(caller);
    if (b !== undefined) {
      if (!b.pins.has(id)) return;
      bump(b.pins, id, -1);
    }
    this.#node.store.unpin(id);
  }

  /** A caller is gone: release every reference and pin it held, so its objects do not leak. */
  dropCaller(caller: CallerId): void {
    const b = this.#books.get(caller);
    this.#books.delete(caller);
    if (b === undefined) return;
    for (const [id, n] of b.refs) this.#node.store.removeRef(id, n);
    for (const [id, n] of b.pins) for (let i = 0; i < n; i++) this.#node.store.unpin(id);
  }
}
