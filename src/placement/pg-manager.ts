/**
 * Placement groups as a node sees them: the coordinator that owns the group table and places
 * bundles (`pg-coordinator.ts`, over this node only unless the head gives it the cluster), and the
 * bundles this node holds for any coordinator (`pg-bundles.ts`, the node's half of the two-phase
 * reservation). Work scheduled into a group asks this manager where it runs and whether the group
 * exists.
 */
import type { CallerId, NodeApi } from "../runtime/node-api.ts";
import type { NodeResources } from "../scheduler/node-resources.ts";
import { BundleHost, type GroupEvictor } from "./pg-bundles.ts";
import { type BundlePort, type NodeSource, PgCoordinator, type WAIT_FOR_GROUP } from "./pg-coordinator.ts";
import type { GroupPlacement } from "./pg-demand.ts";
import type { BundleReply, PlacementGroupInfo, PlacementGroupSpec, PlacementGroupState } from "./pg-types.ts";

export type { GroupEvictor } from "./pg-bundles.ts";
export { WAIT_FOR_GROUP } from "./pg-coordinator.ts";

/**
 * Where a node that does not coordinate placement groups sends them: the head's node, which keeps the
 * cluster's group table (a node process of a running cluster).
 */
export interface PlacementDelegate {
  readonly nodeId: string;
  /** The head's node's `NodeApi` and this node's caller id there. */
  reach(): Promise<{ readonly api: NodeApi; readonly caller: CallerId }>;
}

export class PlacementGroupManager {
  readonly host: BundleHost;
  readonly coordinator: PgCoordinator;
  /** The coordinator's way to this node's bundles (no messages). */
  readonly port: BundlePort;
  #evictor: GroupEvictor | undefined;
  #delegate: PlacementDelegate | undefined;
  /** Groups created through this node while delegating (their bundles, for checks here). */
  readonly #sent = new Map<string, PlacementGroupSpec>();

  constructor(nodeId: string, resources: NodeResources) {
    this.host = new BundleHost(resources);
    const host = this.host;
    const port: BundlePort = {
      prepare: (spec: PlacementGroupSpec, indexes: readonly number[]) => host.prepare(spec, indexes),
      commit: (pgId: string, indexes: readonly number[]) => host.commit(pgId, indexes),
      release: (pgId: string, indexes: readonly number[] | undefined) => host.release(pgId, indexes),
    };
    this.coordinator = new PgCoordinator({
      selfId: nodeId,
      clustered: false,
      nodes: () => [
        {
          nodeId,
          total: (names) => resources.totalOf(names),
          available: (names) => resources.availableOf(names),
          port,
        },
      ],
      observed: () => {},
    });
    this.port = port;
  }

  /** Who stops a group's work, what runs when bundles appear (queued group work) or free up. */
  wire(evictor: GroupEvictor, onCommitted: () => void, onReleased: () => void): void {
    this.#evictor = evictor;
    this.host.wire(evictor, onCommitted, onReleased);
  }

  /** Places over the cluster's nodes from now on (the head's node). */
  useSource(source: NodeSource): void {
    this.coordinator.useSource(source);
  }

  /** Sends the group API to the head's node from now on (a node process of a running cluster). */
  delegateTo(delegate: PlacementDelegate): void {
    this.#delegate = delegate;
  }

  create(spec: PlacementGroupSpec, owner?: CallerId): void {
    const d = this.#delegate;
    if (d === undefined) {
      this.coordinator.create(spec, owner);
      return;
    }
    this.#sent.set(spec.id, spec);
    // Created by work on this node: it belongs to the job, not to this node's link (no owner there).
    void d
      .reach()
      .then((h) =>
        h.api.createPlacementGroup(h.caller, {
          ...spec,
          detached: true,
          job: spec.detached ? undefined : spec.job,
        }),
      )
      .catch(() => {});
  }

  /** Removes a group: bundles released wherever they are, and its work here (forwarded too) stopped. */
  remove(pgId: string): void {
    const d = this.#delegate;
    if (d !== undefined) {
      void d
        .reach()
        .then((h) => h.api.removePlacementGroup(h.caller, pgId))
        .catch(() => {});
      this.#evictor?.evictGroup(pgId);
      return;
    }
    const known = this.coordinator.state(pgId);
    this.coordinator.remove(pgId);
    if (known !== undefined && known !== "REMOVED") this.#evictor?.evictGroup(pgId);
  }

  /** Tries placing waiting groups again (resources were freed on this node). */
  placePending(): void {
    this.coordinator.kick();
  }

  async wait(pgId: string, timeoutMs: number | undefined): Promise<boolean> {
    const d = this.#delegate;
    if (d === undefined) return this.coordinator.wait(pgId, timeoutMs);
    const h = await d.reach();
    return h.api.waitPlacementGroup(pgId, timeoutMs);
  }

  /** Every group (from the head's node when delegating). */
  async tableAll(): Promise<PlacementGroupInfo[]> {
    const d = this.#delegate;
    if (d === undefined) return this.coordinator.table();
    return (await d.reach()).api.placementGroupTable();
  }

  /** The group named `name` in `namespace` (from the head's node when delegating). */
  async lookup(name: string, namespace: string): Promise<PlacementGroupInfo | undefined> {
    const d = this.#delegate;
    if (d === undefined) return this.coordinator.byName(name, namespace);
    return (await d.reach()).api.placementGroupByName(name, namespace);
  }

  info(pgId: string): PlacementGroupInfo | undefined {
    return this.coordinator.info(pgId);
  }

  table(): PlacementGroupInfo[] {
    return this.coordinator.table();
  }

  byName(name: string, namespace: string): PlacementGroupInfo | undefined {
    return this.coordinator.byName(name, namespace);
  }

  /** The bundles of a group (for checking a task's demand against its bundle). */
  bundles(pgId: string): ReadonlyArray<Readonly<Record<string, number>>> | undefined {
    return this.coordinator.bundles(pgId) ?? this.host.spec(pgId)?.bundles ?? this.#sent.get(pgId)?.bundles;
  }

  state(pgId: string): PlacementGroupState | undefined {
    return this.coordinator.state(pgId) ?? (this.host.spec(pgId) === undefined ? undefined : "CREATED");
  }

  /** Where work in a group runs: another node, here (undefined), or wait for the group to be placed. */
  workTarget(
    p: GroupPlacement,
    demand: Readonly<Record<string, number>>,
  ): string | undefined | typeof WAIT_FOR_GROUP {
    const d = this.#delegate;
    if (d === undefined || this.coordinator.state(p.pgId) !== undefined)
      return this.coordinator.workTarget(p, demand);
    // Not the coordinator: a bundle held here runs it; else the head's node knows where it goes.
    return this.host.holds(p.pgId, p.index, demand) ? undefined : d.nodeId;
  }

  /** GPU ids for work in a group asking for GPUs (none when it asks for none). */
  gpuIdsFor(p: GroupPlacement, demand: Readonly<Record<string, number>>): readonly number[] {
    return (demand.GPU ?? 0) > 0 ? this.host.gpuIds(p.pgId, p.index) : [];
  }

  /** Runs `fn(true)` once the group is placed, `fn(false)` if it is removed first. */
  whenPlaced(pgId: string, fn: (placed: boolean) => void): void {
    this.coordinator.whenPlaced(pgId, fn);
  }

  /** A driver went away: its groups (not detached) are removed. */
  dropOwner(caller: CallerId): void {
    this.coordinator.dropOwner(caller);
  }

  /** Job `job` ended: its groups go (on the coordinating node; other nodes hold no groups). */
  dropJob(job: string): void {
    if (this.#delegate === undefined) this.coordinator.dropJob(job);
  }

  // ---- this node's bundles, for a coordinator ------------------------------------------------

  prepareBundles(spec: PlacementGroupSpec, indexes: readonly number[]): BundleReply {
    return this.host.prepare(spec, indexes);
  }

  commitBundles(pgId: string, indexes: readonly number[]): BundleReply {
    return this.host.commit(pgId, indexes);
  }

  releaseBundles(pgId: string, indexes: readonly number[] | undefined): BundleReply {
    return this.host.release(pgId, indexes);
  }
}
