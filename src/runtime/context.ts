/**
 * The runtime of this thread. On the driver, the first API call (or `init`) starts the embedded
 * cluster: a head and one node in this process, workers as Bun Workers. On a worker, the Worker entry
 * installs a runtime that talks to its node over the message channel.
 */
import os from "node:os";
import { getEntryScript } from "../cli/entry-script.ts";
import { RaytsError } from "../errors.ts";
import { Head } from "../head.ts";
import { Node } from "../node.ts";
import { validateInitOptions } from "../options/compile.ts";
import type { InitOptions } from "../options/types.ts";
import { detectGpusSync } from "../scheduler/gpu-detect.ts";
import { makeActorHandle } from "./actor-handle.ts";
import { Core } from "./core.ts";
import { randomId } from "./ids.ts";
import { reclaimer } from "./reclaimer.ts";

let core: Core | undefined;
let embedded: { head: Head; node: Node } | undefined;
let exitHook = false;

/** Installs the runtime of a worker thread. */
export function setCore(c: Core): void {
  core = c;
}

export function currentCore(): Core | undefined {
  return core;
}

/** This thread's runtime, starting the embedded cluster on the driver when none runs yet. */
export function ensureCore(): Core {
  return core ?? startDriver(undefined);
}

/** The embedded node (driver only), for tests and status. */
export function embeddedNode(): Node | undefined {
  return embedded?.node;
}

/** Starts the driver's runtime: today always an embedded cluster (a remote address comes with the cluster). */
export function startDriver(options: InitOptions | undefined): Core {
  if (core !== undefined)
    throw new RaytsError("Already initialized: call shutdown() first, or drop the second init()");
  const o = validateInitOptions(options);
  const address = o.address ?? process.env.RAYTS_ADDRESS;
  if (address !== undefined && address !== "") {
    throw new RaytsError(
      `Cannot connect to ${address}: connecting to a running cluster is not supported by this build yet; unset RAYTS_ADDRESS to use the embedded cluster`,
    );
  }
  const gpuIds =
    o.numGpus !== undefined ? Array.from({ length: Math.floor(o.numGpus) }, (_, i) => i) : detectGpusSync();
  const numCpus = o.numCpus ?? os.availableParallelism();
  const total = os.totalmem();
  const objectStoreMemory = o.objectStoreMemory ?? Math.floor(total * 0.3);
  const resources: Record<string, number> = {
    CPU: numCpus,
    memory: Math.max(0, Math.floor((total - objectStoreMemory) * 0.7)),
    object_store_memory: objectStoreMemory,
    ...o.resources,
  };
  if (o.numGpus !== undefined ? o.numGpus > 0 : gpuIds.length > 0) resources.GPU = o.numGpus ?? gpuIds.length;
  const jobId = randomId(8);
  const namespace = o.namespace ?? `anon-${randomId(12)}`;
  const jobEnv = o.runtimeEnv?.envVars;
  const head = new Head();
  const node = new Node(head, {
    resources,
    gpuIds,
    objectStoreMemory,
    jobId,
    namespace,
    logToDriver: o.logToDriver ?? true,
    entryScript: getEntryScript(),
    jobEnv,
  });
  embedded = { head, node };
  // A full store first frees what nothing references any more: collect, then sweep dead refs and
  // views synchronously (put is synchronous), and ask workers to collect for next time.
  node.reclaimLocal = () => reclaimer.sweep();
  node.store.reclaimHook = () => {
    Bun.gc(true);
    reclaimer.sweep();
    void node.collectWorkers();
  };
  const c = new Core({
    api: node,
    caller: 0,
    arena: node.arena,
    alloc: (size) => node.store.allocShm(size),
    jobId,
    namespace,
    workerId: `${node.nodeId.slice(0, 8)}-driver`,
    jobEnv,
    currentTask: () => undefined,
    makeActorHandle,
  });
  core = c;
  if (!exitHook) {
    exitHook = true;
    // process.exit() skips async shutdown: unlink the shm segment synchronously at least.
    process.on("exit", () => stopDriver());
  }
  return c;
}

/** Stops the driver's runtime and the embedded cluster. */
export function stopDriver(): void {
  const c = core;
  core = undefined;
  c?.close();
  embedded?.node.close();
  embedded = undefined;
}
