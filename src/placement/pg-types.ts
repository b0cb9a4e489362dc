/**
 * Placement-group shapes shared by the public API, the node and (later) the head.
 */

/** How the bundles of a group are laid out over nodes, as in Ray. */
export type PlacementStrategy = "PACK" | "SPREAD" | "STRICT_PACK" | "STRICT_SPREAD";

/** `PENDING` until every bundle is reserved, `CREATED` then, `REMOVED` for good. */
export type PlacementGroupState = "PENDING" | "CREATED" | "REMOVED";

export const STRATEGIES: readonly PlacementStrategy[] = ["PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"];

/** What creating a group sends to the node. */
export interface PlacementGroupSpec {
  readonly id: string;
  readonly bundles: ReadonlyArray<Readonly<Record<string, number>>>;
  readonly strategy: PlacementStrategy;
  readonly name: string | undefined;
  readonly namespace: string;
  readonly detached: boolean;
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
