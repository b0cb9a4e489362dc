/**
 * The node's side of a worker-host process: an object shaped like a Bun `Worker` (`postMessage`,
 * `message`/`error`/`close` events, `terminate`, `unref`) whose worker runs in a child process of
 * this binary (`rayts __worker-host`, see `worker-host.ts`) with a runtime environment's directory
 * as cwd and its `node_modules` on the module path. `WorkerProc` wraps it like any Worker.
 *
 * Messages posted before the environment is built and the child started are queued. If the
 * environment cannot be built, every task sent here is answered with the `RuntimeEnvSetupError`
 * (not retried), an actor's creation with an `ActorDiedError` caused by it, and the worker is never
 * reused.
 */
import type { Subprocess } from "bun";
import { ActorDiedError, type RuntimeEnvSetupError } from "../errors.ts";
import type { CompiledRuntimeEnv } from "../options/runtime-env.ts";
import { toPayload } from "../runtime/payload.ts";
import { buildEnv } from "../runtime-env/build-env.ts";
import { serialize } from "../serialize/codec.ts";
import { ShmArena } from "../store/shm-arena.ts";
import { type Columns, forEachItem } from "./task-block.ts";

type Batch = Array<{ t: string; [key: string]: unknown }>;

/** What the child sends: a batch from its worker, the worker's error text, or its close code. */
export type FromHost =
  | { readonly k: "m"; readonly d: unknown }
  | { readonly k: "e"; readonly text: string }
  | { readonly k: "c"; readonly code: number };

/** The command line that starts a worker host from this executable (binary or sources). */
function hostCommand(): string[] {
  if (Bun.isStandaloneExecutable) return [process.execPath, "__worker-host"];
  return [process.execPath, new URL("../cli/main.ts", import.meta.url).pathname, "__worker-host"];
}

export class HostWorker extends EventTarget {
  #child: Subprocess | undefined;
  #queue: Batch[] = [];
  #state: "building" | "ready" | "failed" | "closed" = "building";
  #error: RuntimeEnvSetupError | undefined;
  #ref = true;
  #closed = false;
  readonly #env: CompiledRuntimeEnv;

  constructor(env: CompiledRuntimeEnv) {
    super();
    this.#env = env;
    buildEnv(env).then(
      (built) => {
        if (this.#state !== "building") return;
        this.#start(built.cwd, built.nodePath);
      },
      (err: RuntimeEnvSetupError) => {
        if (this.#state !== "building") return;
        this.#state = "failed";
        this.#error = err;
        const queued = this.#queue;
        this.#queue = [];
        for (const batch of queued) this.#refuse(batch);
      },
    );
  }

  /** The environment could not be built: this worker only answers with the error. */
  get failed(): boolean {
    return this.#state === "failed";
  }

  postMessage(data: unknown): void {
    const batch = data as Batch;
    for (let i = 0; i < batch.length; i++) {
      const m = batch[i] as Batch[number];
      // The child maps the node's segment by name: an address means nothing in another process.
      if (m.t !== "init") continue;
      // The environment travels with the worker's init: what it submits inherits it.
      batch[i] = { ...m, runtimeEnv: this.#env };
      if (typeof m.shmHeader === "number" && m.shmHeader !== 0) {
        batch[i] = { ...batch[i]!, shmName: ShmArena.fromAddress(m.shmHeader).name };
      }
    }
    switch (this.#state) {
      case "building":
        this.#queue.push(batch);
        return;
      case "ready":
        this.#child?.send(batch);
        return;
      case "failed":
        this.#refuse(batch);
        return;
      case "closed":
        return;
    }
  }

  terminate(): void {
    if (this.#state === "closed") return;
    const child = this.#child;
    this.#state = "closed";
    this.#queue = [];
    if (child !== undefined) child.kill();
    else this.#close(0);
  }

  unref(): void {
    this.#ref = false;
    this.#child?.unref();
  }

  ref(): void {
    this.#ref = true;
    this.#child?.ref();
  }

  #start(cwd: string, nodePath: readonly string[]): void {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && k !== "BUN_BE_BUN") env[k] = v;
    const inherited = env.NODE_PATH;
    env.NODE_PATH = [...nodePath, ...(inherited ? [inherited] : [])].join(":");
    try {
      this.#child = Bun.spawn(hostCommand(), {
        cwd,
        env,
        stdin: "ignore",
        stdout: "inherit",
        stderr: "inherit",
        serialization: "advanced",
        ipc: (message: FromHost) => this.#onChild(message),
        onExit: (_proc, code, signal) => this.#close(code ?? (signal ? 1 : 0)),
      });
    } catch (err) {
      this.#state = "closed";
      this.dispatchEvent(
        new ErrorEvent("error", { message: `Cannot start a worker host: ${(err as Error).message}` }),
      );
      this.#close(1);
      return;
    }
    if (!this.#ref) this.#child.unref();
    this.#state = "ready";
    const queued = this.#queue;
    this.#queue = [];
    for (const batch of queued) this.#child.send(batch);
  }

  #onChild(message: FromHost): void {
    if (message.k === "m") this.dispatchEvent(new MessageEvent("message", { data: message.d }));
    else if (message.k === "e") this.dispatchEvent(new ErrorEvent("error", { message: message.text }));
  }

  #close(code: number): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#state = "closed";
    queueMicrotask(() => this.dispatchEvent(Object.assign(new Event("close"), { code })));
  }

  /** Answers every task in `batch` with the setup error, and every actor creation with its death. */
  #refuse(batch: Batch): void {
    const err = this.#error as RuntimeEnvSetupError;
    const out: Batch = [];
    const fail = (taskId: string) =>
      out.push({
        t: "done",
        taskId,
        values: [toPayload(serialize(err, "error"), undefined, () => -1)],
        contained: [],
        errorName: err.name,
        fatal: true,
      });
    for (const m of batch) {
      if (m.t === "actor") {
        const cls = (m.cls as { name?: string } | undefined)?.name ?? "actor";
        const died = new ActorDiedError(
          `Actor ${cls} died: its runtime environment could not be set up: ${err.message}`,
          { cause: err },
        );
        out.push({
          t: "actorFailed",
          actorId: m.actorId,
          error: toPayload(serialize(died, "error"), undefined, () => -1),
        });
      } else if (m.t === "task") fail(m.taskId as string);
      else if (m.t === "tasks") forEachItem(m.cols as Columns, (taskId) => fail(taskId));
    }
    if (out.length > 0) queueMicrotask(() => this.dispatchEvent(new MessageEvent("message", { data: out })));
  }
}
