/**
 * The bundles one node holds for placement groups [Ray's raylet placement-group resource manager]:
 * the node's half of the coordinator's two-phase reservation.
 *
 * - `prepare` takes the listed bundles as allocations of the node's resources, every one or none;
 *   nothing is visible to work yet.
 * - `commit` publishes each prepared bundle as Ray-style custom resources (`CPU_group_0_<pg>` and the
 *   any-bundle `CPU_group_<pg>`), which only work scheduled into the group asks for.
 * - `release` gives bundles back: a prepared one (the coordinator rolls back) or a committed one
 *   (the group is removed, or moved away): the group's work on this node is stopped first.
 *
 * A node may hold several bundles of one group, prepared at different times (a group rescheduled
 * after a node died may get its lost bundles placed beside the others).
 */
import type { Allocation, NodeResources } from "../scheduler/node-resources.ts";
import { type BundleReply, bundleKeys, groupResources, type PlacementGroupSpec } from "./pg-types.ts";

interface HostedBundle {
  readonly alloc: Allocation;
  committed: boolean;
  /** The group resources it published (to take back the same on release). */
  published: Record<string, number> | undefined;
}

interface Hosted {
  readonly spec: PlacementGroupSpec;
  readonly bundles: Map<number, HostedBundle>;
}

/** What removing a group must stop on the node (tasks and actors placed inside it). */
export interface GroupEvictor {
  evictGroup(pgId: string): void;
}

export class BundleHost {
  readonly #resources: NodeResources;
  readonly #hosted = new Map<string, Hosted>();
  #evictor: GroupEvictor | undefined;
  #onCommitted: () => void = () => {};
  #onReleased: () => void = () => {};

  constructor(resources: NodeResources) {
    this.#resources = resources;
  }

  /** Who stops a group's work, what runs when bundles appear (queued group work) or free up. */
  wire(evictor: GroupEvictor, onCommitted: () => void, onReleased: () => void): void {
    this.#evictor = evictor;
    this.#onCommitted = onCommitted;
    this.#onReleased = onReleased;
  }

  /** Takes bundles `indexes` of `spec` (every one or none); false when they do not fit now. */
  prepare(spec: PlacementGroupSpec, indexes: readonly number[]): BundleReply {
    const h = this.#hosted.get(spec.id);
    const taken: Array<[number, Allocation]> = [];
    for (const i of indexes) {
      const bundle = spec.bundles[i];
      if (bundle === undefined || h?.bundles.has(i) === true) {
        for (const [, a] of taken) this.#resources.release(a);
        return this.#reply(false, spec);
      }
      const a = this.#resources.tryAcquire(bundle);
      if (a === undefined) {
        for (const [, t] of taken) this.#resources.release(t);
        return this.#reply(false, spec);
      }
      taken.push([i, a]);
    }
    let hosted = h;
    if (hosted === undefined) {
      hosted = { spec, bundles: new Map() };
      this.#hosted.set(spec.id, hosted);
    }
    for (const [i, alloc] of taken) hosted.bundles.set(i, { alloc, committed: false, published: undefined });
    return this.#reply(true, spec);
  }

  /** Publishes prepared bundles to the group's work. */
  commit(pgId: string, indexes: readonly number[]): BundleReply {
    const h = this.#hosted.get(pgId);
    let all = h !== undefined;
    for (const i of indexes) {
      const b = h?.bundles.get(i);
      if (h === undefined || b === undefined) {
        all = false;
        continue;
      }
      if (b.committed) continue;
      b.committed = true;
      b.published = groupResources(h.spec.bundles[i] ?? {}, pgId, i);
      this.#resources.addResources(b.published);
    }
    if (all) this.#onCommitted();
    return this.#reply(all, h?.spec);
  }

  /**
   * Gives bundles back (all of the group's on this node when `indexes` is undefined). Releasing every
   * committed bundle stops the group's work here first.
   */
  release(pgId: string, indexes: readonly number[] | undefined): BundleReply {
    const h = this.#hosted.get(pgId);
    if (h === undefined) return this.#reply(true, undefined);
    const which = indexes ?? [...h.bundles.keys()];
    const committed = which.some((i) => h.bundles.get(i)?.committed === true);
    if (committed && which.length === h.bundles.size) this.#evictor?.evictGroup(pgId);
    for (const i of which) {
      const b = h.bundles.get(i);
      if (b === undefined) continue;
      h.bundles.delete(i);
      if (b.published !== undefined) this.#resources.removeResources(b.published);
      if (b.alloc.state !== "RELEASED") this.#resources.release(b.alloc);
    }
    if (h.bundles.size === 0) this.#hosted.delete(pgId);
    this.#onReleased();
    return this.#reply(true, h.spec);
  }

  /** The spec of a group this node holds bundles of. */
  spec(pgId: string): PlacementGroupSpec | undefined {
    return this.#hosted.get(pgId)?.spec;
  }

  /**
   * The GPU ids work in bundle `index` (-1: any bundle here with GPUs) of a group sees: the ids the
   * bundle reserved, so `CUDA_VISIBLE_DEVICES` and `getGpuIds()` name real devices.
   */
  gpuIds(pgId: string, index: number): readonly number[] {
    const h = this.#hosted.get(pgId);
    if (h === undefined) return [];
    if (index >= 0) {
      const b = h.bundles.get(index);
      return b?.committed === true ? b.alloc.gpuIds : [];
    }
    for (const b of h.bundles.values()) if (b.committed && b.alloc.gpuIds.length > 0) return b.alloc.gpuIds;
    return [];
  }

  /** Whether a committed bundle here can run `demand` (bundle `index`, or any when -1). */
  holds(pgId: string, index: number, demand: Readonly<Record<string, number>>): boolean {
    const h = this.#hosted.get(pgId);
    if (h === undefined) return false;
    for (const [i, b] of h.bundles) {
      if (!b.committed || (index >= 0 && i !== index)) continue;
      const bundle = h.spec.bundles[i] ?? {};
      if (Object.entries(demand).every(([k, v]) => (bundle[k] ?? 0) >= v)) return true;
    }
    return false;
  }

  /** Indexes of the group's bundles committed on this node. */
  committed(pgId: string): number[] {
    const h = this.#hosted.get(pgId);
    if (h === undefined) return [];
    return [...h.bundles].filter(([, b]) => b.committed).map(([i]) => i);
  }

  /** The answer, with what is free of the group's resources (not every resource: that grows). */
  #reply(ok: boolean, spec: PlacementGroupSpec | undefined): BundleReply {
    return {
      ok,
      available: spec === undefined ? {} : this.#resources.availableOf(bundleKeys(spec.bundles)),
    };
  }
}
