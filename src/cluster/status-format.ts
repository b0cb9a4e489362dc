/** The text `rayts status` prints for a {@link ClusterStatus}. */
import type { PlacementGroupInfo } from "../placement/pg-types.ts";
import type { ClusterStatus, NodeStatus } from "./cluster-protocol.ts";

const BYTE_RESOURCES = new Set(["memory", "object_store_memory"]);

/** Renders `status` as the human-readable report. */
export function formatStatus(status: ClusterStatus): string {
  const alive = status.nodes.filter((n) => n.state === "ALIVE").length;
  const dead = status.nodes.length - alive;
  const lines = [`Cluster at ${status.address} (${status.sessionName})`, ""];
  lines.push(`Nodes: ${alive} alive, ${dead} dead`);
  for (const node of status.nodes) lines.push(`  ${formatNode(node)}`);
  lines.push("", "Resources (used / total over alive nodes):");
  // Bundles are counted once, as used resources and in their own section, not as group resources.
  const names = Object.keys(status.total).filter(isPlain).sort(byImportance);
  if (names.length === 0) lines.push("  (none)");
  const width = Math.max(0, ...names.map((n) => n.length));
  for (const name of names) {
    const total = status.total[name] ?? 0;
    const used = total - (status.available[name] ?? 0);
    lines.push(`  ${name.padEnd(width)}  ${amount(name, used)} / ${amount(name, total)}`);
  }
  lines.push("", "Pending demand:");
  if (status.pendingDemand.length === 0) lines.push("  (none)");
  for (const p of status.pendingDemand) lines.push(`  ${JSON.stringify(p.demand)} × ${p.count}`);
  if (status.placementGroups !== undefined) lines.push("", ...formatGroups(status.placementGroups));
  const s = status.store;
  lines.push(
    "",
    `Object store: ${s.objects} objects, ${bytes(s.usedBytes)} used of ${bytes(s.capacityBytes)}`,
  );
  return lines.join("\n");
}

function formatNode(node: NodeStatus): string {
  const role = node.isHead ? "head" : "node";
  const state =
    node.state === "ALIVE" ? `ALIVE  ${resourceSummary(node)}` : `DEAD   ${node.deathReason ?? ""}`.trimEnd();
  return `${node.nodeId}  ${role}  ${node.address}  pid ${node.pid}  ${state}`;
}

function resourceSummary(node: NodeStatus): string {
  const { total, available } = node.report;
  return Object.keys(total)
    .filter((name) => !BYTE_RESOURCES.has(name) && isPlain(name))
    .sort(byImportance)
    .map(
      (name) =>
        `${name} ${amount(name, (total[name] ?? 0) - (available[name] ?? 0))}/${amount(name, total[name] ?? 0)}`,
    )
    .join(", ");
}

/** Not a placement group's bundle resource (`CPU_group_0_<pg>`, `CPU_group_<pg>`). */
function isPlain(name: string): boolean {
  return !name.includes("_group_");
}

/** Most groups listed one per line; the rest are counted. */
const GROUPS_LISTED = 20;

/** The placement groups: counts by state, the resources their placed bundles reserve, each group. */
export function formatGroups(groups: readonly PlacementGroupInfo[]): string[] {
  const live = groups.filter((g) => g.state !== "REMOVED");
  const byState = new Map<string, number>();
  for (const g of live) byState.set(g.state, (byState.get(g.state) ?? 0) + 1);
  const counts = [...byState].map(([state, n]) => `${n} ${state.toLowerCase()}`).join(", ");
  const lines = [`Placement groups: ${live.length}${counts === "" ? "" : ` (${counts})`}`];
  const reserved: Record<string, number> = {};
  for (const g of live) {
    for (const i of Object.keys(g.bundlesToNode)) {
      for (const [k, v] of Object.entries(g.bundles[Number(i)] ?? {})) reserved[k] = (reserved[k] ?? 0) + v;
    }
  }
  const names = Object.keys(reserved).sort(byImportance);
  lines.push(
    `  reserved: ${names.length === 0 ? "nothing" : names.map((n) => `${amount(n, reserved[n] ?? 0)} ${n}`).join(", ")}`,
  );
  for (const g of live.slice(0, GROUPS_LISTED)) {
    const nodes = g.bundles.map((_, i) => g.bundlesToNode[i] ?? "-").join(" ");
    lines.push(
      `  ${g.placementGroupId}${g.name === undefined ? "" : ` (${g.name})`}  ${g.strategy}  ${g.state}  ${g.bundles.length} bundles on [${nodes}]`,
    );
  }
  if (live.length > GROUPS_LISTED) lines.push(`  … and ${live.length - GROUPS_LISTED} more`);
  return lines;
}

function byImportance(a: string, b: string): number {
  const rank = (n: string) => ["CPU", "GPU", "memory", "object_store_memory"].indexOf(n) >>> 0;
  return rank(a) - rank(b) || a.localeCompare(b);
}

function amount(name: string, value: number): string {
  if (BYTE_RESOURCES.has(name)) return bytes(value);
  return Number.isInteger(value) ? String(value) : value.toFixed(4).replace(/0+$/, "");
}

function bytes(n: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}
