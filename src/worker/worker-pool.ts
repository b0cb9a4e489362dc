/**
 * The node's Bun Workers: started ahead of need, reused across tasks, reaped when idle for long.
 * Task workers are leased for a scheduling class; actor workers belong to one actor for life.
 */
import { type FromWorker, type WorkerInit, WorkerProc } from "./worker-proc.ts";

const IDLE_REAP_MS = 10_000;

export interface PoolHooks {
  onMessages(w: WorkerProc, batch: FromWorker[]): void;
  onExit(w: WorkerProc, code: number, error: string | undefined): void;
  /** The init message for a new worker with this caller id. */
  init(callerId: number): WorkerInit;
}

export class WorkerPool {
  readonly #hooks: PoolHooks;
  readonly #all = new Map<number, WorkerProc>();
  readonly #idle: WorkerProc[] = [];
  readonly #keepIdle: number;
  #nextId = 1;
  #reaper: ReturnType<typeof setInterval> | undefined;
  #closed = false;

  constructor(hooks: PoolHooks, keepIdle: number) {
    this.#hooks = hooks;
    this.#keepIdle = keepIdle;
  }

  get(id: number): WorkerProc | undefined {
    return this.#all.get(id);
  }

  get size(): number {
    return this.#all.size;
  }

  workers(): IterableIterator<WorkerProc> {
    return this.#all.values();
  }

  /** Starts `n` workers now so the first tasks do not wait for a Worker to boot. */
  prestart(n: number): void {
    for (let i = 0; i < n; i++) this.#idle.push(this.#spawn());
  }

  /** An idle worker (started if none is). */
  take(): WorkerProc {
    const w = this.#idle.pop() ?? this.#spawn();
    return w;
  }

  /** A worker of its own for an actor. */
  takeForActor(actorId: string): WorkerProc {
    const w = this.take();
    w.state = "ACTOR";
    w.actorId = actorId;
    return w;
  }

  /** Gives a task worker back once its lease ends. */
  giveBack(w: WorkerProc): void {
    if (w.state === "DEAD" || this.#closed) return;
    w.state = "IDLE";
    w.shape = undefined;
    w.alloc = undefined;
    w.idleSince = performance.now();
    this.#idle.push(w);
    this.#armReaper();
  }

  /** Forgets a worker that exited or was terminated. */
  remove(w: WorkerProc): void {
    this.#all.delete(w.id);
    const i = this.#idle.indexOf(w);
    if (i >= 0) this.#idle.splice(i, 1);
  }

  terminate(w: WorkerProc): void {
    this.remove(w);
    w.terminate();
  }

  close(): void {
    this.#closed = true;
    if (this.#reaper !== undefined) clearInterval(this.#reaper);
    for (const w of this.#all.values()) w.terminate();
    this.#all.clear();
    this.#idle.length = 0;
  }

  #spawn(): WorkerProc {
    const id = this.#nextId++;
    const w = new WorkerProc(id, this.#hooks.onMessages, (proc, code, err) => {
      this.remove(proc);
      this.#hooks.onExit(proc, code, err);
    });
    this.#all.set(id, w);
    w.send(this.#hooks.init(id));
    w.state = "IDLE";
    return w;
  }

  #armReaper(): void {
    if (this.#reaper !== undefined || this.#idle.length <= this.#keepIdle) return;
    this.#reaper = setInterval(() => {
      const now = performance.now();
      while (this.#idle.length > this.#keepIdle) {
        const oldest = this.#idle[0] as WorkerProc;
        if (now - oldest.idleSince < IDLE_REAP_MS) break;
        this.#idle.shift();
        this.terminate(oldest);
      }
      if (this.#idle.length <= this.#keepIdle && this.#reaper !== undefined) {
        clearInterval(this.#reaper);
        this.#reaper = undefined;
      }
    }, IDLE_REAP_MS / 2);
    this.#reaper.unref();
  }
}
