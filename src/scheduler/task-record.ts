/**
 * What the task manager keeps per task and per scheduling class, and how a task's resource demand
 * becomes a scheduling class (compiled once per options object: the shape key names the class).
 */
import type { CompiledRuntimeEnv } from "../options/runtime-env.ts";
import type { GroupPlacement } from "../placement/pg-demand.ts";
import type { CallerId } from "../runtime/node-api.ts";
import type { TaskSpec } from "../runtime/protocol.ts";
import type { WorkerProc } from "../worker/worker-proc.ts";
import { ResourceSet } from "./resource-set.ts";

export type TaskState = "WAITING" | "QUEUED" | "RUNNING" | "FINISHED";

export interface TaskRecord {
  readonly spec: TaskSpec;
  readonly caller: CallerId;
  readonly demand: ResourceSet;
  readonly shape: string;
  /** The runtime environment needing a worker host (own or inherited from the parent task), if any. */
  readonly env: CompiledRuntimeEnv | undefined;
  readonly returnIds: readonly string[];
  state: TaskState;
  deps: number;
  attempt: number;
  cancelled: boolean;
  worker: WorkerProc | undefined;
  children: string[] | undefined;
  /** The placement group bundle the task runs in, if any. */
  readonly group: GroupPlacement | undefined;
  /** The other node the task is forwarded to once its arguments are ready (undefined: here). */
  target: string | undefined;
}

/** Ready tasks of one scheduling class, and the leases running that class. */
export interface ShapeQueue {
  readonly demand: ResourceSet;
  items: TaskRecord[];
  head: number;
  readonly leases: Set<WorkerProc>;
}

/** Compiled demands by options object. */
const demandCache = new WeakMap<object, { set: ResourceSet; key: string }>();

/** The scheduling class of a task's own demand (cached per options object). */
export function demandOf(spec: TaskSpec): { set: ResourceSet; key: string } {
  let d = demandCache.get(spec.opts);
  if (d === undefined) {
    d = compileDemand(spec.opts.demand);
    demandCache.set(spec.opts, d);
  }
  return d;
}

/**
 * Compiled demands by their fields in arrival order: specs decoded off the wire bring a fresh
 * options object every time, so the options-object cache above misses for them. Few distinct
 * demands exist; the map is emptied should it ever grow past a few thousand.
 */
const demandByFields = new Map<string, { set: ResourceSet; key: string }>();

/** A demand as a resource set and its class key. */
export function compileDemand(rec: Readonly<Record<string, number>>): { set: ResourceSet; key: string } {
  const names = Object.keys(rec);
  let fields = "";
  for (const k of names) fields += `${k}=${rec[k]},`;
  let d = demandByFields.get(fields);
  if (d === undefined) {
    const key = names
      .sort()
      .map((k) => `${k}=${rec[k]}`)
      .join(",");
    d = { set: ResourceSet.of(rec), key };
    if (demandByFields.size >= 4096) demandByFields.clear();
    demandByFields.set(fields, d);
  }
  return d;
}
