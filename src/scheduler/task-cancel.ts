/**
 * Ending tasks before they finish: `cancel()` on a task (and its children), a removed placement
 * group's tasks, and a job's tasks when its driver exits. Queued or waiting tasks are dropped; a
 * worker running one is stopped when it must be (force, a removed group, an ended job), and a task
 * forwarded to another node is cancelled there too.
 */
import { TaskCancelledError, TaskUnschedulableError } from "../errors.ts";
import { objectIdFor } from "../runtime/ids.ts";
import type { Payload } from "../runtime/protocol.ts";
import type { WorkerProc } from "../worker/worker-proc.ts";
import type { NodeContext } from "./node-context.ts";
import type { ShapeQueue, TaskRecord } from "./task-record.ts";

/** What ending tasks uses of the task manager. */
export interface TaskEnds {
  readonly ctx: NodeContext;
  /** A live task record by id. */
  task(taskId: string): TaskRecord | undefined;
  /** A snapshot of the live task records. */
  tasks(): TaskRecord[];
  /** The scheduling-class queues. */
  queues(): Iterable<ShapeQueue>;
  /** Seals every return (or the stream) with the same error payload. */
  sealAll(rec: TaskRecord, payload: Payload): void;
  /** Marks the task finished and forgets it. */
  finish(rec: TaskRecord): void;
  /** Takes a task out of a worker's queue. */
  unlink(w: WorkerProc, taskId: string): void;
  /** A task worker died (here: was stopped): retry or requeue its other tasks. */
  workerDied(w: WorkerProc, code: number, error: string | undefined): void;
}

/** A placement group was removed: its queued tasks fail, its running ones are stopped. */
export function evictGroup(t: TaskEnds, pgId: string): void {
  for (const rec of t.tasks()) {
    if (rec.group?.pgId !== pgId || rec.state === "FINISHED") continue;
    const err = new TaskUnschedulableError(
      `Task ${rec.spec.name} was stopped: its placement group ${pgId} was removed`,
    );
    rec.cancelled = true;
    t.sealAll(rec, t.ctx.errorPayload(err));
    const w = rec.worker;
    t.finish(rec);
    if (w !== undefined && w.state !== "DEAD") {
      t.unlink(w, rec.spec.taskId);
      t.ctx.pool.terminate(w);
      t.workerDied(w, 0, undefined);
    }
  }
}

/**
 * Job `job`'s driver exited: its tasks here end as a forced cancel ends them (Ray drops a finished
 * job's queued work and kills its workers). Tasks waiting for arguments or queued are dropped; a
 * worker running one of them is stopped, and the other jobs' tasks pipelined behind it go back to
 * the queue (`workerDied`); one pipelined behind another job's running task is taken out of the
 * worker's queue. Tasks forwarded to another node end there by that node's own `jobEnded` (and a
 * cancel, for a spec still on its way). Actor calls are not tasks: a detached actor's live on.
 */
export function endJob(t: TaskEnds, job: string): void {
  const ctx = t.ctx;
  const stop = new Set<WorkerProc>();
  let ended = 0;
  for (const rec of t.tasks()) {
    if (rec.spec.job !== job || rec.state === "FINISHED") continue;
    ended++;
    rec.cancelled = true;
    const err = new TaskCancelledError(`Task ${rec.spec.name} was cancelled: the driver of its job exited`);
    t.sealAll(rec, ctx.errorPayload(err));
    const { state, worker: w, target } = rec;
    t.finish(rec);
    if (state !== "RUNNING") continue;
    if (target !== undefined) {
      const id = rec.returnIds[0] ?? objectIdFor(rec.spec.taskId, 1);
      void ctx.cluster
        ?.link(target)
        .then((l) => l.api.cancel(l.caller, id, true, false))
        .catch(() => {});
    } else if (w !== undefined && w.state !== "DEAD") {
      if (w.inflight[0] === rec.spec.taskId) stop.add(w);
      else w.send({ t: "cancel", taskId: rec.spec.taskId });
    }
  }
  if (ended === 0) return;
  for (const w of stop) {
    ctx.pool.terminate(w);
    t.workerDied(w, 0, undefined);
  }
  // Drop the ended tasks from the queues now, so the pending demand (status, autoscaling) forgets them.
  for (const q of t.queues()) {
    if (q.head >= q.items.length) continue;
    q.items = q.items.slice(q.head).filter((r) => r.state === "QUEUED" && !r.cancelled);
    q.head = 0;
  }
  ctx.resourcesFreed();
}

/** Cancels a task (and, if `recursive`, the tasks it submitted). */
export function cancelTask(t: TaskEnds, taskId: string, force: boolean, recursive: boolean): void {
  const ctx = t.ctx;
  const rec = t.task(taskId);
  if (rec === undefined || rec.state === "FINISHED") return;
  if (recursive && rec.children !== undefined) for (const c of rec.children) cancelTask(t, c, force, true);
  rec.cancelled = true;
  const err = new TaskCancelledError(
    `Task ${rec.spec.name} was cancelled: cancel() was called on it${force ? " with force, which stopped its worker" : ""}`,
  );
  const payload = ctx.errorPayload(err);
  t.sealAll(rec, payload);
  const target = rec.target;
  if (rec.state === "RUNNING" && target !== undefined) {
    void ctx.cluster
      ?.link(target)
      .then((l) => l.api.cancel(l.caller, rec.returnIds[0] ?? `${taskId}00000001`, force, recursive))
      .catch(() => {});
  }
  const w = rec.worker;
  if (rec.state !== "RUNNING" || w === undefined) {
    t.finish(rec);
    return;
  }
  if (force) {
    // Terminating the worker is the only way to stop a busy loop; its other tasks run elsewhere.
    t.finish(rec);
    t.unlink(w, taskId);
    ctx.pool.terminate(w);
    t.workerDied(w, 0, undefined);
  } else {
    w.send({ t: "cancel", taskId });
  }
}
