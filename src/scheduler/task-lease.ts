/**
 * Leases of task workers, per scheduling class (shape queue): matching queued tasks to a new lease
 * while resources allow, else pipelining them onto the least loaded existing lease; asking a loaded
 * lease to hand back (`yield`) tasks it has not started when another lease could take them; ending
 * a lease; and lending a lease's CPU while its task blocks in get/wait. Plain functions the task
 * manager (`task-manager.ts`) calls directly; it owns the queues and the task records.
 */
import type { WorkerProc } from "../worker/worker-proc.ts";
import type { NodeContext } from "./node-context.ts";
import { dispatchTask } from "./task-dispatch.ts";
import type { ShapeQueue, TaskRecord } from "./task-record.ts";

/** Most tasks pipelined onto one worker ahead of the one it runs. */
const MAX_PIPELINE = 1024;

/** A lease that has not finished a task for this long is not given more tasks to queue. */
const STUCK_MS = 2;

/** Sends the queue's tasks to leases (new ones while resources allow, else pipelined) until none takes more. */
export function drainQueue(ctx: NodeContext, q: ShapeQueue): void {
  let now: number | undefined;
  while (q.head < q.items.length) {
    const rec = q.items[q.head] as TaskRecord;
    if (rec.cancelled || rec.state !== "QUEUED") {
      q.items[q.head++] = undefined as unknown as TaskRecord;
      continue;
    }
    let w: WorkerProc | undefined;
    const alloc = ctx.resources.tryAcquire(q.demand);
    if (alloc !== undefined) {
      w = ctx.pool.take(rec.env);
      w.state = "LEASED";
      w.alloc = alloc;
      w.shape = rec.shape;
      q.leases.add(w);
    } else {
      const backlog = q.items.length - q.head;
      const depth = Math.min(MAX_PIPELINE, Math.ceil(backlog / Math.max(1, q.leases.size)));
      now ??= performance.now();
      let best: WorkerProc | undefined;
      for (const l of q.leases) {
        if (l.blocked > 0 || l.yielding || l.retired || l.inflight.length > depth) continue;
        // A lease whose current task has run for a while may run for much longer: queueing behind
        // it could leave work waiting while another lease frees up (head-of-line blocking).
        if (l.inflight.length > 0 && now - l.lastProgress > STUCK_MS) continue;
        if (best === undefined || l.inflight.length < best.inflight.length) best = l;
      }
      if (best === undefined) break;
      w = best;
    }
    q.items[q.head++] = undefined as unknown as TaskRecord;
    dispatchTask(ctx, rec, w);
  }
  if (q.head === q.items.length) {
    q.items.length = 0;
    q.head = 0;
    rebalance(ctx, q);
  } else if (q.head > 1024 && q.head * 2 > q.items.length) {
    q.items = q.items.slice(q.head);
    q.head = 0;
  }
}

/** Ends lease `w` (of queue `q`, if it still exists): its resources are freed, the worker goes back to the pool. */
export function endLease(ctx: NodeContext, q: ShapeQueue | undefined, w: WorkerProc): void {
  q?.leases.delete(w);
  if (w.alloc !== undefined) ctx.resources.release(w.alloc);
  w.alloc = undefined;
  w.blocked = 0;
  ctx.pool.giveBack(w);
  ctx.resourcesFreed();
}

/**
 * Resources for another lease are free while a lease holds tasks it has not started (they were
 * pipelined onto it while resources were short, e.g. during an actor's placement): ask the most
 * loaded lease to hand them back, so they spread over new leases.
 */
function rebalance(ctx: NodeContext, q: ShapeQueue): void {
  let most: WorkerProc | undefined;
  for (const l of q.leases) {
    if (
      l.inflight.length > 1 &&
      !l.yielding &&
      (most === undefined || l.inflight.length > most.inflight.length)
    )
      most = l;
  }
  if (most === undefined || !ctx.resources.fits(q.demand)) return;
  most.yielding = true;
  most.send({ t: "yield" });
}

/** A lease went idle while another holds several queued tasks: ask that one to hand some back. */
export function stealFor(q: ShapeQueue): void {
  for (const l of q.leases) {
    if (l.inflight.length > 1 && !l.yielding) {
      l.yielding = true;
      l.send({ t: "yield" });
      return;
    }
  }
}

/** The running task of lease `w` waits in get/wait: lend its CPU and hand queued work elsewhere. */
export function lendWhileBlocked(ctx: NodeContext, w: WorkerProc): void {
  if (w.state !== "LEASED" || w.alloc === undefined) return;
  w.blocked++;
  if (w.blocked === 1) {
    ctx.resources.releaseCpuWhileBlocked(w.alloc);
    if (w.inflight.length > 1 && !w.yielding) {
      w.yielding = true;
      w.send({ t: "yield" });
    }
    // The lent CPU may place a waiting actor too (a task that creates an actor and waits for it).
    ctx.resourcesFreed();
  }
}

/** The task of lease `w` stopped waiting: take its CPU back once no wait is left. */
export function reacquireAfterBlocked(ctx: NodeContext, w: WorkerProc): void {
  if (w.state !== "LEASED" || w.alloc === undefined || w.blocked === 0) return;
  w.blocked--;
  if (w.blocked === 0) ctx.resources.reacquireCpuAfterBlocked(w.alloc);
}
