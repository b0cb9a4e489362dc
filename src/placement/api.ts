/**
 * Placement groups: reserve bundles of resources as one unit, then schedule tasks and actors into
 * them with `scheduling: { placementGroup, bundleIndex }`.
 *
 * @example
 * const pg = placementGroup([{ CPU: 1 }, { CPU: 1 }], { strategy: "PACK" });
 * await pg.ready();
 * f.options({ scheduling: { placementGroup: pg, bundleIndex: 0 } }).remote();
 * await removePlacementGroup(pg);
 */
import { RaytsError } from "../errors.ts";
import { ensureCore } from "../runtime/context.ts";
import { newTaskId } from "../runtime/ids.ts";
import { isDriverCodeOnWorker } from "../runtime/loading-mode.ts";
import { type PlacementGroupInfo, type PlacementStrategy, STRATEGIES } from "./pg-types.ts";

export type { PlacementGroupInfo, PlacementGroupState, PlacementStrategy } from "./pg-types.ts";

/** Options of {@link placementGroup}. */
export interface PlacementGroupOptions {
  /** How bundles are laid out over nodes (default `"PACK"`). */
  readonly strategy?: PlacementStrategy;
  /** A name to find the group by with `getPlacementGroup`, unique in the namespace. */
  readonly name?: string;
  /** `"detached"`: the group outlives its driver. */
  readonly lifetime?: "detached";
}

/** A group of reserved bundles. Plain data (its id travels), so it can be passed to tasks. */
export class PlacementGroup {
  readonly id: string;
  readonly bundles: ReadonlyArray<Readonly<Record<string, number>>>;
  readonly strategy: PlacementStrategy;
  readonly name: string | undefined;

  constructor(
    id: string,
    bundles: ReadonlyArray<Readonly<Record<string, number>>>,
    strategy: PlacementStrategy,
    name?: string,
  ) {
    this.id = id;
    this.bundles = bundles;
    this.strategy = strategy;
    this.name = name;
  }

  /** Resolves once every bundle is reserved; rejects if the group is removed first. */
  async ready(): Promise<void> {
    const core = ensureCore();
    if (!(await core.api.waitPlacementGroup(this.id, undefined))) {
      throw new RaytsError(`Placement group ${this.name ?? this.id} was removed before it was placed`);
    }
  }

  /** True once every bundle is reserved, false if that does not happen within `timeoutMs`. */
  wait(timeoutMs: number): Promise<boolean> {
    if (typeof timeoutMs !== "number" || Number.isNaN(timeoutMs) || timeoutMs < 0) {
      return Promise.reject(
        new TypeError(`wait() takes a timeout in milliseconds of at least 0: got ${String(timeoutMs)}`),
      );
    }
    return ensureCore().api.waitPlacementGroup(this.id, timeoutMs);
  }
}

/**
 * Reserves `bundles` atomically (every bundle or none). Returns at once; the group is `PENDING` until
 * there is room and is placed, in creation order, as soon as resources free up.
 */
export function placementGroup(
  bundles: ReadonlyArray<Readonly<Record<string, number>>>,
  opts?: PlacementGroupOptions,
): PlacementGroup {
  const checked = checkBundles(bundles);
  const strategy = opts?.strategy ?? "PACK";
  if (!STRATEGIES.includes(strategy)) {
    throw new TypeError(
      `Unknown placement strategy ${JSON.stringify(strategy)}: use one of ${STRATEGIES.join(", ")}`,
    );
  }
  const known = new Set(["strategy", "name", "lifetime"]);
  for (const key of Object.keys(opts ?? {})) {
    if (!known.has(key))
      throw new TypeError(
        `Unknown placement group option "${key}": valid options are strategy, name, lifetime`,
      );
  }
  const name = opts?.name;
  if (name !== undefined && (typeof name !== "string" || name === "")) {
    throw new TypeError(`Placement group name must be a non-empty string: got ${typeof name}`);
  }
  if (opts?.lifetime !== undefined && opts.lifetime !== "detached") {
    throw new TypeError(
      `Placement group lifetime must be "detached" or left out: got ${JSON.stringify(opts.lifetime)}`,
    );
  }
  const id = newTaskId();
  // Driver code re-evaluated on a worker: reserve nothing.
  if (isDriverCodeOnWorker()) return new PlacementGroup(id, checked, strategy, name);
  const core = ensureCore();
  const parentTaskId = core.currentTask()?.taskId;
  core.api.createPlacementGroup(core.caller, {
    id,
    bundles: checked,
    strategy,
    name,
    namespace: core.namespace,
    detached: opts?.lifetime === "detached",
    ...(parentTaskId === undefined ? {} : { parentTaskId }),
  });
  return new PlacementGroup(id, checked, strategy, name);
}

/** Removes a group (idempotent): kills the actors and tasks running in it and frees its resources. */
export async function removePlacementGroup(pg: PlacementGroup | { readonly id: string }): Promise<void> {
  const id = (pg as { id?: unknown } | null)?.id;
  if (typeof id !== "string") throw new TypeError("removePlacementGroup() takes a placement group");
  const core = ensureCore();
  core.api.removePlacementGroup(core.caller, id);
}

/** The group named `name` in this job's namespace (or `opts.namespace`). */
export async function getPlacementGroup(
  name: string,
  opts?: { namespace?: string },
): Promise<PlacementGroup> {
  if (typeof name !== "string" || name === "")
    throw new TypeError("getPlacementGroup() takes the group's name, a non-empty string");
  const core = ensureCore();
  const namespace = opts?.namespace ?? core.namespace;
  const info = await core.api.placementGroupByName(name, namespace);
  if (info === undefined) {
    throw new RaytsError(
      `No placement group named "${name}" in namespace "${namespace}": create it with placementGroup(bundles, { name }) first`,
    );
  }
  return new PlacementGroup(info.placementGroupId, info.bundles, info.strategy, info.name);
}

/** State and layout of one group, or of every group by id. */
export function placementGroupTable(
  pg: PlacementGroup | { readonly id: string },
): Promise<PlacementGroupInfo>;
export function placementGroupTable(): Promise<Record<string, PlacementGroupInfo>>;
export async function placementGroupTable(
  pg?: PlacementGroup | { readonly id: string },
): Promise<PlacementGroupInfo | Record<string, PlacementGroupInfo>> {
  const core = ensureCore();
  const all = await core.api.placementGroupTable();
  if (pg === undefined) return Object.fromEntries(all.map((i) => [i.placementGroupId, i]));
  const info = all.find((i) => i.placementGroupId === pg.id);
  if (info === undefined)
    throw new RaytsError(`Placement group ${pg.id} does not exist: create it with placementGroup() first`);
  return info;
}

const RESERVED = /_group_/;

function checkBundles(bundles: unknown): Array<Readonly<Record<string, number>>> {
  if (!Array.isArray(bundles) || bundles.length === 0) {
    throw new TypeError("placementGroup() takes a non-empty array of bundles such as [{ CPU: 1 }]");
  }
  return bundles.map((b, i) => {
    if (typeof b !== "object" || b === null || Array.isArray(b)) {
      throw new TypeError(
        `Bundle ${i} must be an object of resource amounts such as { CPU: 1 }: got ${b === null ? "null" : typeof b}`,
      );
    }
    const out: Record<string, number> = {};
    let total = 0;
    for (const [k, v] of Object.entries(b as Record<string, unknown>)) {
      if (RESERVED.test(k))
        throw new TypeError(
          `Bundle ${i} uses the reserved resource name "${k}": names containing "_group_" belong to placement groups`,
        );
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
        throw new RangeError(
          `Bundle ${i} asks for ${String(v)} ${k}: amounts must be finite numbers of at least 0`,
        );
      }
      if (v > 0) out[k] = v;
      total += v;
    }
    if (total === 0)
      throw new RangeError(`Bundle ${i} asks for nothing: give every bundle at least one resource above 0`);
    return Object.freeze(out);
  });
}
