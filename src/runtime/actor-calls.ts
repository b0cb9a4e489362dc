/**
 * Calls on an actor's worker: sending them in submission order (the common call in the worker's
 * columnar batch, by a registered signature), taking their results, failing them, and cancelling one.
 * The actor manager owns the records; these work on the record they are given.
 */
import { TaskCancelledError } from "../errors.ts";
import type { NodeContext } from "../scheduler/node-context.ts";
import type { WorkerProc } from "../worker/worker-proc.ts";
import type { ActorRecord, CallRecord } from "./actor-record.ts";
import type { ActorCallSpec, Payload, TaskResult } from "./protocol.ts";

/** Sends calls in submission order while the one at the front has its arguments. */
export function pumpCalls(ctx: NodeContext, rec: ActorRecord): void {
  if (rec.state !== "ALIVE" || rec.worker === undefined) return;
  const w = rec.worker;
  while (rec.queue.length > 0 && (rec.queue[0] as CallRecord).deps === 0) {
    const call = rec.queue.shift() as CallRecord;
    const argErr = argError(ctx, call);
    if (argErr !== undefined) {
      sealCall(ctx, call, argErr);
      ctx.unpinArgs(call.spec.argRefs, call.spec.contained);
      continue;
    }
    rec.inflight.set(call.spec.taskId, call);
    const s = call.spec;
    if (s.argRefs.length === 0 && s.args.t === 0 && s.streaming !== true) {
      // The common call travels in the worker's columnar batch, named by a registered signature.
      w.sendTask(s.taskId, signature(w, s), s.args.bytes);
      continue;
    }
    w.send({
      t: "call",
      taskId: s.taskId,
      method: s.method,
      args: s.args,
      argRefs: s.argRefs,
      argValues: ctx.argValues(w.id, s.argRefs),
      numReturns: s.numReturns,
      name: s.name,
      ...(s.streaming === true ? { streaming: true } : {}),
    });
  }
}

/** The worker's index for (method, numReturns, name), registering it on first use. */
function signature(w: WorkerProc, s: ActorCallSpec): number {
  const key = `${s.method}\u0000${s.numReturns}\u0000${s.name}`;
  let idx = w.knownFns.get(key);
  if (idx === undefined) {
    idx = w.knownFns.size + 1;
    w.knownFns.set(key, idx);
    w.send({ t: "sig", idx, method: s.method, numReturns: s.numReturns, name: s.name });
  }
  return idx;
}

function argError(ctx: NodeContext, call: CallRecord): Payload | undefined {
  for (const [, id] of call.spec.argRefs) {
    const v = ctx.store.peek(id);
    if (v?.err) return v.payload;
  }
  return undefined;
}

/** A call's result from the worker of actor `rec` (undefined: an actor not known here). */
export function callResult(ctx: NodeContext, rec: ActorRecord | undefined, r: TaskResult): void {
  const call = rec?.inflight.get(r.taskId);
  if (rec === undefined || call === undefined) {
    for (const p of r.values) ctx.dropPayload(p);
    return;
  }
  rec.inflight.delete(r.taskId);
  if (call.cancelled) {
    for (const p of r.values) ctx.dropPayload(p);
    ctx.unpinArgs(call.spec.argRefs, call.spec.contained);
    return;
  }
  if (r.errorName !== undefined) sealCall(ctx, call, r.values[0] as Payload);
  else if (call.spec.streaming === true) ctx.streams.close(call.spec.taskId);
  else
    for (let i = 0; i < call.returnIds.length; i++) {
      ctx.store.seal(
        call.returnIds[i] as string,
        { payload: r.values[i] as Payload, err: false },
        r.contained[i],
      );
    }
  ctx.unpinArgs(call.spec.argRefs, call.spec.contained);
}

/** Fails the call: its returns, or its stream after the items it already has. */
export function sealCall(ctx: NodeContext, call: CallRecord, payload: Payload): void {
  if (call.spec.streaming === true) {
    ctx.streams.fail(call.spec.taskId, payload);
    return;
  }
  for (const id of call.returnIds) ctx.store.seal(id, { payload, err: true }, undefined);
}

/**
 * Cancels call `taskId` of one of `actors`: a queued one never runs; a running one is answered
 * TaskCancelledError at once and told to stop at its next await. `force` is refused (see
 * `ActorManager.cancelCall`). Nothing happens when no actor has the call.
 */
/**
 * Call `taskId` of an actor's record (local or remote: queued, or in flight), where it is (its queue
 * index, or -1 in flight) and the error its results get; undefined when it is not this actor's.
 * A forced cancel throws: a method stopped mid-way would leave the actor's state half-changed.
 */
export function callToCancel<C extends { spec: { taskId: string; name: string } }>(
  rec: { readonly queue: C[]; readonly inflight: Map<string, C> },
  taskId: string,
  force: boolean,
): { call: C; queued: number; error: TaskCancelledError } | undefined {
  const queued = rec.queue.findIndex((c) => c.spec.taskId === taskId);
  const call = queued >= 0 ? rec.queue[queued] : rec.inflight.get(taskId);
  if (call === undefined) return undefined;
  if (force) {
    throw new TypeError(
      `Cannot force-cancel actor call ${call.spec.name}: a method stopped mid-way would leave the actor's state half-changed; kill the actor instead`,
    );
  }
  const error = new TaskCancelledError(
    `Actor call ${call.spec.name} was cancelled: cancel() was called on it`,
  );
  return { call, queued, error };
}

export function cancelActorCall(
  ctx: NodeContext,
  actors: Iterable<ActorRecord>,
  taskId: string,
  force: boolean,
): void {
  for (const rec of actors) {
    const found = callToCancel(rec, taskId, force);
    if (found === undefined) continue;
    const { call, queued, error } = found;
    sealCall(ctx, call, ctx.errorPayload(error));
    if (queued >= 0) {
      rec.queue.splice(queued, 1);
      ctx.unpinArgs(call.spec.argRefs, call.spec.contained);
    } else {
      call.cancelled = true;
      rec.worker?.send({ t: "cancel", taskId });
    }
    return;
  }
}
