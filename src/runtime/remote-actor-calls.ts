/**
 * Shipping one call of an actor on another node (see `remote-actors.ts`): its ref arguments put
 * there under the same ids, its returns brought back here (copied between segments of one machine,
 * else left there and pulled by ownership over HTTP), and sealing or releasing a call here.
 */
import type { RemoteLink } from "../scheduler/cluster-view.ts";
import { relayItems } from "../scheduler/forward-stream.ts";
import { copyBack, leaveThere, lendObjects, overHttp, toRemote } from "../scheduler/forward-task.ts";
import type { NodeContext } from "../scheduler/node-context.ts";
import { PeerClosedError } from "../transport/transport-errors.ts";
import type { Payload } from "./protocol.ts";
import type { RemoteActor, RemoteCall } from "./remote-actor-record.ts";

/**
 * Puts the ref arguments on the other node under the same ids (by ownership over HTTP, or copied
 * into its attached segment), and lends it the refs nested in the arguments; returns the ids the
 * link's caller now holds there.
 */
export function putArgs(
  ctx: NodeContext,
  link: RemoteLink,
  argRefs: ReadonlyArray<readonly [number, string]>,
  contained: readonly string[] = [],
): string[] {
  const ids = [...new Set(argRefs.map(([, id]) => id))];
  const dir = ctx.objects;
  if (dir !== undefined && (overHttp(link) || contained.length > 0)) {
    const lent = overHttp(link) ? [...new Set([...ids, ...contained])] : [...new Set(contained)];
    lendObjects(dir, link, lent);
    if (overHttp(link)) return lent;
    for (const id of ids) {
      const v = ctx.store.peek(id);
      if (v === undefined) throw ctx.lostError(id);
      link.api.putObject(link.caller, id, toRemote(ctx, link, v.payload), []);
    }
    return [...new Set([...ids, ...lent])];
  }
  for (const id of ids) {
    const v = ctx.store.peek(id);
    if (v === undefined) throw ctx.lostError(id);
    link.api.putObject(link.caller, id, toRemote(ctx, link, v.payload), []);
  }
  return ids;
}

/** Seals the call's returns here with `payload` (an error), once. */
export function sealCall(ctx: NodeContext, call: RemoteCall, payload: Payload): void {
  if (call.done) return;
  call.done = true;
  if (call.spec.streaming === true) {
    ctx.streams.fail(call.spec.taskId, payload);
    return;
  }
  for (const id of call.returnIds) ctx.store.seal(id, { payload, err: true }, undefined);
}

/** Releases the call's argument pins here, once. */
export function releaseCall(ctx: NodeContext, call: RemoteCall): void {
  if (call.released) return;
  call.released = true;
  ctx.unpinArgs(call.spec.argRefs, call.spec.contained);
}

/**
 * Waits for the call's returns on the other node and brings them here. `linkLost` is called when
 * the link closed before they came (the node's death decides: retry or fail).
 */
export async function awaitReturns(
  ctx: NodeContext,
  rec: RemoteActor,
  link: RemoteLink,
  call: RemoteCall,
  linkLost: (reason: string) => void,
): Promise<void> {
  const taskId = call.spec.taskId;
  try {
    if (call.spec.streaming === true) {
      // A generator method: its items are relayed as they come (a retry re-yields from the start;
      // items this node's stream has already are dropped).
      await relayItems(ctx, taskId, link, () => !call.done);
      if (link.closed) {
        linkLost("its connection closed");
        return;
      }
      if (rec.inflight.get(taskId) === call) rec.inflight.delete(taskId);
      call.done = true;
      releaseCall(ctx, call);
      return;
    }
    const values = await link.api.getObjects(link.caller, call.returnIds, undefined);
    if (link.closed) {
      // Answered there but not brought here: the node's death decides (retry or fail).
      linkLost("its connection closed");
      return;
    }
    if (rec.inflight.get(taskId) === call) rec.inflight.delete(taskId);
    const dir = ctx.objects;
    if (overHttp(link) && dir !== undefined) {
      // Sealed here synchronously; the promise waits for the borrows of nested refs.
      const left = leaveThere(ctx, dir, link, call.returnIds, values, !call.done);
      call.done = true;
      await left;
      releaseCall(ctx, call);
      return;
    }
    try {
      const borrowed = copyBack(ctx, link, call.returnIds, values, !call.done);
      call.done = true;
      await borrowed;
    } finally {
      link.api.removeRefs(link.caller, call.returnIds);
      releaseCall(ctx, call);
    }
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    if (link.closed || err instanceof PeerClosedError) {
      linkLost(reason);
      return;
    }
    if (rec.inflight.get(taskId) === call) rec.inflight.delete(taskId);
    sealCall(ctx, call, ctx.errorPayload(err instanceof Error ? err : new Error(reason)));
    releaseCall(ctx, call);
  }
}
