/**
 * Which node gets which bundle, per strategy [Ray's GCS placement-group scheduler, simplified to
 * greedy choices]. Pure: given the nodes with what they have free and where the group's other
 * bundles already are, it answers a plan or undefined when the strategy cannot be met.
 *
 * - `STRICT_PACK`: every bundle on one node (the node already holding the group's bundles, if any).
 * - `PACK`: one node if one fits them all, else as few as it can (nodes the group uses first).
 * - `STRICT_SPREAD`: each bundle on a node holding no other bundle of the group.
 * - `SPREAD`: each bundle on the node with the fewest of the group's bundles that fits it.
 */
import type { PlacementStrategy } from "./pg-types.ts";

/** A node as the chooser sees it: what is free there (totals, to test feasibility). */
export interface Candidate {
  readonly nodeId: string;
  readonly free: Readonly<Record<string, number>>;
}

/** Bundle indexes per node. */
export type Plan = Map<string, number[]>;

type Bundle = Readonly<Record<string, number>>;

const EPS = 1e-9;

function fits(free: Record<string, number>, b: Bundle): boolean {
  for (const [k, v] of Object.entries(b)) if ((free[k] ?? 0) + EPS < v) return false;
  return true;
}

function take(free: Record<string, number>, b: Bundle): void {
  for (const [k, v] of Object.entries(b)) free[k] = (free[k] ?? 0) - v;
}

function sum(bundles: readonly Bundle[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const b of bundles) for (const [k, v] of Object.entries(b)) out[k] = (out[k] ?? 0) + v;
  return out;
}

/**
 * Places bundles `missing` of a group whose other bundles are on `where[i]` (undefined: not placed)
 * over `nodes`, or undefined when `strategy` cannot be met with what the nodes have free.
 */
export function choosePlacement(
  strategy: PlacementStrategy,
  bundles: readonly Bundle[],
  missing: readonly number[],
  where: ReadonlyArray<string | undefined>,
  nodes: readonly Candidate[],
): Plan | undefined {
  const free = new Map(nodes.map((n) => [n.nodeId, { ...n.free }]));
  const count = new Map<string, number>();
  for (const n of where) if (n !== undefined) count.set(n, (count.get(n) ?? 0) + 1);
  const plan: Plan = new Map();
  const assign = (nodeId: string, i: number) => {
    take(free.get(nodeId) as Record<string, number>, bundles[i] as Bundle);
    count.set(nodeId, (count.get(nodeId) ?? 0) + 1);
    const list = plan.get(nodeId);
    if (list === undefined) plan.set(nodeId, [i]);
    else list.push(i);
  };
  const wanted = missing.map((i) => bundles[i] as Bundle);
  if (strategy === "STRICT_PACK" || strategy === "PACK") {
    const used = [...count.keys()].filter((n) => free.has(n));
    const order = [...used, ...nodes.map((n) => n.nodeId).filter((n) => !count.has(n))];
    const all = sum(wanted);
    // STRICT_PACK: the node holding the group already, if one still does.
    const one = (strategy === "STRICT_PACK" && count.size > 0 ? used : order).find((n) =>
      fits(free.get(n) as Record<string, number>, all),
    );
    if (one !== undefined) {
      for (const i of missing) assign(one, i);
      return plan;
    }
    if (strategy === "STRICT_PACK") return undefined;
    for (const i of missing) {
      const n = order.find((id) => (count.get(id) ?? 0) > 0 && fits(free.get(id)!, bundles[i] as Bundle));
      const pick = n ?? order.find((id) => fits(free.get(id)!, bundles[i] as Bundle));
      if (pick === undefined) return undefined;
      assign(pick, i);
    }
    return plan;
  }
  // Spreading: biggest bundles first, so the small ones fill what is left.
  const bySize = [...missing].sort((a, b) => size(bundles[b] as Bundle) - size(bundles[a] as Bundle));
  for (const i of bySize) {
    let pick: string | undefined;
    let fewest = Number.POSITIVE_INFINITY;
    for (const n of nodes) {
      const c = count.get(n.nodeId) ?? 0;
      if (strategy === "STRICT_SPREAD" && c > 0) continue;
      if (c < fewest && fits(free.get(n.nodeId)!, bundles[i] as Bundle)) {
        pick = n.nodeId;
        fewest = c;
      }
    }
    if (pick === undefined) return undefined;
    assign(pick, i);
  }
  return plan;
}

function size(b: Bundle): number {
  let s = 0;
  for (const v of Object.values(b)) s += v;
  return s;
}
