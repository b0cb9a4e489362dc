/**
 * The entry of every Bun Worker of a node. It installs module `rayts` for user code, waits for the
 * node's init message, then runs what the node sends: tasks, an actor and its calls.
 */

import { ObjectStoreFullError } from "../errors.ts";
import { installEntryFilter } from "../loader/entry-loader.ts";
import { installRaytsModule } from "../loader/rayts-module.ts";
import { makeActorHandle } from "../runtime/actor-handle.ts";
import { setCore } from "../runtime/context.ts";
import { Core } from "../runtime/core.ts";
import { addModuleRoot, moduleHalted, preloadModule } from "../runtime/function-registry.ts";
import { markWorkerThread } from "../runtime/loading-mode.ts";
import type {
  ActorCallDispatch,
  ActorCreateDispatch,
  FunctionRegistration,
  Payload,
  TaskDispatch,
} from "../runtime/protocol.ts";
import { reclaimer } from "../runtime/reclaimer.ts";
import { setJobRuntimeEnv } from "../runtime/remote.ts";
import { ShmArena } from "../store/shm-arena.ts";
import { installConsolePrefix, installStreamPrefix, type LogRelay } from "./console-prefix.ts";
import { Executor, taskContext } from "./executor.ts";
import { type Columns, unpackBatch } from "./task-block.ts";
import { WorkerLink } from "./worker-link.ts";
import type { WorkerInit } from "./worker-proc.ts";

declare const self: Worker;

installRaytsModule();
markWorkerThread(() => taskContext.getStore() !== undefined, moduleHalted);

let link: WorkerLink | undefined;
let executor: Executor | undefined;
let core: Core | undefined;

function start(init: WorkerInit): void {
  process.argv = [...init.argv];
  link = new WorkerLink(init.nodeId, init.shmHeader);
  const arena = init.shmHeader !== 0 ? ShmArena.fromAddress(init.shmHeader) : undefined;
  core = new Core({
    api: link,
    caller: init.callerId,
    arena,
    alloc: (size) => {
      const off = arena === undefined ? -1 : arena.alloc(size);
      if (off < 0) {
        const s = arena?.stats();
        throw new ObjectStoreFullError(
          `Object store is full: ${s?.used ?? 0} bytes used of ${s?.capacity ?? 0}, ${size} asked for; raise objectStoreMemory or drop and free() refs`,
        );
      }
      return off;
    },
    jobId: init.jobId,
    namespace: init.namespace,
    workerId: `${init.nodeId.slice(0, 8)}-${init.callerId}`,
    jobEnv: init.jobEnv,
    currentTask: () => taskContext.getStore(),
    makeActorHandle,
  });
  core.owner = init.owner ?? "";
  setCore(core);
  // Work submitted from a worker host runs in its environment unless given fields of its own.
  setJobRuntimeEnv(core, init.runtimeEnv);
  executor = new Executor(core, link);
  const ex = executor;
  // On a cluster's node, output goes to the node, which relays it to the driver of the work.
  const relay: LogRelay | undefined = init.relayLogs
    ? {
        where: `node=${init.nodeId.slice(0, 8)}`,
        sink: (text, err) => {
          // An actor's output goes to whoever created it, also between calls.
          const taskId = ex.currentTaskId();
          const actorId = ex.currentActorId();
          if (taskId !== undefined || actorId !== undefined)
            link?.post({ t: "log", taskId: taskId ?? "", actorId, text, err });
        },
      }
    : undefined;
  installConsolePrefix(() => ex.currentName(), init.logToDriver || relay !== undefined, relay);
  installStreamPrefix(() => ex.currentName(), init.logToDriver || relay !== undefined, relay);
  if (init.entryScript !== undefined) {
    installEntryFilter(init.entryScript);
    preloadModule(init.entryScript);
  }
  for (const [root, dir] of init.moduleRoots ?? []) addModuleRoot(root, dir);
  for (const path of init.entryScripts ?? []) installEntryFilter(path);
  // Booted: the node's boot gate frees this worker's slot (see boot-gate.ts).
  link.post({ t: "ready" });
}

self.onmessage = (event: MessageEvent) => {
  const batch = unpackBatch(event.data as Array<{ t: string; [k: string]: unknown }> | string);
  for (const m of batch) {
    switch (m.t) {
      case "init":
        start(m as unknown as WorkerInit);
        break;
      case "entry":
        // A job package's copy on this node: its modules load from there (see function-registry.ts).
        if (typeof m.root === "string" && typeof m.dir === "string") addModuleRoot(m.root, m.dir);
        installEntryFilter(m.path as string);
        break;
      case "owner":
        if (core !== undefined) core.owner = m.address as string;
        break;
      case "fn":
        executor?.register(m as unknown as FunctionRegistration);
        break;
      case "tasks":
        executor?.enqueueColumns(m.cols as Columns);
        break;
      case "task":
        executor?.enqueue(m as unknown as TaskDispatch);
        break;
      case "actor":
        void executor?.createActor(m as unknown as ActorCreateDispatch);
        break;
      case "sig":
        executor?.registerSignature(
          m.idx as number,
          m.method as string,
          m.numReturns as number,
          m.name as string,
        );
        break;
      case "calls":
        executor?.enqueueCallColumns(m.cols as Columns);
        break;
      case "call":
        executor?.call(m as unknown as ActorCallDispatch);
        break;
      case "reply":
        link?.onReply(m.id as number, m.ok as boolean, m.v, m.e as Payload | undefined);
        break;
      case "cancel":
        executor?.cancel(m.taskId as string);
        break;
      case "yield":
        executor?.yieldQueued();
        break;
      case "gc":
        Bun.gc(true);
        reclaimer.sweep();
        link?.post({ t: "gcDone", id: m.id });
        break;
    }
  }
};

// A user's stray rejection (a promise nobody awaited) must not kill the worker and its queue.
process.on("unhandledRejection", (reason: unknown) => {
  if (reason instanceof Error && reason.name === "DriverCodeHalted") return;
  console.error("Unhandled rejection in remote code:", reason);
});
