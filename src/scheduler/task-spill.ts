/**
 * A cluster node's work taken here but not started, and the spilling of queued tasks to other
 * nodes (Ray's spillback). The task manager counts the demand of tasks waiting for their arguments
 * here, queued, or pipelined behind a running task, so placement does not see a burst as free
 * (`pendingHere`); when another node reports resources free, default tasks queued here for resources
 * this node has not free go there (`respill`).
 */
import type { WorkerProc } from "../worker/worker-proc.ts";
import type { NodeContext } from "./node-context.ts";
import type { Placer } from "./place-task.ts";
import { ResourceSet } from "./resource-set.ts";
import type { ShapeQueue, TaskRecord } from "./task-record.ts";

/** What spilling uses of the task manager. */
export interface SpillHost {
  readonly ctx: NodeContext;
  readonly placer: Placer;
  /** The scheduling-class queues. */
  queues(): Iterable<ShapeQueue>;
  /** A live task record by id. */
  task(taskId: string): TaskRecord | undefined;
  /** Runs `rec` on node `to` (already marked running). */
  forward(rec: TaskRecord, to: string): void;
}

export class TaskSpill {
  readonly #host: SpillHost;
  /** A lease was asked to hand back tasks so they can spill: place them again when they come. */
  #respillReturned = false;
  /** On a cluster, the tasks placed here that wait for their arguments, and their summed demand. */
  readonly #waitingHere = new Set<TaskRecord>();
  #waitingDemand = ResourceSet.EMPTY;

  constructor(host: SpillHost) {
    this.#host = host;
  }

  /**
   * The demand of the work this node took but has not started, as placement counts it against
   * what is free here (so a burst does not all look free): tasks waiting for their arguments,
   * queued for resources, or pipelined onto a lease behind the task it runs.
   */
  pendingHere(): ResourceSet {
    if (this.#host.ctx.cluster === undefined) return ResourceSet.EMPTY;
    let sum = this.#waitingDemand;
    for (const q of this.#host.queues()) {
      let n = q.items.length - q.head;
      for (const l of q.leases) if (l.inflight.length > 1) n += l.inflight.length - 1;
      if (n === 0 || q.demand.isEmpty()) continue;
      sum = sum.add(q.demand.scale(n));
    }
    return sum;
  }

  /** `rec` waits here for its arguments: count its demand as taken. */
  waitHere(rec: TaskRecord): void {
    if (rec.demand.isEmpty() || this.#waitingHere.has(rec)) return;
    this.#waitingHere.add(rec);
    this.#waitingDemand = this.#waitingDemand.add(rec.demand);
  }

  /** `rec` no longer waits for its arguments (queued, forwarded or finished). */
  doneWaitingHere(rec: TaskRecord): void {
    if (this.#waitingHere.size === 0 || !this.#waitingHere.delete(rec)) return;
    this.#waitingDemand = this.#waitingDemand.subtract(rec.demand);
  }

  /**
   * Another node reported (or joined): default tasks queued here for resources this node has not
   * free go to the nodes that have them free now (Ray's spillback of queued work; the placer's
   * debits keep one report from taking more than it has). Tasks pipelined onto a lease behind a
   * running task are asked back first (they come back through `onReturned`, which calls this
   * again). Tasks pinned here (node affinity, forwarded from another node) or in a placement group
   * stay.
   */
  respill(): void {
    const { ctx, placer } = this.#host;
    if (ctx.cluster === undefined) return;
    for (const q of this.#host.queues()) {
      if (q.demand.isEmpty() || ctx.resources.fits(q.demand)) continue;
      let moved = 0;
      for (let i = q.items.length - 1; i >= q.head; i--) {
        const rec = q.items[i] as TaskRecord;
        if (rec.cancelled || rec.state !== "QUEUED" || !spillable(rec)) continue;
        const to = placer.bestFit(q.demand, true);
        if (to === undefined) break;
        rec.target = to;
        rec.state = "RUNNING";
        moved++;
        this.#host.forward(rec, to);
      }
      if (moved > 0) {
        const left = q.items.slice(q.head).filter((r) => r.state === "QUEUED" && !r.cancelled);
        q.items = left;
        q.head = 0;
      }
      if (q.head < q.items.length) continue;
      // Nothing left in the queue: ask leases holding tasks they have not started for them back,
      // when some node has the resources free to take them.
      for (const l of q.leases) {
        if (l.inflight.length <= 1 || l.yielding || !this.#holdsSpillable(l)) continue;
        if (!placer.hasFree(q.demand)) break;
        this.#respillReturned = true;
        l.yielding = true;
        l.send({ t: "yield" });
      }
    }
  }

  /** A lease handed back tasks: if spilling asked for them, place them again. */
  afterReturned(): void {
    if (!this.#respillReturned) return;
    this.#respillReturned = false;
    this.respill();
  }

  /** Forgets the waiting work (the node stops). */
  clear(): void {
    this.#waitingHere.clear();
    this.#waitingDemand = ResourceSet.EMPTY;
  }

  /** Whether a lease holds a task it has not started that may go to another node. */
  #holdsSpillable(l: WorkerProc): boolean {
    for (let i = 1; i < l.inflight.length; i++) {
      const rec = this.#host.task(l.inflight[i] as string);
      if (rec !== undefined && !rec.cancelled && spillable(rec)) return true;
    }
    return false;
  }
}

/** Whether a task queued here may go to another node: default scheduling, no group, not pinned. */
function spillable(rec: TaskRecord): boolean {
  const sched = rec.spec.opts.scheduling;
  return rec.group === undefined && (sched === undefined || sched === "DEFAULT");
}
