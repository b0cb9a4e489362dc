/**
 * Starting a driver's runtime on the main thread: an embedded cluster (a head and one node in this
 * process), or a connection to a running cluster (`driver-connect.ts`). Imported by module `rayts`'s entry and the CLI, never by workers, so a Worker does
 * not load the node's code when it boots.
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
import { type StartedDriver, setDriverConnector, setDriverStarter, stopDriver } from "./context.ts";
import { Core } from "./core.ts";
import { connectDriver } from "./driver-connect.ts";
import { randomId } from "./ids.ts";
import { reclaimer } from "./reclaimer.ts";
import { setJobRuntimeEnv } from "./remote.ts";

let exitHook = false;

/** Starts the driver's runtime as an embedded cluster (a remote address connects through `init`). */
function startEmbedded(options: InitOptions | undefined): StartedDriver {
  const o = validateInitOptions(options);
  const address = o.address ?? process.env.RAYTS_ADDRESS;
  if (address !== undefined && address !== "") {
    throw new RaytsError(
      `Not connected to ${address}: connecting is asynchronous, and the first rayts call came before it; call await init() first, run the script with rayts, or unset RAYTS_ADDRESS to use the embedded cluster`,
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
  setJobRuntimeEnv(c, o.runtimeEnv);
  if (!exitHook) {
    exitHook = true;
    // process.exit() skips async shutdown: unlink the shm segment synchronously at least.
    process.on("exit", () => stopDriver());
  }
  return { core: c, embedded: { head, node } };
}

setDriverStarter(startEmbedded);
setDriverConnector(connectDriver);
