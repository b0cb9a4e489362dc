/**
 * Actors waiting on a node for resources it has not free: the warning for one that can never start
 * anywhere, the list in creation order, placed again here once resources are freed, and sent on to
 * other nodes with room when one reports or joins (`respill`; the record moves to `RemoteActors`
 * with its queued calls, this node stays its home). The actor manager owns the records and places
 * them; this list only holds those waiting.
 */
import type { GroupPlacement } from "../placement/pg-demand.ts";
import type { NodeContext } from "../scheduler/node-context.ts";
import { placerOf } from "../scheduler/place-task.ts";
import { ResourceSet } from "../scheduler/resource-set.ts";
import type { ActorRecord } from "./actor-record.ts";
import { feasibleInCluster, respillable, warnInfeasible } from "./place-actor.ts";
import type { RemoteActors } from "./remote-actors.ts";

/** What the waiting list needs of the actor manager. */
export interface WaitingHost {
  /** Places the actor here now, or puts it back on the list with {@link WaitingActors.add}. */
  place(rec: ActorRecord): void;
  /** The actor's record moved to another node (`RemoteActors` has it now): drop it here. */
  moved(actorId: string): void;
}

export class WaitingActors {
  readonly #ctx: NodeContext;
  readonly #remote: RemoteActors;
  readonly #host: WaitingHost;
  readonly #list: ActorRecord[] = [];
  /** Actor classes warned infeasible already (once each). */
  readonly #warned = new Set<string>();

  constructor(ctx: NodeContext, remote: RemoteActors, host: WaitingHost) {
    this.#ctx = ctx;
    this.#remote = remote;
    this.#host = host;
  }

  /**
   * Warns (once per class) when the new actor `rec` can never start here and cannot move to a node
   * that fits it. An actor that may move warns only when no node can fit it: it goes to one with room.
   */
  warnIfInfeasible(rec: ActorRecord, group: GroupPlacement | undefined): void {
    const ctx = this.#ctx;
    const demand = rec.placementDemand;
    if (
      group === undefined &&
      !ctx.resources.isFeasible(demand) &&
      (!respillable(rec.spec, group) || !feasibleInCluster(ctx, demand))
    )
      warnInfeasible(ctx, this.#warned, rec.spec);
  }

  /** The actor found no room here: it waits (once) for resources to be freed or another node's room. */
  add(rec: ActorRecord): void {
    if (rec.waitingPlacement) return;
    rec.waitingPlacement = true;
    this.#list.push(rec);
  }

  /** Resources were freed: place actors that were waiting for room, in creation order. */
  placeAll(): void {
    if (this.#list.length === 0) return;
    const waiting = this.#list.splice(0);
    for (const rec of waiting) {
      rec.waitingPlacement = false;
      if (rec.state === "PENDING" || rec.state === "RESTARTING") this.#host.place(rec);
    }
  }

  /**
   * Another node reported (or joined): actors waiting here for resources this node has not free go,
   * oldest first, to the best-fitting nodes with their placement demand free now (the placer's
   * debits keep one report from taking more than that node has), the way a new actor spills
   * (`RemoteActors.create`): the record moves there with its queued calls, this node stays its
   * home. Actors pinned here with hard node affinity, in a placement group, or with refs nested in
   * their arguments stay (see `respillable`).
   */
  respill(): void {
    const ctx = this.#ctx;
    if (this.#list.length === 0 || ctx.cluster === undefined) return;
    const placer = placerOf(ctx);
    let moved = false;
    for (const rec of this.#list) {
      if (!rec.waitingPlacement || (rec.state !== "PENDING" && rec.state !== "RESTARTING")) continue;
      if (!respillable(rec.spec, rec.group)) continue;
      const want = ResourceSet.of(rec.placementDemand);
      if (ctx.resources.isFeasible(want) && ctx.resources.fits(want)) continue;
      const to = placer.bestFit(want, true);
      if (to === undefined) continue;
      this.#spill(rec, to);
      moved = true;
    }
    if (!moved) return;
    const left = this.#list.filter((r) => r.waitingPlacement);
    this.#list.splice(0, this.#list.length, ...left);
  }

  /**
   * Actor `rec`, waiting here for resources, is created on node `to` instead: its record and queued
   * calls move to `RemoteActors` (which pins their arguments itself, so this record's pins go after).
   */
  #spill(rec: ActorRecord, to: string): void {
    const ctx = this.#ctx;
    const spec = rec.spec;
    rec.waitingPlacement = false;
    this.#host.moved(spec.actorId);
    this.#remote.create(spec, to, rec.creator, rec.restarts);
    ctx.unpinArgs(spec.argRefs, spec.contained);
    for (const call of rec.queue.splice(0)) {
      this.#remote.submitCall(spec.actorId, call.spec, call.returnIds, call.attempt);
      ctx.unpinArgs(call.spec.argRefs, call.spec.contained);
    }
  }
}
