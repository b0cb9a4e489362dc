/**
 * Placement-group shapes shared by the public API, the nodes and the coordinator.
 */

/** How the bundles of a group are laid out over nodes, as in Ray. */
export type PlacementStrategy = "PACK" | "SPREAD" | "STRICT_PACK" | "STRICT_SPREAD";

/**
 * `PENDING` until every bundle is reserved, `CREATED` then, `RESCHEDULING` while bundles lost with
 * their node wait to be placed again, `REMOVED` for good.
 */
export type PlacementGroupState = "PENDING" | "CREATED" | "RESCHEDULING" | "REMOVED";

export const STRATEGIES: readonly PlacementStrategy[] = ["PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"];

/** What creating a group sends to the node. */
export interface PlacementGroupSpec {
  readonly id: string;
  readonly bundles: ReadonlyArray<Readonly<Record<string, number>>>;
  readonly strategy: PlacementStrategy;
  readonly name: string | undefined;
  readonly namespace: string;
  readonly detached: boolean;
  /** The job a non-detached group belongs to on a cluster (see `TaskSpec.job`): removed when it ends. */
  job?: string;
  /** The task that created it, if any (its job is the group's). */
  readonly parentTaskId?: string;
}

/** A group as `placementGroupTable` reports it. */
export interface PlacementGroupInfo {
  readonly placementGroupId: string;
  readonly name: string | undefined;
  readonly namespace: string;
  readonly strategy: PlacementStrategy;
  readonly state: PlacementGroupState;
  readonly bundles: ReadonlyArray<Readonly<Record<string, number>>>;
  /** Bundle index → node id, for reserved bundles. */
  readonly bundlesToNode: Readonly<Record<number, string>>;
}

/** Ray's resource names for bundle `index` of group `pgId`: indexed and any-bundle (wildcard). */
export function bundleResourceName(resource: string, pgId: string, index: number): string {
  return index < 0 ? `${resource}_group_${pgId}` : `${resource}_group_${index}_${pgId}`;
}

/** The custom resources a reserved bundle publishes (indexed and any-bundle names). */
export function groupResources(
  bundle: Readonly<Record<string, number>>,
  pgId: string,
  index: number,
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(bundle)) {
    out[bundleResourceName(k, pgId, index)] = v;
    out[bundleResourceName(k, pgId, -1)] = (out[bundleResourceName(k, pgId, -1)] ?? 0) + v;
  }
  return out;
}

/**
 * What a node answers to the coordinator's prepare, commit and release: what it has free now of the
 * resources the group's bundles name (just those).
 */
export interface BundleReply {
  readonly ok: boolean;
  readonly available: Readonly<Record<string, number>>;
}

const keysOf = new WeakMap<object, readonly string[]>();

/** The resource names a group's bundles ask for (computed once per bundle list). */
export function bundleKeys(bundles: ReadonlyArray<Readonly<Record<string, number>>>): readonly string[] {
  let keys = keysOf.get(bundles);
  if (keys === undefined) {
    const set = new Set<string>();
    for (const b of bundles) for (const k of Object.keys(b)) set.add(k);
    keys = [...set];
    keysOf.set(bundles, keys);
  }
  return keys;
}
