/**
 * Where a task runs: here (undefined), on another alive node (its id), or nowhere (an error to fail
 * it with). Hard node affinity names the node; DEFAULT work that can never fit this node spills to
 * a node whose totals fit, preferring one with the resources free now.
 */
import { TaskUnschedulableError } from "../errors.ts";
import type { NodeContext } from "./node-context.ts";
import { ResourceSet } from "./resource-set.ts";
import type { TaskRecord } from "./task-record.ts";

/** Where `rec` should run (see the module comment). */
export function placeTask(ctx: NodeContext, rec: TaskRecord): string | undefined | Error {
  const spec = rec.spec;
  const sched = spec.opts.scheduling;
  const forwardable = !spec.fn.generator && spec.contained.length === 0 && rec.group === undefined;
  const others = ctx.cluster?.others() ?? [];
  if (typeof sched === "object" && "nodeId" in sched && sched.nodeId !== ctx.nodeId) {
    const alive = others.some((n) => n.nodeId === sched.nodeId);
    if (alive && forwardable) return sched.nodeId;
    if (sched.soft) return undefined;
    return new TaskUnschedulableError(
      alive
        ? `Task ${spec.name} cannot be scheduled on node ${sched.nodeId}: generator tasks and tasks with refs nested in their arguments do not run on another node yet; pin it to this node or set soft: true`
        : `Task ${spec.name} cannot be scheduled: node ${sched.nodeId} is not alive; pass a live node id from nodes(), or set soft: true`,
    );
  }
  if (!forwardable || others.length === 0 || ctx.resources.isFeasible(rec.demand)) return undefined;
  let fits: string | undefined;
  for (const n of others) {
    if (!ResourceSet.of(n.total).covers(rec.demand)) continue;
    if (ResourceSet.of(n.available).covers(rec.demand)) return n.nodeId;
    fits ??= n.nodeId;
  }
  return fits;
}
