/**
 * The node a `rayts head` or `rayts node` process runs: a real `Node` (worker pool, scheduler, shm
 * store) with a local `Head` object for its own bookkeeping, built the way the embedded driver builds
 * one, from the resource flags of the command line.
 */
import os from "node:os";
import { Head } from "../head.ts";
import { Node } from "../node.ts";
import { randomId } from "../runtime/ids.ts";
import { detectGpusSync } from "../scheduler/gpu-detect.ts";
import type { ResourceFlags } from "./cluster-flags.ts";
import type { NodeReport } from "./cluster-protocol.ts";

/** Starts a node with the resources `flags` ask for (defaults: this machine's CPUs, GPUs, 30% of memory for objects). */
export function startLocalNode(flags: ResourceFlags): Node {
  const gpuIds =
    flags.numGpus !== undefined
      ? Array.from({ length: Math.floor(flags.numGpus) }, (_, i) => i)
      : detectGpusSync();
  const totalMemory = os.totalmem();
  const objectStoreMemory = flags.objectStoreMemory ?? Math.floor(totalMemory * 0.3);
  const resources: Record<string, number> = {
    CPU: flags.numCpus ?? os.availableParallelism(),
    memory: Math.max(0, Math.floor((totalMemory - objectStoreMemory) * 0.7)),
    object_store_memory: objectStoreMemory,
    ...flags.resources,
  };
  const numGpus = flags.numGpus ?? gpuIds.length;
  if (numGpus > 0) resources.GPU = numGpus;
  // Until drivers connect (and bring their job), the node runs under a job of its own.
  return new Node(new Head(), {
    resources,
    gpuIds,
    objectStoreMemory,
    jobId: randomId(8),
    namespace: "default",
    logToDriver: false,
    // Worker output goes to the driver of the work, through the connections it came by.
    relayLogs: true,
    entryScript: undefined,
    jobEnv: undefined,
  });
}

/** What `node` tells the head with each heartbeat. */
export function nodeReport(node: Node): NodeReport {
  const stats = node.store.stats();
  return {
    total: node.resources.total(),
    available: node.resources.available(),
    pendingDemand: node.tasks.pendingDemand(),
    store: {
      objects: stats.objects,
      usedBytes: stats.shmUsed + stats.inlineBytes,
      capacityBytes: stats.shmCapacity,
    },
  };
}
