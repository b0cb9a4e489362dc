/**
 * What a node keeps per actor it runs and per call queued or running on one: the record's states,
 * its worker and resources, its calls, restarts and death.
 */
import type { GroupPlacement } from "../placement/pg-demand.ts";
import type { NodeContext } from "../scheduler/node-context.ts";
import type { Allocation } from "../scheduler/node-resources.ts";
import type { WorkerProc } from "../worker/worker-proc.ts";
import { objectIdFor } from "./ids.ts";
import type { CallerId } from "./node-api.ts";
import type { ActorCallSpec, ActorSpec, Payload } from "./protocol.ts";

export type ActorState = "PENDING" | "ALIVE" | "RESTARTING" | "DEAD";

export interface CallRecord {
  readonly spec: ActorCallSpec;
  readonly returnIds: readonly string[];
  deps: number;
  attempt: number;
  /** Answered TaskCancelledError already; the worker's late result is dropped. */
  cancelled?: boolean;
}

export interface ActorRecord {
  readonly spec: ActorSpec;
  state: ActorState;
  worker: WorkerProc | undefined;
  alloc: Allocation | undefined;
  readonly queue: CallRecord[];
  readonly inflight: Map<string, CallRecord>;
  restarts: number;
  deps: number;
  death: Payload | undefined;
  waitingPlacement: boolean;
  /** What placing the actor takes, and what it holds while alive (rewritten into its group, if any). */
  readonly placementDemand: Readonly<Record<string, number>>;
  readonly demand: Readonly<Record<string, number>>;
  readonly group: GroupPlacement | undefined;
  /** Who created it: a non-detached actor dies when its driver exits. */
  readonly creator: CallerId;
}

/** A new actor's record, pending placement. */
export function newRecord(
  spec: ActorSpec,
  placementDemand: Readonly<Record<string, number>>,
  demand: Readonly<Record<string, number>>,
  group: GroupPlacement | undefined,
  creator: CallerId,
): ActorRecord {
  return {
    creator,
    spec,
    state: "PENDING",
    worker: undefined,
    alloc: undefined,
    queue: [],
    inflight: new Map(),
    restarts: 0,
    deps: 0,
    death: undefined,
    waitingPlacement: false,
    placementDemand,
    demand,
    group,
  };
}

/** Expects a call's return objects for `caller` (and opens its stream): its returns' ids. */
export function expectReturns(ctx: NodeContext, caller: CallerId, spec: ActorCallSpec): string[] {
  const returnIds: string[] = [];
  for (let i = 1; i <= spec.numReturns; i++) {
    const id = objectIdFor(spec.taskId, i);
    returnIds.push(id);
    ctx.store.expect(id);
    ctx.holdFor(caller, id);
  }
  if (spec.streaming === true) ctx.streams.open(spec.taskId, caller);
  return returnIds;
}
