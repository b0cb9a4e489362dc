/**
 * Placement groups on a node: atomic reservation of every bundle or none, groups that cannot be
 * placed wait (in creation order) and are placed as soon as resources free up, and removal gives
 * the resources back after killing what ran inside.
 *
 * A reserved bundle is held as an allocation of its resources and published as Ray-style custom
 * resources (`CPU_group_0_<pg>`, and the any-bundle `CPU_group_<pg>`), which only work scheduled into
 * the group asks for. With one node the layout rules reduce to: every strategy fits the group on
 * this node, except STRICT_SPREAD with more than one bundle (one bundle per node), which stays
 * PENDING until the cluster has more nodes.
 */
import { RaytsError } from "../errors.ts";
import type { Allocation, NodeResources } from "../scheduler/node-resources.ts";
import {
  bundleResourceName,
  type PlacementGroupInfo,
  type PlacementGroupSpec,
  type PlacementGroupState,
} from "./pg-types.ts";

interface Group {
  readonly spec: PlacementGroupSpec;
  state: PlacementGroupState;
  allocs: Allocation[];
  readonly waiters: Array<(created: boolean) => void>;
}

/** What removing a group must stop on the node (tasks and actors placed inside it). */
export interface GroupEvictor {
  evictGroup(pgId: string): void;
}

export class PlacementGroupManager {
  readonly #nodeId: string;
  readonly #resources: NodeResources;
  readonly #groups = new Map<string, Group>();
  readonly #names = new Map<string, string>();
  readonly #pending: Group[] = [];
  #evictor: GroupEvictor | undefined;
  #onPlaced: () => void = () => {};

  constructor(nodeId: string, resources: NodeResources) {
    this.#nodeId = nodeId;
    this.#resources = resources;
  }

  /** Who stops a removed group's work, and what to run when groups change (schedule waiting work). */
  wire(evictor: GroupEvictor, onPlaced: () => void): void {
    this.#evictor = evictor;
    this.#onPlaced = onPlaced;
  }

  create(spec: PlacementGroupSpec): void {
    if (this.#groups.has(spec.id)) return;
    if (spec.name !== undefined) {
      const key = `${spec.namespace}\u0000${spec.name}`;
      const taken = this.#names.get(key);
      if (taken !== undefined && this.#groups.get(taken)?.state !== "REMOVED") {
        throw new RaytsError(
          `Placement group name "${spec.name}" is already taken in namespace "${spec.namespace}": pick another name or remove that group first`,
        );
      }
      this.#names.set(key, spec.id);
    }
    const g: Group = { spec, state: "PENDING", allocs: [], waiters: [] };
    this.#groups.set(spec.id, g);
    this.#pending.push(g);
    this.placePending();
  }

  /**
   * Places waiting groups in creation order. A group that could fit this node but does not right now
   * keeps later ones waiting (so big groups are not starved by small ones); a group this node can
   * never hold (STRICT_SPREAD over several bundles, a bundle beyond the node's totals) waits for
   * more nodes without holding up the others.
   */
  placePending(): void {
    let placed = false;
    for (let i = 0; i < this.#pending.length; ) {
      const g = this.#pending[i] as Group;
      if (g.state !== "PENDING") {
        this.#pending.splice(i, 1);
        continue;
      }
      if (this.#reserve(g)) {
        this.#pending.splice(i, 1);
        placed = true;
        continue;
      }
      if (this.#couldFit(g)) break;
      i++;
    }
    if (placed) this.#onPlaced();
  }

  /** Whether the group fits this node's totals at all (it may be busy now). */
  #couldFit(g: Group): boolean {
    if (g.spec.strategy === "STRICT_SPREAD" && g.spec.bundles.length > 1) return false;
    const sum: Record<string, number> = {};
    for (const b of g.spec.bundles) for (const [k, v] of Object.entries(b)) sum[k] = (sum[k] ?? 0) + v;
    return this.#resources.isFeasible(sum);
  }

  /** Every bundle or none: a failure part-way gives back what was taken. */
  #reserve(g: Group): boolean {
    const { bundles, strategy, id } = g.spec;
    if (strategy === "STRICT_SPREAD" && bundles.length > 1) return false;
    const taken: Allocation[] = [];
    for (const b of bundles) {
      const a = this.#resources.tryAcquire(b);
      if (a === undefined) {
        for (const t of taken) this.#resources.release(t);
        return false;
      }
      taken.push(a);
    }
    g.allocs = taken;
    g.state = "CREATED";
    bundles.forEach((b, i) => {
      this.#resources.addResources(groupResources(b, id, i));
    });
    const ws = g.waiters.splice(0);
    for (const w of ws) w(true);
    return true;
  }

  remove(pgId: string): void {
    const g = this.#groups.get(pgId);
    if (g === undefined || g.state === "REMOVED") return;
    const wasCreated = g.state === "CREATED";
    g.state = "REMOVED";
    if (wasCreated) {
      this.#evictor?.evictGroup(pgId);
      g.spec.bundles.forEach((b, i) => {
        this.#resources.removeResources(groupResources(b, pgId, i));
      });
      for (const a of g.allocs) if (a.state !== "RELEASED") this.#resources.release(a);
      g.allocs = [];
    } else {
      this.#evictor?.evictGroup(pgId);
    }
    const ws = g.waiters.splice(0);
    for (const w of ws) w(false);
    this.placePending();
    // The freed resources may also let queued tasks and actors run.
    this.#onPlaced();
  }

  /** Resolves true once the group is created, false if it is removed first or the time runs out. */
  wait(pgId: string, timeoutMs: number | undefined): Promise<boolean> {
    const g = this.#groups.get(pgId);
    if (g === undefined) return Promise.reject(unknownGroup(pgId));
    if (g.state !== "PENDING") return Promise.resolve(g.state === "CREATED");
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiter = (created: boolean) => {
        if (timer !== undefined) clearTimeout(timer);
        resolve(created);
      };
      g.waiters.push(waiter);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          const i = g.waiters.indexOf(waiter);
          if (i >= 0) g.waiters.splice(i, 1);
          resolve(false);
        }, timeoutMs);
      }
    });
  }

  info(pgId: string): PlacementGroupInfo | undefined {
    const g = this.#groups.get(pgId);
    if (g === undefined) return undefined;
    const bundlesToNode: Record<number, string> = {};
    if (g.state === "CREATED")
      for (let i = 0; i < g.spec.bundles.length; i++) bundlesToNode[i] = this.#nodeId;
    return {
      placementGroupId: g.spec.id,
      name: g.spec.name,
      namespace: g.spec.namespace,
      strategy: g.spec.strategy,
      state: g.state,
      bundles: g.spec.bundles,
      bundlesToNode,
    };
  }

  table(): PlacementGroupInfo[] {
    return [...this.#groups.keys()].map((id) => this.info(id) as PlacementGroupInfo);
  }

  byName(name: string, namespace: string): PlacementGroupInfo | undefined {
    const id = this.#names.get(`${namespace}\u0000${name}`);
    const info = id === undefined ? undefined : this.info(id);
    return info?.state === "REMOVED" ? undefined : info;
  }

  /** The bundles of a group (for checking a task's demand against its bundle). */
  bundles(pgId: string): ReadonlyArray<Readonly<Record<string, number>>> | undefined {
    return this.#groups.get(pgId)?.spec.bundles;
  }

  state(pgId: string): PlacementGroupState | undefined {
    return this.#groups.get(pgId)?.state;
  }
}

/** The custom resources a reserved bundle publishes (indexed and any-bundle names). */
function groupResources(
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

function unknownGroup(pgId: string): RaytsError {
  return new RaytsError(`Placement group ${pgId} does not exist: create it with placementGroup() first`);
}
