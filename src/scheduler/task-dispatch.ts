/**
 * Sending one task to the worker leasing it: the worker learns each function (with its per-call
 * settings) once and gets an index for it; a plain task with inline arguments goes by the columnar
 * fast path (`sendTask`), any other as a full `task` message.
 */
import type { WorkerProc } from "../worker/worker-proc.ts";
import type { NodeContext } from "./node-context.ts";
import type { TaskRecord } from "./task-record.ts";

/** Registration keys by options object: building the key string per task showed in profiles. */
const registrationKeys = new WeakMap<
  object,
  { fnId: string; name: string; namespace: string | undefined; key: string }
>();

/** Marks `rec` running on `w` and sends it there (behind the tasks `w` already holds). */
export function dispatchTask(ctx: NodeContext, rec: TaskRecord, w: WorkerProc): void {
  const spec = rec.spec;
  rec.state = "RUNNING";
  rec.worker = w;
  if (w.inflight.length === 0) w.lastProgress = performance.now();
  w.inflight.push(spec.taskId);
  // A bundle reserved the GPUs: work inside it gets the bundle's ids.
  const gpuIds =
    rec.group === undefined
      ? (w.alloc?.gpuIds ?? [])
      : ctx.placementGroups.gpuIdsFor(rec.group, spec.opts.demand);
  const fn = register(rec, w);
  if (spec.argRefs.length === 0 && gpuIds.length === 0 && spec.env === undefined && spec.args.t === 0) {
    w.sendTask(spec.taskId, fn, spec.args.bytes);
    return;
  }
  w.send({
    t: "task",
    taskId: spec.taskId,
    fn,
    args: spec.args,
    argRefs: spec.argRefs,
    argValues: ctx.argValues(w.id, spec.argRefs),
    gpuIds,
    env: spec.env,
  });
}

/** The worker's index for this task's function and per-call settings, registering it on first use. */
function register(rec: TaskRecord, w: WorkerProc): number {
  const spec = rec.spec;
  let cached = registrationKeys.get(spec.opts);
  if (
    cached === undefined ||
    cached.fnId !== spec.fn.id ||
    cached.name !== spec.name ||
    cached.namespace !== spec.namespace
  ) {
    const key = `${spec.fn.id}\u0000${spec.name}\u0000${spec.opts.numReturns}\u0000${rec.shape}\u0000${spec.namespace ?? ""}`;
    cached = { fnId: spec.fn.id, name: spec.name, namespace: spec.namespace, key };
    registrationKeys.set(spec.opts, cached);
  }
  const key = cached.key;
  let idx = w.knownFns.get(key);
  if (idx === undefined) {
    idx = w.knownFns.size + 1;
    w.knownFns.set(key, idx);
    w.send({
      t: "fn",
      idx,
      fn: spec.fn,
      name: spec.name,
      numReturns: spec.opts.numReturns,
      resources: spec.opts.demand,
      ...(spec.namespace === undefined ? {} : { namespace: spec.namespace }),
    });
  }
  return idx;
}
