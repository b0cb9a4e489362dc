/**
 * Where a task runs [Ray's cluster task manager policies, simplified]: here (undefined), on another
 * alive node (its id), or nowhere (an error to fail it with). Every node of a cluster places the work
 * submitted to it the same way, from its `ClusterView`:
 *
 * - Hard node affinity names the node (this one runs it here); an unknown or dead node is
 *   `TaskUnschedulableError`. Soft affinity to a node that is not alive, or whose totals can never
 *   fit the task, falls back to the default.
 * - `DEFAULT` is Ray's hybrid policy ({@link Placer.hybrid}): work stays here while this node has
 *   its resources free now, counting the work it took but has not started (waiting for arguments,
 *   queued, pipelined behind a running task), so a burst does not all look free; when it does not,
 *   the work spills to the best-fitting other node with them free now (see {@link Placer.bestFit});
 *   when no node has them free, it queues here if this node can ever fit it, else on the
 *   best-fitting node whose totals do. Work whose largest arguments live on another node that can
 *   fit it goes there instead (`locality.ts`). Default work queued here (or pipelined onto a lease
 *   behind a running task) spills later when a node's report shows the resources free there
 *   (`TaskManager.respill`, called by the cluster view on every report or join).
 * - `SPREAD` goes round-robin over the alive nodes whose totals fit, this one included, skipping
 *   nodes without the resources free now unless none has them (Ray's spread policy).
 *
 * Other nodes' free resources are as of their last report (up to a heartbeat old); a {@link Placer}
 * counts the work it sent to a node against that report until the next one, so a burst of spilled
 * tasks does not all go to the node that looked emptiest; what was sent beyond a node's free
 * resources counts as its backlog, so work that fits nowhere now is shared out by queue length.
 */
import { TaskUnschedulableError } from "../errors.ts";
import type { NodeView } from "./cluster-view.ts";
import { nodeWithArgs } from "./locality.ts";
import type { NodeContext } from "./node-context.ts";
import { ResourceSet } from "./resource-set.ts";
import type { TaskRecord } from "./task-record.ts";

/** Where work goes: this node (undefined), another node's id, or the error that fails it. */
export type Placement = string | undefined | Error;

/** A node as a placement choice sees it: its totals and what is free (after this placer's debits). */
interface Candidate {
  readonly nodeId: string;
  readonly total: Readonly<Record<string, number>>;
  readonly available: Readonly<Record<string, number>>;
  /** What was sent there beyond its free resources since its last report (work queued there). */
  readonly backlog?: Readonly<Record<string, number>>;
}

/** The placer of the node behind `ctx`, shared by its tasks and actors. */
export function placerOf(ctx: NodeContext): Placer {
  let placer = placers.get(ctx);
  if (placer === undefined) {
    placer = new Placer(ctx);
    placers.set(ctx, placer);
  }
  return placer;
}

const placers = new WeakMap<NodeContext, Placer>();

/** Placement state of one node: the spread cursor and the work sent since the last reports. */
export class Placer {
  readonly #ctx: NodeContext;
  #spreadNext = 0;
  /** Demand sent to a node, keyed by the `available` record of its last report (a new report resets it). */
  readonly #debits = new WeakMap<object, Record<string, number>>();

  constructor(ctx: NodeContext) {
    this.#ctx = ctx;
  }

  /**
   * Where `rec` should run (see the module comment); `pendingHere` answers the demand of the work
   * this node took but has not started (queued for resources, or waiting for its arguments), asked
   * only for `DEFAULT` placement.
   */
  placeTask(rec: TaskRecord, pendingHere: () => ResourceSet = () => ResourceSet.EMPTY): Placement {
    const ctx = this.#ctx;
    const spec = rec.spec;
    const sched = spec.opts.scheduling;
    if (typeof sched === "object" && "nodeId" in sched) {
      // Soft affinity to a node that can never fit the task falls back to the default, as in Ray.
      if (sched.nodeId === ctx.nodeId) {
        if (!sched.soft || ctx.resources.isFeasible(rec.demand)) return undefined;
      } else {
        const node = ctx.cluster?.others().find((n) => n.nodeId === sched.nodeId);
        if (node !== undefined && (!sched.soft || ResourceSet.of(node.total).covers(rec.demand))) {
          return this.sent(sched.nodeId, rec.demand);
        }
      }
      if (!sched.soft) {
        return new TaskUnschedulableError(
          `Task ${spec.name} cannot be scheduled: node ${sched.nodeId} is not alive; pass a live node id from nodes(), or set soft: true`,
        );
      }
    }
    // Work of a placement group runs where the group's bundles are.
    if (rec.group !== undefined || ctx.cluster === undefined) return undefined;
    // Work whose largest arguments live on another node goes there (see `locality.ts`).
    if (sched === undefined || sched === "DEFAULT") {
      const near = nodeWithArgs(ctx, rec, ctx.cluster.others());
      if (near !== undefined) return this.sent(near, rec.demand);
    }
    if (sched === "SPREAD") return this.spread(rec.demand);
    return this.hybrid(rec.demand, pendingHere());
  }

  /**
   * `DEFAULT` placement of `demand` (Ray's hybrid policy): this node (undefined) while it has
   * `demand` free now on top of `pendingHere` (the work it took but has not started); else the
   * best-fitting other node among those with it free now (see {@link bestFit}); else this node
   * when it can ever fit it (the work queues here), else the best-fitting other node whose totals
   * fit, queueing there.
   */
  hybrid(demand: ResourceSet, pendingHere: ResourceSet = ResourceSet.EMPTY): string | undefined {
    const resources = this.#ctx.resources;
    const feasible = resources.isFeasible(demand);
    if (
      feasible &&
      (demand.isEmpty() || resources.fits(pendingHere.isEmpty() ? demand : demand.add(pendingHere)))
    ) {
      return undefined;
    }
    const free = this.bestFit(demand, true);
    if (free !== undefined || feasible) return free;
    return this.bestFit(demand);
  }

  /**
   * The next node round-robin among the alive nodes whose totals cover `demand` (this node is
   * undefined), the first from the cursor with `demand` free now, else the one at the cursor (with
   * `freeOnly`, else this node: an actor waits here for a node to report room).
   */
  spread(demand: ResourceSet, freeOnly = false): string | undefined {
    const ctx = this.#ctx;
    const self: Candidate = {
      nodeId: ctx.nodeId,
      total: ctx.resources.total(),
      available: ctx.resources.available(),
    };
    const nodes = [self, ...this.#candidates()].filter((n) => ResourceSet.of(n.total).covers(demand));
    if (nodes.length === 0) return undefined;
    const start = this.#spreadNext % nodes.length;
    let pick = nodes[start] as Candidate;
    for (let i = 0; i < nodes.length; i++) {
      const n = nodes[(start + i) % nodes.length] as Candidate;
      if (ResourceSet.of(n.available).covers(demand)) {
        pick = n;
        this.#spreadNext = start + i + 1;
        break;
      }
    }
    if (pick === nodes[start]) {
      if (freeOnly && !ResourceSet.of(pick.available).covers(demand)) return undefined;
      this.#spreadNext = start + 1;
    }
    return pick.nodeId === ctx.nodeId ? undefined : this.sent(pick.nodeId, demand);
  }

  /**
   * The other node that fits `demand` best, or undefined when no other node's totals cover it: the
   * one left with the largest share free after taking `demand` (the smallest share over the
   * resources it asks for, CPU for an empty demand), so nodes with the resources free now come
   * before nodes that would queue it, and among those the least loaded one wins. With `freeNow`,
   * only nodes with `demand` free now (after this placer's debits) are candidates.
   */
  bestFit(demand: ResourceSet, freeNow = false): string | undefined {
    const want = demand.toRecord();
    const keys = Object.keys(want);
    if (keys.length === 0) keys.push("CPU");
    let best: string | undefined;
    let bestScore = Number.NEGATIVE_INFINITY;
    for (const n of this.#candidates()) {
      if (!ResourceSet.of(n.total).covers(demand)) continue;
      if (freeNow && !ResourceSet.of(n.available).covers(demand)) continue;
      let score = Number.POSITIVE_INFINITY;
      for (const k of keys) {
        const total = n.total[k] ?? 0;
        // A node already sent more than it had free counts its backlog, so a burst that fits
        // nowhere now is shared out instead of all queueing on the first node.
        const left = (n.available[k] ?? 0) - (n.backlog?.[k] ?? 0) - (want[k] ?? 0);
        score = Math.min(score, total > 0 ? left / total : 0);
      }
      if (score > bestScore) {
        best = n.nodeId;
        bestScore = score;
      }
    }
    return best === undefined ? undefined : this.sent(best, demand);
  }

  /** Whether another node has `demand` free now (after this placer's debits). */
  hasFree(demand: ResourceSet): boolean {
    return this.#candidates().some((n) => ResourceSet.of(n.available).covers(demand));
  }

  /** Counts `demand` against `nodeId`'s free resources until its next report; returns `nodeId`. */
  sent(nodeId: string, demand: ResourceSet): string {
    const view = this.#ctx.cluster?.others().find((n) => n.nodeId === nodeId);
    if (view === undefined || demand.isEmpty()) return nodeId;
    const debit = this.#debits.get(view.available) ?? {};
    for (const [k, v] of Object.entries(demand.toRecord())) debit[k] = (debit[k] ?? 0) + v;
    this.#debits.set(view.available, debit);
    return nodeId;
  }

  /** The other nodes with this placer's debits taken off what they reported free. */
  #candidates(): Candidate[] {
    const others: NodeView[] = this.#ctx.cluster?.others() ?? [];
    return others.map((n) => {
      const debit = this.#debits.get(n.available);
      if (debit === undefined) return n;
      const available: Record<string, number> = {};
      const backlog: Record<string, number> = {};
      for (const [k, d] of Object.entries(debit)) {
        const left = (n.available[k] ?? 0) - d;
        if (left > 0) available[k] = left;
        else if (left < 0) backlog[k] = -left;
      }
      for (const [k, v] of Object.entries(n.available)) if (!(k in debit)) available[k] = v;
      return { nodeId: n.nodeId, total: n.total, available, backlog };
    });
  }
}
