/**
 * The node's life cycle of normal tasks: waiting for argument objects, queued by scheduling class,
 * leased to workers (pipelined when there is a backlog), finished, retried or cancelled.
 *
 * A lease is a worker holding one task's resources; while a class has a backlog, further tasks of
 * the same class are pipelined onto existing leases (one batch per `postMessage`) instead of paying
 * a round trip each, which is what lets small tasks run at hundreds of thousands a second.
 *
 * On a cluster each task is placed at submission (`place-task.ts`, counting the work taken here but
 * not started against what is free), and default tasks still queued here spill to another node
 * when its report shows their resources free there (`respill`, in `task-spill.ts`). Sending a task
 * to its worker is `task-dispatch.ts`; matching queued tasks to leases (pipelining, yielding,
 * ending a lease, lending a blocked one's CPU) is `task-lease.ts`; ending tasks early (cancel, job
 * end, group removal) is `task-cancel.ts`.
 */
import { NodeDiedError, WorkerCrashedError } from "../errors.ts";
import { checkGroupDemand, type GroupPlacement, groupDemand, groupOf } from "../placement/pg-demand.ts";
import { WAIT_FOR_GROUP } from "../placement/pg-manager.ts";
import { objectIdFor } from "../runtime/ids.ts";
import type { CallerId } from "../runtime/node-api.ts";
import type { ObjectValue, Payload, TaskResult, TaskSpec } from "../runtime/protocol.ts";
import { envShapeSuffix, needsHost } from "../runtime-env/env-key.ts";
import type { WorkerProc } from "../worker/worker-proc.ts";
import { type ForwardHooks, forwardTask } from "./forward-task.ts";
import { infeasibleWarning } from "./infeasible.ts";
import type { NodeContext } from "./node-context.ts";
import { type Placer, placerOf } from "./place-task.ts";
import type { ResourceSet } from "./resource-set.ts";
import { cancelTask, endJob, evictGroup, type TaskEnds } from "./task-cancel.ts";
import { drainQueue, endLease, lendWhileBlocked, reacquireAfterBlocked, stealFor } from "./task-lease.ts";
import { compileDemand, demandOf, type ShapeQueue, type TaskRecord } from "./task-record.ts";
import { TaskSpill } from "./task-spill.ts";

export class TaskManager {
  readonly #ctx: NodeContext;
  readonly #tasks = new Map<string, TaskRecord>();
  readonly #queues = new Map<string, ShapeQueue>();
  readonly #warned = new Set<string>();
  /** Where tasks go (this node or another), with its spread cursor. */
  readonly #placer: Placer;
  /** Work taken here but not started, and queued work spilling to other nodes. */
  readonly #spill: TaskSpill;
  /** What ending tasks early (`task-cancel.ts`) uses of this manager. */
  readonly #ends: TaskEnds;
  #scheduling = false;
  #again = false;

  constructor(ctx: NodeContext) {
    this.#ctx = ctx;
    this.#placer = placerOf(ctx);
    this.#spill = new TaskSpill({
      ctx,
      placer: this.#placer,
      queues: () => this.#queues.values(),
      task: (taskId) => this.#tasks.get(taskId),
      forward: (rec, to) => void forwardTask(ctx, rec, to, this.#forwardHooks),
    });
    this.#ends = {
      ctx,
      task: (taskId) => this.#tasks.get(taskId),
      tasks: () => [...this.#tasks.values()],
      queues: () => this.#queues.values(),
      sealAll: (rec, payload) => this.#sealAll(rec, payload),
      finish: (rec) => this.#finish(rec),
      unlink: (w, taskId) => this.#unlink(w, taskId),
      workerDied: (w, code, error) => this.workerDied(w, code, error),
    };
  }

  get(taskId: string): TaskRecord | undefined {
    return this.#tasks.get(taskId);
  }

  /** Who submitted task `taskId` and its parent task, while the task is known here. */
  callerOf(taskId: string): { caller: CallerId; parentTaskId: string | undefined } | undefined {
    const rec = this.#tasks.get(taskId);
    return rec === undefined ? undefined : { caller: rec.caller, parentTaskId: rec.spec.parentTaskId };
  }

  get size(): number {
    return this.#tasks.size;
  }

  /** Tasks waiting for resources, by scheduling class (for status and the infeasible warning). */
  pendingDemand(): Array<{ demand: Record<string, number>; count: number }> {
    const out: Array<{ demand: Record<string, number>; count: number }> = [];
    for (const q of this.#queues.values()) {
      const count = q.items.length - q.head;
      if (count > 0) out.push({ demand: q.demand.toRecord(), count });
    }
    return out;
  }

  readonly #pendingHere = (): ResourceSet => this.#spill.pendingHere();

  submit(caller: CallerId, spec: TaskSpec): void {
    const ctx = this.#ctx;
    const n = spec.fn.generator ? 0 : spec.opts.numReturns;
    const returnIds: string[] = new Array(n);
    for (let i = 0; i < n; i++) {
      const id = objectIdFor(spec.taskId, i + 1);
      returnIds[i] = id;
      ctx.store.expect(id);
      ctx.holdFor(caller, id);
    }
    if (spec.fn.generator) ctx.streams.open(spec.taskId, caller);
    const group = groupOf(spec.opts.scheduling) ?? this.#captured(spec);
    const d = group === undefined ? demandOf(spec) : compileDemand(groupDemand(spec.opts.demand, group));
    const parent = spec.parentTaskId === undefined ? undefined : this.#tasks.get(spec.parentTaskId);
    // A nested task runs in its parent's process environment (cwd, packages) unless given its own.
    const env = needsHost(spec.opts.runtimeEnv) ? spec.opts.runtimeEnv : parent?.env;
    // Workers differ by runtime environment: a lease never runs another environment's tasks.
    const envSuffix = envShapeSuffix(env);
    const rec: TaskRecord = {
      spec,
      caller,
      demand: d.set,
      shape: envSuffix === "" ? d.key : d.key + envSuffix,
      env,
      returnIds,
      state: "WAITING",
      deps: 0,
      attempt: 0,
      cancelled: false,
      worker: undefined,
      children: undefined,
      group,
      target: undefined,
    };
    this.#tasks.set(spec.taskId, rec);
    if (parent !== undefined) {
      parent.children ??= [];
      parent.children.push(spec.taskId);
    }
    const lostId = ctx.pinArgs(spec.argRefs, spec.contained);
    if (lostId !== undefined) {
      this.#fail(rec, ctx.lostError(lostId));
      return;
    }
    const placed = this.#placer.placeTask(rec, this.#pendingHere);
    if (placed instanceof Error) {
      this.#fail(rec, placed);
      return;
    }
    rec.target = placed;
    if (group !== undefined) {
      const bad = checkGroupDemand(ctx.placementGroups, `Task ${spec.name}`, spec.opts.demand, group);
      if (bad !== undefined) {
        this.#fail(rec, bad);
        return;
      }
    } else if (placed === undefined && !ctx.resources.isFeasible(d.set)) this.#warnInfeasible(rec);
    // Work going to another node needs its arguments to exist somewhere, not to be here.
    const remote = placed !== undefined;
    for (const [, id] of spec.argRefs) {
      if (remote ? ctx.store.isAvailable(id) : ctx.store.isReady(id)) continue;
      rec.deps++;
      const onDep = () => {
        if (--rec.deps === 0 && rec.state === "WAITING") this.#enqueue(rec);
      };
      if (remote) ctx.store.onAvailable(id, onDep);
      else ctx.store.onReady(id, onDep);
    }
    if (rec.deps === 0) this.#enqueue(rec);
    else if (!remote && group === undefined && ctx.cluster !== undefined) this.#spill.waitHere(rec);
  }

  /** Another node reported (or joined): spill queued default tasks to nodes with them free (`task-spill.ts`). */
  respill(): void {
    this.#spill.respill();
  }

  /** Local work whose arguments live on another node (placed again here): wait until they are pulled. */
  #fetchArgs(rec: TaskRecord): boolean {
    const store = this.#ctx.store;
    const refs = rec.spec.argRefs;
    let all = true;
    for (const [, id] of refs) if (!store.isReady(id)) all = false;
    if (all) return false;
    const missing = refs.filter(([, id]) => !store.isReady(id));
    rec.state = "WAITING";
    rec.deps = missing.length;
    if (rec.group === undefined && this.#ctx.cluster !== undefined) this.#spill.waitHere(rec);
    for (const [, id] of missing) {
      try {
        store.onReady(id, () => {
          if (--rec.deps === 0 && rec.state === "WAITING") this.#enqueue(rec);
        });
      } catch (err) {
        this.#fail(rec, err as Error);
        return true;
      }
    }
    return true;
  }

  #enqueue(rec: TaskRecord, front = false): void {
    this.#spill.doneWaitingHere(rec);
    if (rec.cancelled) return;
    if (rec.target === undefined && this.#fetchArgs(rec)) return;
    // An argument that is itself an error fails the task without running it, as in Ray.
    for (const [, id] of rec.spec.argRefs) {
      const v = this.#ctx.store.peek(id);
      if (v?.err) {
        this.#sealAll(rec, v.payload);
        this.#finish(rec);
        return;
      }
    }
    if (rec.group !== undefined && !this.#groupTarget(rec)) return;
    if (rec.target !== undefined) {
      rec.state = "RUNNING";
      void forwardTask(this.#ctx, rec, rec.target, this.#forwardHooks);
      return;
    }
    rec.state = "QUEUED";
    let q = this.#queues.get(rec.shape);
    if (q === undefined) {
      q = { demand: rec.demand, items: [], head: 0, leases: new Set() };
      this.#queues.set(rec.shape, q);
    }
    if (front) {
      if (q.head > 0) q.items[--q.head] = rec;
      else q.items.unshift(rec);
    } else q.items.push(rec);
    this.schedule();
  }

  readonly #forwardHooks: ForwardHooks = {
    finished: (rec) => this.#finish(rec),
    failed: (rec, err) => {
      if (rec.state !== "FINISHED") this.#fail(rec, err);
    },
    nodeLost: (rec, nodeId, reason) => {
      if (rec.state === "FINISHED" || rec.cancelled) return;
      if (this.#retriesLeft(rec)) {
        rec.attempt++;
        const placed = this.#placer.placeTask(rec, this.#pendingHere);
        if (placed instanceof Error) {
          this.#fail(rec, placed);
          return;
        }
        rec.target = placed;
        rec.state = "WAITING";
        if (placed === undefined && !this.#ctx.resources.isFeasible(rec.demand)) this.#warnInfeasible(rec);
        this.#enqueue(rec);
        return;
      }
      this.#fail(
        rec,
        new NodeDiedError(
          `The node ${nodeId} running ${rec.spec.name} died (${reason}) and the task's ${rec.spec.opts.maxRetries} retries are used up; raise maxRetries`,
        ),
      );
    },
  };

  /** Matches queued tasks to leases. Re-entrant calls coalesce into one more pass. */
  schedule(): void {
    if (this.#scheduling) {
      this.#again = true;
      return;
    }
    this.#scheduling = true;
    const ctx = this.#ctx;
    try {
      do {
        this.#again = false;
        for (const q of this.#queues.values()) drainQueue(ctx, q);
      } while (this.#again);
    } finally {
      this.#scheduling = false;
    }
  }

  /** A worker reported a plain task's single inline result (the columnar fast path). */
  onInlineResult(w: WorkerProc, taskId: string, bytes: Uint8Array): void {
    w.lastProgress = performance.now();
    const rec = this.#tasks.get(taskId);
    if (rec === undefined || rec.state !== "RUNNING" || rec.cancelled || rec.returnIds.length !== 1) {
      this.onResult(w, { taskId, values: [{ t: 0, bytes }], contained: [[]] });
      return;
    }
    this.#unlink(w, taskId);
    this.#ctx.store.seal(rec.returnIds[0] as string, { payload: { t: 0, bytes }, err: false }, undefined);
    this.#finish(rec);
    if (w.inflight.length === 0) this.#afterWorkerProgress(w);
    else this.schedule();
  }

  /** A worker reported a task's outcome. */
  onResult(w: WorkerProc, r: TaskResult): void {
    w.lastProgress = performance.now();
    const rec = this.#tasks.get(r.taskId);
    this.#unlink(w, r.taskId);
    if (rec === undefined || rec.state === "FINISHED" || rec.cancelled) {
      for (const p of r.values) this.#ctx.dropPayload(p);
      if (rec !== undefined && rec.state !== "FINISHED") this.#finish(rec);
      this.#afterWorkerProgress(w);
      return;
    }
    if (r.errorName !== undefined) {
      const retry = rec.spec.opts.retryExceptions;
      const wanted = retry === true || (Array.isArray(retry) && retry.includes(r.errorName));
      if (wanted && !r.fatal && this.#retriesLeft(rec)) {
        for (const p of r.values) this.#ctx.dropPayload(p);
        rec.attempt++;
        rec.worker = undefined;
        this.#enqueue(rec);
        this.#afterWorkerProgress(w);
        return;
      }
      this.#sealAll(rec, r.values[0] as Payload);
    } else if (rec.spec.fn.generator) {
      this.#ctx.streams.close(rec.spec.taskId);
    } else {
      for (let i = 0; i < rec.returnIds.length; i++) {
        this.#ctx.store.seal(
          rec.returnIds[i] as string,
          { payload: r.values[i] as Payload, err: false },
          r.contained[i],
        );
      }
    }
    this.#finish(rec);
    this.#afterWorkerProgress(w);
  }

  #retriesLeft(rec: TaskRecord): boolean {
    const max = rec.spec.opts.maxRetries;
    return max < 0 || rec.attempt < max;
  }

  /** Seals every return (or the stream) with the same error payload. */
  #sealAll(rec: TaskRecord, payload: Payload): void {
    if (rec.spec.fn.generator) {
      this.#ctx.streams.fail(rec.spec.taskId, payload);
      return;
    }
    for (const id of rec.returnIds) this.#ctx.store.seal(id, { payload, err: true }, undefined);
  }

  #fail(rec: TaskRecord, err: Error): void {
    this.#sealAll(rec, this.#ctx.errorPayload(err));
    this.#finish(rec);
  }

  #finish(rec: TaskRecord): void {
    if (rec.state === "FINISHED") return;
    rec.state = "FINISHED";
    this.#spill.doneWaitingHere(rec);
    this.#tasks.delete(rec.spec.taskId);
    this.#ctx.unpinArgs(rec.spec.argRefs, rec.spec.contained);
  }

  #unlink(w: WorkerProc, taskId: string): void {
    const i = w.inflight.indexOf(taskId);
    if (i === 0) w.inflight.shift();
    else if (i > 0) w.inflight.splice(i, 1);
  }

  /** After a worker finished or returned work: end an empty lease, or feed it. */
  #afterWorkerProgress(w: WorkerProc): void {
    if (w.state === "LEASED" && w.inflight.length === 0) {
      const q = w.shape === undefined ? undefined : this.#queues.get(w.shape);
      const hasBacklog = q !== undefined && q.head < q.items.length;
      if (!hasBacklog || w.retired) {
        endLease(this.#ctx, q, w);
        if (q !== undefined) stealFor(q);
      }
    }
    this.schedule();
  }

  /** The worker handed back tasks it had not started. */
  onReturned(w: WorkerProc, taskIds: readonly string[]): void {
    w.yielding = false;
    for (let i = taskIds.length - 1; i >= 0; i--) {
      const id = taskIds[i] as string;
      this.#unlink(w, id);
      const rec = this.#tasks.get(id);
      if (rec === undefined || rec.state !== "RUNNING") continue;
      rec.worker = undefined;
      rec.state = "QUEUED";
      this.#enqueue(rec, true);
    }
    this.#spill.afterReturned();
    this.#afterWorkerProgress(w);
  }

  /** The running task of `w` waits in get/wait: lend its CPU and hand queued work elsewhere. */
  blocked(w: WorkerProc): void {
    lendWhileBlocked(this.#ctx, w);
  }

  unblocked(w: WorkerProc): void {
    reacquireAfterBlocked(this.#ctx, w);
  }

  /** A task worker died: retry its running task if allowed; requeue the ones it had not started. */
  workerDied(w: WorkerProc, code: number, error: string | undefined): void {
    const ids = w.inflight.splice(0);
    const q = w.shape === undefined ? undefined : this.#queues.get(w.shape);
    q?.leases.delete(w);
    if (w.alloc !== undefined && w.alloc.state !== "RELEASED") this.#ctx.resources.release(w.alloc);
    w.alloc = undefined;
    for (let i = ids.length - 1; i >= 0; i--) {
      const rec = this.#tasks.get(ids[i] as string);
      if (rec === undefined || rec.state !== "RUNNING") continue;
      rec.worker = undefined;
      if (i > 0) {
        rec.state = "QUEUED";
        this.#enqueue(rec, true);
        continue;
      }
      if (rec.cancelled) {
        this.#finish(rec);
      } else if (this.#retriesLeft(rec)) {
        rec.attempt++;
        rec.state = "QUEUED";
        this.#enqueue(rec, true);
      } else {
        const why =
          error !== undefined ? `it threw outside the task: ${error}` : `it exited with code ${code}`;
        this.#fail(
          rec,
          new WorkerCrashedError(
            `The worker running ${rec.spec.name} died (${why}) and the task's ${rec.spec.opts.maxRetries} retries are used up; raise maxRetries or find what ends the worker (process.exit, a crash)`,
          ),
        );
      }
    }
    this.schedule();
  }

  /**
   * Group work runs on the node holding its bundle (`rec.target`); false when that bundle is not
   * placed yet: the task waits and is enqueued again once the group is placed.
   */
  #groupTarget(rec: TaskRecord): boolean {
    const groups = this.#ctx.placementGroups;
    const group = rec.group as GroupPlacement;
    const t = groups.workTarget(group, rec.spec.opts.demand);
    if (t === WAIT_FOR_GROUP) {
      rec.state = "WAITING";
      groups.whenPlaced(group.pgId, (placed) => {
        if (placed && rec.state === "WAITING" && rec.deps === 0) this.#enqueue(rec);
      });
      return false;
    }
    rec.target = t;
    return true;
  }

  /** A task submitted with default scheduling by a task that captures its children into a group. */
  #captured(spec: TaskSpec): GroupPlacement | undefined {
    if (spec.opts.scheduling !== "DEFAULT" || spec.parentTaskId === undefined) return undefined;
    const parent = this.#tasks.get(spec.parentTaskId)?.group;
    return parent?.capture === true ? { pgId: parent.pgId, index: -1, capture: true } : undefined;
  }

  /** A placement group was removed: its queued tasks fail, its running ones are stopped (`task-cancel.ts`). */
  evictGroup(pgId: string): void {
    evictGroup(this.#ends, pgId);
  }

  /** Job `job`'s driver exited: its tasks here end as a forced cancel ends them (`task-cancel.ts`). */
  jobEnded(job: string): void {
    endJob(this.#ends, job);
  }

  /** Cancels a task (and, if `recursive`, the tasks it submitted). */
  cancel(taskId: string, force: boolean, recursive: boolean): void {
    cancelTask(this.#ends, taskId, force, recursive);
  }

  /** Task records sealed with an error when the node stops. */
  closeAll(): void {
    this.#tasks.clear();
    this.#queues.clear();
    this.#spill.clear();
  }

  #warnInfeasible(rec: TaskRecord): void {
    // Once per shape, and on a cluster once per job too: each connected driver hears of its own.
    const key = rec.spec.job === undefined ? rec.shape : `${rec.shape}\u0000${rec.spec.job}`;
    if (this.#warned.has(key)) return;
    this.#warned.add(key);
    const sched = rec.spec.opts.scheduling;
    const pinned = typeof sched === "object" && "nodeId" in sched && !sched.soft;
    this.#ctx.warn(
      infeasibleWarning(
        this.#ctx,
        `Task ${rec.spec.name}`,
        rec.spec.opts.demand,
        pinned ? "its hard node affinity names this node" : undefined,
      ),
      rec.spec.taskId,
    );
  }
}

export type { ObjectValue };
