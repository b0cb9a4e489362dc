/**
 * The node's workers: started ahead of need, reused across tasks, reaped when idle for long.
 * Task workers are leased for a scheduling class; actor workers belong to one actor for life.
 *
 * Workers of the default environment are Bun Workers of this process. Work with a runtime
 * environment that changes the process (`workingDir`, `packages`) gets workers in worker-host
 * processes (`HostWorker`), pooled per environment key and all reaped once idle.
 *
 * Bun Workers boot through a `BootGate`: at most `RAYTS_MAX_STARTUP_CONCURRENCY` (default: the
 * CPUs, at least 2) at once, the rest in FIFO order as boots finish; a worker handed out before it
 * booted takes its messages all the same (they wait in its `WorkerProc`). Worker-host processes are
 * not paced: building their environment may take minutes, which would hold the slots.
 */
import type { CompiledRuntimeEnv } from "../options/runtime-env.ts";
import { envKey } from "../runtime-env/env-key.ts";
import { BootGate, type BootStats } from "./boot-gate.ts";
import { HostWorker } from "./host-worker.ts";
import { type FromWorker, type WorkerInit, WorkerProc } from "./worker-proc.ts";

const IDLE_REAP_MS = 10_000;

/** Idle-list key of the default environment. */
const DEFAULT = "";

export interface PoolHooks {
  onMessages(w: WorkerProc, batch: FromWorker[]): void;
  onExit(w: WorkerProc, code: number, error: string | undefined): void;
  /** The init message for a new worker with this caller id. */
  init(callerId: number): WorkerInit;
}

export interface PoolOptions {
  /** Idle workers of the default environment kept beyond 10 s idle. */
  readonly keepIdle: number;
  /** At most so many Bun Workers boot at once (see `BootGate`). */
  readonly startupConcurrency: number;
  /** Makes a Bun Worker (default: one of the worker entry; tests give Workers of their own). */
  readonly startWorker?: () => Worker;
}

export class WorkerPool {
  readonly #hooks: PoolHooks;
  readonly #all = new Map<number, WorkerProc>();
  /** Idle workers by environment key ("" for the default environment). */
  readonly #idle = new Map<string, WorkerProc[]>([[DEFAULT, []]]);
  readonly #keepIdle: number;
  #nextId = 1;
  #reaper: ReturnType<typeof setInterval> | undefined;
  #closed = false;
  readonly #gate: BootGate;

  constructor(hooks: PoolHooks, options: PoolOptions) {
    this.#hooks = hooks;
    this.#keepIdle = options.keepIdle;
    this.#gate = new BootGate(options.startupConcurrency, options.startWorker);
  }

  /** Debug counters of Worker boots (see `BootStats`). */
  get boots(): BootStats {
    return this.#gate.stats;
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
    const idle = this.#idleOf(DEFAULT);
    for (let i = 0; i < n; i++) idle.push(this.#spawn(undefined));
  }

  /** An idle worker for `env` (started if none is; the environment is built on first use). */
  take(env?: CompiledRuntimeEnv): WorkerProc {
    const key = envKey(env);
    const w = this.#idleOf(key ?? DEFAULT).pop() ?? this.#spawn(key === undefined ? undefined : env);
    return w;
  }

  /** A worker of its own for an actor, in the actor's runtime environment (kept for its life). */
  takeForActor(actorId: string, env?: CompiledRuntimeEnv): WorkerProc {
    const w = this.take(env);
    w.state = "ACTOR";
    w.actorId = actorId;
    return w;
  }

  /**
   * Retires every task worker, because a job replaced modules they may have imported (a worker's
   * module cache cannot be cleared): idle ones end now (as many fresh ones of the default
   * environment start in their place, up to what is kept idle), leased ones once their lease ends.
   * Actor workers keep running their actors.
   */
  retireTaskWorkers(): void {
    let ended = 0;
    for (const [key, idle] of this.#idle) {
      for (const w of idle.splice(0)) {
        if (key === DEFAULT) ended++;
        this.#all.delete(w.id);
        this.#gate.leave(w);
        w.terminate();
      }
    }
    for (const w of this.#all.values()) if (w.state !== "ACTOR") w.retired = true;
    this.prestart(Math.min(ended, this.#keepIdle));
  }

  /** Gives a task worker back once its lease ends. */
  giveBack(w: WorkerProc): void {
    if (w.state === "DEAD" || this.#closed) return;
    if (w.retired) {
      this.terminate(w);
      return;
    }
    if (w.worker instanceof HostWorker && w.worker.failed) {
      // Its environment could not be built: a later request tries again with a new worker.
      this.terminate(w);
      return;
    }
    w.state = "IDLE";
    w.shape = undefined;
    w.alloc = undefined;
    w.idleSince = performance.now();
    this.#idleOf(w.envKey ?? DEFAULT).push(w);
    this.#armReaper();
  }

  /** Forgets a worker that exited or was terminated. */
  remove(w: WorkerProc): void {
    this.#all.delete(w.id);
    this.#gate.leave(w);
    const key = w.envKey ?? DEFAULT;
    const idle = this.#idle.get(key);
    if (idle === undefined) return;
    const i = idle.indexOf(w);
    if (i >= 0) idle.splice(i, 1);
    if (idle.length === 0 && key !== DEFAULT) this.#idle.delete(key);
  }

  terminate(w: WorkerProc): void {
    this.remove(w);
    w.terminate();
  }

  close(): void {
    this.#closed = true;
    if (this.#reaper !== undefined) clearInterval(this.#reaper);
    this.#gate.clear();
    for (const w of this.#all.values()) w.terminate();
    this.#all.clear();
    this.#idle.clear();
  }

  #idleOf(key: string): WorkerProc[] {
    let idle = this.#idle.get(key);
    if (idle === undefined) {
      idle = [];
      this.#idle.set(key, idle);
    }
    return idle;
  }

  #spawn(env: CompiledRuntimeEnv | undefined): WorkerProc {
    const id = this.#nextId++;
    const host = env === undefined ? undefined : new HostWorker(env);
    const w = new WorkerProc(
      id,
      this.#hooks.onMessages,
      (proc, code, err) => {
        this.remove(proc);
        this.#hooks.onExit(proc, code, err);
      },
      host as unknown as Worker | undefined,
      envKey(env),
    );
    this.#all.set(id, w);
    w.send(this.#hooks.init(id));
    w.state = "IDLE";
    if (host === undefined) this.#gate.admit(w);
    return w;
  }

  /** Idle workers beyond what is kept: all of a runtime environment's, the default's beyond `keepIdle`. */
  #surplus(key: string, idle: readonly WorkerProc[]): number {
    return idle.length - (key === DEFAULT ? this.#keepIdle : 0);
  }

  #armReaper(): void {
    if (this.#reaper !== undefined) return;
    let any = false;
    for (const [key, idle] of this.#idle) if (this.#surplus(key, idle) > 0) any = true;
    if (!any) return;
    this.#reaper = setInterval(() => {
      const now = performance.now();
      let left = false;
      for (const [key, idle] of [...this.#idle]) {
        while (this.#surplus(key, idle) > 0) {
          const oldest = idle[0] as WorkerProc;
          if (now - oldest.idleSince < IDLE_REAP_MS) break;
          idle.shift();
          this.terminate(oldest);
        }
        if (this.#surplus(key, idle) > 0) left = true;
      }
      if (!left && this.#reaper !== undefined) {
        clearInterval(this.#reaper);
        this.#reaper = undefined;
      }
    }, IDLE_REAP_MS / 2);
    this.#reaper.unref();
  }
}
