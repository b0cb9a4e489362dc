/**
 * What drivers and tasks see of the cluster from one node (`nodes()`, `clusterResources()`,
 * `availableResources()`): this node plus every other node alive in its cluster view, with their
 * last reported resources (so another node's figures lag its heartbeat).
 */
import type { Head } from "./head.ts";
import type { NodeInfo } from "./runtime/protocol.ts";
import type { ClusterView } from "./scheduler/cluster-view.ts";
import type { NodeResources } from "./scheduler/node-resources.ts";

/** The nodes the head knows here (this one at least), and the other alive nodes of the view. */
export function clusterNodes(head: Head, self: NodeInfo, view: ClusterView | undefined): NodeInfo[] {
  head.registerNode(self);
  const others = view?.others() ?? [];
  const known = new Set(others.map((n) => n.nodeId));
  return [
    ...head.nodes().filter((n) => !known.has(n.nodeId)),
    ...others.map((n) => ({
      nodeId: n.nodeId,
      address: n.address,
      alive: true,
      resources: n.total,
      labels: {},
    })),
  ];
}

/** Total (`which: "total"`) or free resources of this node and every other alive node, summed. */
export function clusterResources(
  own: NodeResources,
  view: ClusterView | undefined,
  which: "total" | "available",
): Record<string, number> {
  const out: Record<string, number> = { ...(which === "total" ? own.total() : own.available()) };
  for (const n of view?.others() ?? []) {
    for (const [k, v] of Object.entries(which === "total" ? n.total : n.available))
      out[k] = (out[k] ?? 0) + v;
  }
  return out;
}
