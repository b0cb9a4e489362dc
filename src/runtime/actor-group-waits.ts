/**
 * Actors created while their placement group's bundle is not placed yet (on a cluster, it may go to
 * another node): their calls and a `kill` wait, as for a name being claimed (`PendingClaim`), until
 * the group is placed (then the actor is created where its bundle is) or removed (then it dies, and
 * its calls fail with that cause). The actor manager creates the actor and submits the calls.
 */
import { RaytsError } from "../errors.ts";
import type { GroupPlacement } from "../placement/pg-demand.ts";
import { WAIT_FOR_GROUP } from "../placement/pg-manager.ts";
import type { NodeContext } from "../scheduler/node-context.ts";
import type { ActorNames, NameHost, PendingClaim } from "./actor-names.ts";
import type { CallerId } from "./node-api.ts";
import type { ActorSpec } from "./protocol.ts";

/** What a group wait needs of the actor manager (the same as the names'). */
export type GroupWaitHost = Pick<NameHost, "build" | "failCreation" | "submit" | "kill">;

export class GroupWaits {
  readonly #ctx: NodeContext;
  readonly #names: ActorNames;
  readonly #host: GroupWaitHost;
  /** Actors waiting for their placement group to be placed: their calls and a `kill` wait here. */
  readonly #waits = new Map<string, PendingClaim>();

  constructor(ctx: NodeContext, names: ActorNames, host: GroupWaitHost) {
    this.#ctx = ctx;
    this.#names = names;
    this.#host = host;
  }

  /** The calls and kill of actor `actorId` while it waits for its group, if it does. */
  pending(actorId: string): PendingClaim | undefined {
    return this.#waits.get(actorId);
  }

  /**
   * Actor `spec` in `group` waits for the group's bundle to be placed, then is created (or dies)
   * and its waiting calls and kill go on. False when there is nothing to wait for.
   */
  wait(caller: CallerId, spec: ActorSpec, group: GroupPlacement): boolean {
    const groups = this.#ctx.placementGroups;
    if (groups.workTarget(group, spec.opts.placementDemand) !== WAIT_FOR_GROUP) return false;
    const pending: PendingClaim = { calls: [], kill: undefined };
    this.#waits.set(spec.actorId, pending);
    groups.whenPlaced(group.pgId, (placed) => {
      this.#waits.delete(spec.actorId);
      try {
        if (!placed)
          throw new RaytsError(`its placement group ${group.pgId} was removed before it was placed`);
        this.#host.build(caller, spec);
      } catch (e) {
        this.#names.release(spec);
        this.#host.failCreation(spec, e instanceof Error ? e : new Error(String(e)));
      }
      for (const [c, call, returnIds] of pending.calls) this.#host.submit(c, call, returnIds);
      if (pending.kill !== undefined) this.#host.kill(spec.actorId, pending.kill);
    });
    return true;
  }
}
