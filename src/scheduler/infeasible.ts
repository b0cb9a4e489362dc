/**
 * The warning for work that stays pending because no node can ever fit it (its demand exceeds the
 * node's totals, not just what is free now). It describes the cluster, not just the node that
 * placed the work: on a running cluster every alive node's totals as this node last heard them (the
 * largest node's only, when there are many), on the embedded cluster its one node; and what to do.
 * Work that must run on this node (hard node affinity, an actor that cannot move) while another
 * node could fit it says so instead.
 */
import type { NodeContext } from "./node-context.ts";
import { ResourceSet } from "./resource-set.ts";

/** A node as the warning shows it. */
export interface Shown {
  readonly nodeId: string;
  readonly total: Readonly<Record<string, number>>;
  readonly missing: readonly string[];
}

/** Up to this many nodes are listed one by one; more show only the largest. */
const LISTED_NODES = 4;

/**
 * The warning that `what` (e.g. `Task f`, `Actor A`) needing `demand` stays pending on the node
 * behind `ctx`, which cannot fit it. `pinnedBy` says why it must run on this node, when it must
 * (e.g. "its hard node affinity names this node").
 */
export function infeasibleWarning(
  ctx: NodeContext,
  what: string,
  demand: Readonly<Record<string, number>>,
  pinnedBy?: string,
): string {
  return describeInfeasible({
    what,
    demand,
    here: {
      nodeId: ctx.nodeId,
      total: ctx.resources.total(),
      missing: ctx.resources.missingResources(demand),
    },
    others: ctx.cluster?.others(),
    pinnedBy,
  });
}

/** What {@link describeInfeasible} describes. */
export interface InfeasibleWork {
  /** The work, e.g. `Task f`. */
  readonly what: string;
  readonly demand: Readonly<Record<string, number>>;
  /** The node that holds the work, with the resources it lacks for it (at least one). */
  readonly here: Shown;
  /** The cluster's other alive nodes; undefined on the embedded cluster. */
  readonly others:
    | ReadonlyArray<{ readonly nodeId: string; readonly total: Readonly<Record<string, number>> }>
    | undefined;
  /** Why the work must run here, when it must. */
  readonly pinnedBy?: string | undefined;
}

/** The warning for `work` (see {@link infeasibleWarning}). */
export function describeInfeasible(work: InfeasibleWork): string {
  const { demand, here } = work;
  const needs = `${work.what} is infeasible: it needs ${JSON.stringify(demand)}`;
  if (work.others === undefined) {
    return `${needs} but the embedded cluster's only node has ${has(here)}; it stays pending: ask for less, give init() more numCpus, numGpus or resources, or connect to a cluster with a node that can fit it`;
  }
  const others = work.others.map((n) => shown(n.nodeId, n.total, demand));
  const want = ResourceSet.of(demand);
  const fitting = others.filter((n) => ResourceSet.of(n.total).covers(want));
  if (fitting.length > 0) {
    return `${needs} but it must run on node ${short(here.nodeId)} (${work.pinnedBy ?? "it cannot be placed on another node from here"}), which has ${has(here)}; it stays pending: let it run elsewhere (node ${fitting.map((n) => short(n.nodeId)).join(" or node ")} can fit it), or ask for less`;
  }
  const nodes = [here, ...others];
  const pending =
    "it stays pending until a node that can fit it joins: start one with `rayts node --join HEAD_ADDRESS` and enough --num-cpus, --num-gpus or --resources, or ask for less";
  if (nodes.length === 1) {
    return `${needs} but the cluster's only node cannot ever fit it: ${describe(here)}; ${pending}`;
  }
  if (nodes.length <= LISTED_NODES) {
    return `${needs} but no node of the cluster's ${nodes.length} can ever fit it: ${nodes.map(describe).join("; ")}; ${pending}`;
  }
  return `${needs} but no node of the cluster's ${nodes.length} can ever fit it (the largest: ${describe(largest(nodes, demand))}); ${pending}`;
}

function shown(
  nodeId: string,
  total: Readonly<Record<string, number>>,
  demand: Readonly<Record<string, number>>,
): Shown {
  const missing = Object.entries(demand)
    .filter(([k, v]) => !((total[k] ?? 0) >= v))
    .map(([k]) => k);
  return { nodeId, total, missing };
}

function short(nodeId: string): string {
  return nodeId.slice(0, 8);
}

function has(n: Shown): string {
  const total = JSON.stringify(n.total);
  return n.missing.length === 0 ? total : `${total} (missing ${n.missing.join(", ")})`;
}

function describe(n: Shown): string {
  return `node ${short(n.nodeId)} has ${has(n)}`;
}

/**
 * The node closest to fitting `demand`: the fewest resources missing, then the largest share of
 * the missing ones (the smallest total-to-demand ratio among them), then the most CPUs.
 */
function largest(nodes: readonly Shown[], demand: Readonly<Record<string, number>>): Shown {
  const share = (n: Shown) => Math.min(...n.missing.map((k) => (n.total[k] ?? 0) / (demand[k] as number)));
  let best = nodes[0] as Shown;
  for (const n of nodes) {
    const d =
      n.missing.length - best.missing.length ||
      share(best) - share(n) ||
      (best.total.CPU ?? 0) - (n.total.CPU ?? 0);
    if (d < 0) best = n;
  }
  return best;
}
