/**
 * One Bun Worker as the node sees it: a message channel with batched sends (every message posted in
 * one turn of the event loop goes out in a single `postMessage`), its lifecycle, and the work it
 * holds. Batching is what makes small tasks cheap: a structured clone of 100 specs costs little more
 * than one.
 *
 * A Bun Worker of this process is booted by the pool's `BootGate` (at most so many at once): until
 * then the proc has no Worker and every message queues here, sent in one batch once it boots.
 */
import type { CompiledRuntimeEnv } from "../options/runtime-env.ts";
import type { Allocation } from "../scheduler/node-resources.ts";
import { BlockBuilder, packSmallBatch, unpackBatch } from "./task-block.ts";

/** Tasks already sent to a worker beyond which new ones wait one event-loop turn to batch up. */
const DEFER_WHEN_QUEUED = 64;

export type WorkerState = "STARTING" | "IDLE" | "LEASED" | "ACTOR" | "DEAD";

/** Messages a worker sends; `t` tells which. */
export type FromWorker = { readonly t: string; readonly [key: string]: unknown };
/** Messages the node sends; `t` tells which. */
export type ToWorker = { readonly t: string; readonly [key: string]: unknown } | WorkerInit;

export interface WorkerInit {
  readonly t: "init";
  readonly callerId: number;
  readonly nodeId: string;
  readonly jobId: string;
  readonly namespace: string;
  readonly shmHeader: number;
  readonly logToDriver: boolean;
  /** Console output goes to the node as `log` messages, relayed to the work's driver (cluster nodes). */
  readonly relayLogs?: boolean;
  readonly entryScript: string | undefined;
  /** Entry scripts of drivers in other processes (see `Node.addEntryScript`). */
  readonly entryScripts?: readonly string[];
  /** Job packages unpacked on this node: `[root on the driver's machine, copy here]` (see `Node.addEntryScript`). */
  readonly moduleRoots?: ReadonlyArray<readonly [string, string]>;
  readonly jobEnv: Readonly<Record<string, string>> | undefined;
  /**
   * The runtime environment of the worker host this worker runs in (added by `HostWorker`), which
   * work submitted from it inherits; absent for in-process workers.
   */
  readonly runtimeEnv?: CompiledRuntimeEnv;
  /** The driver's `process.argv`, so module-level code reading it sees the same values. */
  readonly argv: readonly string[];
  /** The node's address once it serves a cluster (`ObjectRef.owner` of what the worker makes). */
  readonly owner?: string;
}

export class WorkerProc {
  readonly id: number;
  /** The Worker (or `HostWorker`); undefined while it waits to boot (see `BootGate`). */
  worker: Worker | undefined;
  state: WorkerState = "STARTING";
  /** Tasks sent and not finished, in the order the worker runs them. */
  readonly inflight: string[] = [];
  /** Resources held by the lease (tasks) or the actor. */
  alloc: Allocation | undefined;
  /** Scheduling class of the tasks this lease runs. */
  shape: string | undefined;
  /** Depth of `get`/`wait` calls the running task is blocked in. */
  blocked = 0;
  /** When this lease last started work from empty or finished a task (performance.now()). */
  lastProgress = 0;
  /** A request to hand back unstarted tasks is on its way. */
  yielding = false;
  actorId: string | undefined;
  /**
   * It holds modules of a job package that a newer job replaced (see `WorkerPool.retireTaskWorkers`):
   * it finishes the work it has and is never given more.
   */
  retired = false;
  idleSince = 0;
  /** Functions registered on this worker: registration key → index used by task messages. */
  readonly knownFns = new Map<string, number>();
  #out: ToWorker[] = [];
  readonly #block = new BlockBuilder();
  /** A flush is queued, or the proc has no Worker yet (so nothing schedules one until `boot`). */
  #scheduled = false;
  readonly #onMessages: (w: WorkerProc, batch: FromWorker[]) => void;
  readonly #onExit: (w: WorkerProc, code: number, error: string | undefined) => void;

  /** Key of the runtime environment the worker runs in (see `envKey`); undefined: this process. */
  readonly envKey: string | undefined;

  /**
   * `worker` is a `HostWorker` (same surface) running it in a worker-host process for a runtime
   * environment `envKey`, started already; without one the proc waits for {@link boot}.
   */
  constructor(
    id: number,
    onMessages: (w: WorkerProc, batch: FromWorker[]) => void,
    onExit: (w: WorkerProc, code: number, error: string | undefined) => void,
    worker?: Worker,
    envKey?: string,
  ) {
    this.id = id;
    this.envKey = envKey;
    this.#onMessages = onMessages;
    this.#onExit = onExit;
    this.worker = undefined;
    this.#scheduled = true;
    if (worker !== undefined) this.boot(worker);
  }

  /** Whether it has its Worker (false while it waits for a boot slot). */
  get booted(): boolean {
    return this.worker !== undefined;
  }

  /**
   * Gives the proc its Worker: messages queued so far go out, and `booted` runs once, at the
   * Worker's first message (it posts `ready` when it has run the init message) or at its first
   * error, whichever comes first (a Worker that fails to boot does not hold a boot slot).
   */
  boot(worker: Worker, booted?: () => void): void {
    this.worker = worker;
    let error: string | undefined;
    if (booted !== undefined) {
      const settle = () => {
        worker.removeEventListener("message", settle);
        worker.removeEventListener("error", settle);
        booted();
      };
      worker.addEventListener("message", settle);
      worker.addEventListener("error", settle);
    }
    const onMessages = this.#onMessages;
    worker.addEventListener("message", (e: MessageEvent) =>
      onMessages(this, unpackBatch(e.data as FromWorker[] | string)),
    );
    worker.addEventListener("error", (e: Event) => {
      const ev = e as ErrorEvent;
      // Bun's message may carry a preview of the source after the first line: keep the first.
      const text =
        ev.error instanceof Error
          ? `${ev.error.name}: ${ev.error.message}`
          : ev.message || String(ev.error ?? "unknown error");
      error = text.split("\n")[0] ?? text;
    });
    worker.addEventListener("close", (e: Event) => {
      const code = (e as CloseEvent).code ?? 0;
      if (this.state === "DEAD") return;
      this.state = "DEAD";
      this.#onExit(this, code, error);
    });
    // Workers never keep the process alive on their own: pending gets do (see keep-alive.ts).
    worker.unref();
    this.#scheduled = false;
    if (this.#out.length > 0 || this.#block.length > 0) this.#schedule();
  }

  /** No Worker could be started for this proc: it ends as a worker that exited at once. */
  failBoot(error: string): void {
    if (this.state === "DEAD") return;
    this.state = "DEAD";
    this.#out = [];
    this.#onExit(this, 1, error);
  }

  /** Queues a message; all messages queued in this turn go out together, in order. */
  send(msg: ToWorker): void {
    if (this.#block.length > 0) this.#out.push({ t: this.#blockKind(), cols: this.#block.take() });
    this.#out.push(msg);
    this.#schedule();
  }

  /**
   * Queues a plain task (registered function `fn`) or actor call (registered signature) with an
   * inline argument frame in the columnar batch.
   */
  sendTask(taskId: string, fn: number, args: Uint8Array): void {
    this.#block.add(taskId, fn, args);
    this.#schedule();
  }

  /** An actor's worker gets method calls in its columnar batches, a task worker tasks. */
  #blockKind(): "tasks" | "calls" {
    return this.actorId === undefined ? "tasks" : "calls";
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // A worker with plenty of work already sent is busy for a while: let more messages gather for
    // one turn of the event loop (each postMessage costs several microseconds on both sides). An
    // idle or nearly idle worker gets them at once.
    if (this.inflight.length - this.#block.length > DEFER_WHEN_QUEUED) setImmediate(() => this.flush());
    else queueMicrotask(() => this.flush());
  }

  flush(): void {
    this.#scheduled = false;
    // The common lone message (a Bun Worker of this process; a worker-host process relays arrays
    // only): the columnar block alone, written straight into its string form.
    if (this.#out.length === 0 && this.state !== "DEAD" && this.envKey === undefined) {
      const s = this.#block.takeString(this.#blockKind());
      if (s !== undefined) {
        (this.worker as Worker).postMessage(s);
        return;
      }
    }
    if (this.#block.length > 0) this.#out.push({ t: this.#blockKind(), cols: this.#block.take() });
    if (this.#out.length === 0 || this.state === "DEAD") return;
    const batch = this.#out;
    this.#out = [];
    // A worker-host process relays arrays only; a Bun Worker of this process takes the string form.
    (this.worker as Worker).postMessage((this.envKey === undefined && packSmallBatch(batch)) || batch);
  }

  /** Stops the worker at once (force cancel, kill, shutdown). */
  terminate(): void {
    if (this.state === "DEAD") return;
    this.state = "DEAD";
    this.#out = [];
    // (a proc still waiting to boot has no Worker: the pool drops it from the queue)
    this.worker?.terminate();
  }
}
