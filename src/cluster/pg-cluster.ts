/**
 * Placement groups over the whole cluster, from the head's node: its coordinator
 * (`placement/pg-coordinator.ts`) places bundles on every alive node of the head's node table, and
 * reaches another node's bundles through the link the head's node already has to it
 * (`prepareBundles`, `commitBundles`, `releaseBundles` over the node's `NodeApi`).
 *
 * What a node has free is its last heartbeat report, corrected by the answers of its own prepares and
 * releases (they carry the node's free resources at that moment). Placing is tried again when a node
 * joins, reports resources different from the last report, or dies (its bundles are placed again).
 *
 * @example
 * attachClusterPlacement(node, service.table, links);
 */
import type { Node } from "../node.ts";
import type { BundlePort, NodeSource, PlacementNode } from "../placement/pg-coordinator.ts";
import type { BundleReply, PlacementGroupSpec } from "../placement/pg-types.ts";
import type { ClusterView } from "../scheduler/cluster-view.ts";
import type { NodeTable } from "./node-table.ts";

/** Another node's bundles, through the head's node's link to it. */
class LinkPort implements BundlePort {
  readonly #links: ClusterView;
  readonly #nodeId: string;

  constructor(links: ClusterView, nodeId: string) {
    this.#links = links;
    this.#nodeId = nodeId;
  }

  async prepare(spec: PlacementGroupSpec, indexes: readonly number[]): Promise<BundleReply> {
    const l = await this.#links.link(this.#nodeId);
    return l.api.prepareBundles(l.caller, spec, indexes);
  }

  async commit(pgId: string, indexes: readonly number[]): Promise<BundleReply> {
    const l = await this.#links.link(this.#nodeId);
    return l.api.commitBundles(l.caller, pgId, indexes);
  }

  async release(pgId: string, indexes: readonly number[] | undefined): Promise<BundleReply> {
    const l = await this.#links.link(this.#nodeId);
    return l.api.releaseBundles(l.caller, pgId, indexes);
  }
}

/** The cluster's nodes as the head's coordinator sees them. */
class ClusterNodes implements NodeSource {
  readonly selfId: string;
  readonly clustered = true;
  readonly #node: Node;
  readonly #links: ClusterView;
  readonly #ports = new Map<string, LinkPort>();
  /** What a node answered last, newer than its last report. */
  readonly #answered = new Map<string, Readonly<Record<string, number>>>();
  /** Each node's last report of free resources, to notice a change. */
  readonly #reported = new Map<string, string>();

  constructor(node: Node, links: ClusterView) {
    this.#node = node;
    this.#links = links;
    this.selfId = node.nodeId;
  }

  nodes(): PlacementNode[] {
    const node = this.#node;
    const out: PlacementNode[] = [
      {
        nodeId: node.nodeId,
        total: (names) => node.resources.totalOf(names),
        available: (names) => node.resources.availableOf(names),
        port: node.placementGroups.port,
      },
    ];
    for (const n of this.#links.others()) {
      let port = this.#ports.get(n.nodeId);
      if (port === undefined) {
        port = new LinkPort(this.#links, n.nodeId);
        this.#ports.set(n.nodeId, port);
      }
      const answered = this.#answered.get(n.nodeId);
      out.push({
        nodeId: n.nodeId,
        total: () => n.total,
        available: () => (answered === undefined ? n.available : { ...n.available, ...answered }),
        port,
      });
    }
    return out;
  }

  /** Answers cover the group's resources only: they are laid over the node's last report. */
  observed(nodeId: string, available: Readonly<Record<string, number>>): void {
    if (nodeId === this.selfId) return;
    this.#answered.set(nodeId, { ...this.#answered.get(nodeId), ...available });
  }

  /**
   * A report arrived and replaces any answer seen since the last one (a report sent just before an
   * answer may be older than it: then a prepare fails and is tried again, which is safe). True when
   * what the coordinator believes the node has free changed.
   */
  reported(nodeId: string, available: Readonly<Record<string, number>>): boolean {
    const key = JSON.stringify(available);
    const answered = this.#answered.get(nodeId);
    const before = this.#reported.get(nodeId);
    this.#reported.set(nodeId, key);
    this.#answered.delete(nodeId);
    // An answer seen since the last report may have changed what the coordinator believes.
    return answered !== undefined || key !== before;
  }

  forget(nodeId: string): void {
    this.#ports.delete(nodeId);
    this.#answered.delete(nodeId);
    this.#reported.delete(nodeId);
  }
}

/** Makes the head's node place placement groups over every alive node of `table`. */
export function attachClusterPlacement(node: Node, table: NodeTable, links: ClusterView): void {
  const source = new ClusterNodes(node, links);
  const groups = node.placementGroups;
  table.onChange((e) => {
    if (e.nodeId === node.nodeId) return;
    if (e.t === "dead") {
      source.forget(e.nodeId);
      groups.coordinator.nodeDied(e.nodeId);
      return;
    }
    if (e.t === "joined") {
      groups.placePending();
      return;
    }
    const report = table.alive().find((n) => n.nodeId === e.nodeId)?.report;
    if (report !== undefined && source.reported(e.nodeId, report.available)) groups.placePending();
  });
  groups.useSource(source);
}

/**
 * Makes a node process send its placement-group calls (work on it creating, waiting for, listing or
 * removing groups) and group work whose bundle it does not hold to the head's node, which
 * coordinates the cluster's groups.
 */
export function delegatePlacement(node: Node, links: ClusterView, headNodeId: string): void {
  node.placementGroups.delegateTo({
    nodeId: headNodeId,
    reach: async () => {
      const l = await links.link(headNodeId);
      return { api: l.api, caller: l.caller };
    },
  });
}
