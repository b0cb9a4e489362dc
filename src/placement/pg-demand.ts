/**
 * Scheduling into a placement group: which group and bundle a task or actor asked for, the resource
 * demand rewritten onto the bundle's resources, and the checks that make a bad request fail clearly
 * at submission (unknown or removed group, bundle index out of range, a demand larger than the
 * bundle).
 */
import { ActorUnschedulableError, TaskUnschedulableError } from "../errors.ts";
import type { CompiledSchedulingStrategy } from "../options/compile.ts";
import type { ActorSpec } from "../runtime/protocol.ts";
import type { NodeContext } from "../scheduler/node-context.ts";
import { type PlacementGroupManager, WAIT_FOR_GROUP } from "./pg-manager.ts";
import { bundleResourceName } from "./pg-types.ts";

/** A placement inside group `pgId`: bundle `index` (-1 = any bundle). */
export interface GroupPlacement {
  readonly pgId: string;
  readonly index: number;
  /** The work's own tasks go into the same group. */
  readonly capture: boolean;
  /** The bundles the group handle carries (checks on a node that does not know the group). */
  readonly bundles?: ReadonlyArray<Readonly<Record<string, number>>>;
}

/** The group placement a scheduling strategy asks for, if any. */
export function groupOf(s: CompiledSchedulingStrategy): GroupPlacement | undefined {
  if (typeof s !== "object" || !("placementGroup" in s)) return undefined;
  const carried = (s.placementGroup as { bundles?: unknown }).bundles;
  return {
    pgId: s.placementGroup.id,
    index: s.bundleIndex,
    capture: s.captureChildTasks,
    ...(Array.isArray(carried)
      ? { bundles: carried as ReadonlyArray<Readonly<Record<string, number>>> }
      : {}),
  };
}

/** `demand` as the bundle's resources (`{ CPU: 1 }` → `{ CPU_group_0_<pg>: 1 }`). */
export function groupDemand(
  demand: Readonly<Record<string, number>>,
  p: GroupPlacement,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(demand)) out[bundleResourceName(k, p.pgId, p.index)] = v;
  return out;
}

/** Why work cannot go into the group (an error to fail it with), or undefined when it can. */
export function checkGroupDemand(
  groups: PlacementGroupManager,
  what: string,
  demand: Readonly<Record<string, number>>,
  p: GroupPlacement,
): Error | undefined {
  // A node that neither coordinates nor holds the group trusts the bundles its handle carries.
  const bundles = groups.bundles(p.pgId) ?? p.bundles;
  if (bundles === undefined || groups.state(p.pgId) === "REMOVED") {
    return new TaskUnschedulableError(
      `${what} cannot be scheduled: placement group ${p.pgId} ${bundles === undefined ? "does not exist" : "was removed"}; create the group with placementGroup() and keep it until the work is done`,
    );
  }
  if (p.index >= bundles.length) {
    return new TaskUnschedulableError(
      `${what} cannot be scheduled: bundleIndex ${p.index} is out of range for placement group ${p.pgId}, which has ${bundles.length} bundle${bundles.length === 1 ? "" : "s"}; use 0 to ${bundles.length - 1}, or -1 for any`,
    );
  }
  const candidates = p.index < 0 ? bundles : [bundles[p.index] ?? {}];
  const fits = candidates.some((b) => Object.entries(demand).every(([k, v]) => (b[k] ?? 0) >= v));
  if (!fits) {
    return new TaskUnschedulableError(
      `${what} cannot be scheduled: it needs ${JSON.stringify(demand)}, more than ${p.index < 0 ? "any bundle" : `bundle ${p.index}`} of placement group ${p.pgId} holds (${JSON.stringify(p.index < 0 ? bundles : bundles[p.index])}); ask for less or make the bundle bigger`,
    );
  }
  return undefined;
}

/**
 * Where an actor in a group is created: the node holding its bundle (undefined = this node, or not
 * placed yet: `ActorManager` then waits for the group), or the error that fails its creation.
 */
export function groupActorTarget(
  ctx: NodeContext,
  spec: ActorSpec,
  p: GroupPlacement,
): string | undefined | Error {
  const t = ctx.placementGroups.workTarget(p, spec.opts.placementDemand);
  if (t === WAIT_FOR_GROUP) return undefined;
  if (t !== undefined && spec.contained.length > 0) {
    return new ActorUnschedulableError(
      `Actor ${spec.cls.name} cannot be created on node ${t}, which holds its bundle of placement group ${p.pgId}: actors with refs nested in their arguments do not run on another node yet; pass the refs as top-level arguments`,
    );
  }
  return t;
}
