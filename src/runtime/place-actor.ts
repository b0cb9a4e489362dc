/**
 * Where an actor placed by this node runs [Ray's GCS actor scheduling, simplified]: at creation,
 * this node or another one (node affinity, spillback when this node is busy), and after
 * its node died, the node it restarts on.
 */
import { ActorUnschedulableError, RaytsError } from "../errors.ts";
import {
  checkGroupDemand,
  type GroupPlacement,
  groupActorTarget,
  groupDemand,
  groupOf,
} from "../placement/pg-demand.ts";
import { infeasibleWarning } from "../scheduler/infeasible.ts";
import type { NodeContext } from "../scheduler/node-context.ts";
import { placerOf } from "../scheduler/place-task.ts";
import { ResourceSet } from "../scheduler/resource-set.ts";
import type { ActorSpec } from "./protocol.ts";

/**
 * Where an actor is created: another node's id, undefined for this node, or the error that fails
 * its creation. Hard node affinity goes to that node while it is alive; soft affinity falls back to
 * this node; `SPREAD` goes round-robin over the nodes whose totals fit, this one included; by
 * default an actor stays here while this node has its placement demand free now, else goes to the
 * best-fitting node with it free (`Placer.bestFit`, as for tasks), else waits here, also when only
 * another node's totals fit it (it is placed again when a node reports room: `respillable`). A
 * `SPREAD` actor that finds no node with room now waits here too. Actors in a placement group or
 * with refs nested in their arguments stay here.
 */
export function actorTarget(
  ctx: NodeContext,
  spec: ActorSpec,
  placementDemand: Readonly<Record<string, number>>,
  group: GroupPlacement | undefined,
): string | undefined | Error {
  const cluster = ctx.cluster;
  if (cluster === undefined) return undefined;
  if (group !== undefined) return groupActorTarget(ctx, spec, group);
  const others = cluster.others();
  const forwardable = group === undefined && spec.contained.length === 0;
  const sched = spec.opts.scheduling as unknown;
  if (typeof sched === "object" && sched !== null && "nodeId" in sched) {
    const { nodeId, soft } = sched as { nodeId: string; soft?: boolean };
    if (nodeId !== ctx.nodeId) {
      const alive = others.some((n) => n.nodeId === nodeId);
      if (alive && forwardable) return nodeId;
      if (soft === true) return undefined;
      return new ActorUnschedulableError(
        alive
          ? `Actor ${spec.cls.name} cannot be scheduled on node ${nodeId}: actors in a placement group or with refs nested in their arguments do not run on another node yet; pin it to this node or set soft: true`
          : `Actor ${spec.cls.name} cannot be scheduled: node ${nodeId} is not alive; pass a live node id from nodes(), or set soft: true`,
      );
    }
  }
  if (!forwardable || others.length === 0) return undefined;
  // The same choices as for tasks (`place-task.ts`), sharing the spread cursor and what was sent,
  // except that an actor no node has room for now waits here (even when this node can never fit
  // it) rather than on a busy node: from here it goes to the first node that reports room
  // (`ActorManager.respill`), as a pending actor in Ray's GCS does.
  const want = ResourceSet.of(placementDemand);
  const placer = placerOf(ctx);
  if (sched === "SPREAD") return placer.spread(want, true);
  const resources = ctx.resources;
  if (resources.isFeasible(want) && (want.isEmpty() || resources.fits(want))) return undefined;
  return placer.bestFit(want, true);
}

/** Whether this node or another alive one could ever fit `demand` (by their totals). */
export function feasibleInCluster(ctx: NodeContext, demand: Readonly<Record<string, number>>): boolean {
  if (ctx.resources.isFeasible(demand)) return true;
  const want = ResourceSet.of(demand);
  return (ctx.cluster?.others() ?? []).some((n) => ResourceSet.of(n.total).covers(want));
}

/**
 * Whether an actor waiting here for resources may be placed on another node: not pinned here with
 * hard node affinity, not in a placement group, no refs nested in its arguments (see `actorTarget`).
 */
export function respillable(spec: ActorSpec, group: GroupPlacement | undefined): boolean {
  if (group !== undefined || spec.contained.length > 0) return false;
  const sched = spec.opts.scheduling as unknown;
  if (typeof sched !== "object" || sched === null) return true;
  return "nodeId" in sched && (sched as { soft?: boolean }).soft === true;
}

/**
 * Where an actor restarts after node `gone` died: another alive node whose free resources fit its
 * placement demand, else one whose totals fit, else this node when it can ever fit it (undefined),
 * else an error saying so.
 */
export function restartTarget(
  ctx: NodeContext,
  demand: Readonly<Record<string, number>>,
  gone: string,
): string | undefined | Error {
  const want = ResourceSet.of(demand);
  let fits: string | undefined;
  for (const n of ctx.cluster?.others() ?? []) {
    if (n.nodeId === gone || !ResourceSet.of(n.total).covers(want)) continue;
    if (ResourceSet.of(n.available).covers(want)) return n.nodeId;
    fits ??= n.nodeId;
  }
  if (fits !== undefined) return fits;
  if (ctx.resources.isFeasible(demand)) return undefined;
  return new RaytsError(`no other node can fit it (it needs ${JSON.stringify(demand)}); add a node that can`);
}

/** Where a new actor goes, and what placing it takes (rewritten into its placement group, if any). */
export interface Placement {
  readonly placementDemand: Readonly<Record<string, number>>;
  readonly group: GroupPlacement | undefined;
  readonly target: string | undefined;
}

/** Where `spec`'s actor goes; throws ActorUnschedulableError when it cannot be scheduled. */
export function actorPlacement(ctx: NodeContext, spec: ActorSpec): Placement {
  const group = groupOf(spec.opts.scheduling);
  if (group !== undefined) {
    const bad = checkGroupDemand(
      ctx.placementGroups,
      `Actor ${spec.cls.name}`,
      spec.opts.placementDemand,
      group,
    );
    if (bad !== undefined) throw new ActorUnschedulableError(bad.message);
  }
  const placementDemand =
    group === undefined ? spec.opts.placementDemand : groupDemand(spec.opts.placementDemand, group);
  const target = actorTarget(ctx, spec, placementDemand, group);
  if (target instanceof Error) throw target;
  return { placementDemand, group, target };
}

/**
 * Warns once per demand shape (and job, on a cluster: each connected driver hears of its own) that
 * an actor can fit no node of the cluster (it stays pending).
 */
export function warnInfeasible(ctx: NodeContext, warned: Set<string>, spec: ActorSpec): void {
  const key = JSON.stringify(spec.opts.placementDemand);
  const once = spec.job === undefined ? key : `${key}\u0000${spec.job}`;
  if (warned.has(once)) return;
  warned.add(once);
  ctx.warn(
    infeasibleWarning(ctx, `Actor ${spec.cls.name}`, spec.opts.placementDemand, pinnedBy(ctx, spec)),
    undefined,
    spec.actorId,
  );
}

/** Why an actor placed by this node must stay here (see {@link actorTarget}), if it must. */
function pinnedBy(ctx: NodeContext, spec: ActorSpec): string | undefined {
  const sched = spec.opts.scheduling as unknown;
  if (typeof sched === "object" && sched !== null && "nodeId" in sched) {
    const { nodeId, soft } = sched as { nodeId: string; soft?: boolean };
    if (nodeId === ctx.nodeId && soft !== true) return "its hard node affinity names this node";
  }
  if (spec.contained.length > 0)
    return "an actor with refs nested in its arguments stays on the node that creates it";
  return undefined;
}
