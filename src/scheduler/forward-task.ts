/**
 * Running one task on another node [Ray's spillback lease, simplified]: once its arguments are ready
 * here, they are put on the other node under the same object ids, the spec is submitted there (its
 * return ids are the same object ids), and when the other node has the returns they are copied into
 * this node's store and sealed here, where the caller waits for them.
 *
 * Both nodes are on one machine, so shm payloads cross by memory copy through the other node's
 * segment attached in this process: an argument's block is copied into a block allocated in the
 * other node's segment (inline when that segment has no room), a result's block into this node's
 * store. Inline payloads travel in the control messages.
 */
import { NodeDiedError, RaytsError } from "../errors.ts";
import type { ObjectValue, Payload } from "../runtime/protocol.ts";
import { PeerClosedError } from "../transport/transport-errors.ts";
import type { RemoteLink } from "./cluster-view.ts";
import type { NodeContext } from "./node-context.ts";
import type { TaskRecord } from "./task-record.ts";

/** How the task manager hears back about a forwarded task. */
export interface ForwardHooks {
  /** The returns are sealed here (values or errors). */
  finished(rec: TaskRecord): void;
  /** The node could not be reached or died before the returns came back. */
  nodeLost(rec: TaskRecord, nodeId: string, reason: string): void;
  /** Forwarding failed for another reason (a full store here): the task fails with `err`. */
  failed(rec: TaskRecord, err: Error): void;
}

/** Forwards `rec` (its arguments ready here) to `nodeId`; reports through `hooks`, never throws. */
export async function forwardTask(
  ctx: NodeContext,
  rec: TaskRecord,
  nodeId: string,
  hooks: ForwardHooks,
): Promise<void> {
  const cluster = ctx.cluster;
  if (cluster === undefined) {
    hooks.nodeLost(rec, nodeId, "this node has no view of the cluster");
    return;
  }
  let link: RemoteLink;
  try {
    link = await cluster.link(nodeId);
  } catch (err) {
    hooks.nodeLost(rec, nodeId, err instanceof Error ? err.message : String(err));
    return;
  }
  if (rec.state === "FINISHED") return;
  if (link.closed) {
    hooks.nodeLost(rec, nodeId, "its connection closed");
    return;
  }
  let values: ObjectValue[];
  try {
    values = await runThere(ctx, rec, link);
  } catch (err) {
    if (link.closed || err instanceof PeerClosedError) {
      hooks.nodeLost(rec, nodeId, err instanceof Error ? err.message : String(err));
    } else hooks.failed(rec, err instanceof Error ? err : new Error(String(err)));
    return;
  }
  if (link.closed) {
    hooks.nodeLost(rec, nodeId, "its connection closed before the results were copied");
    return;
  }
  try {
    bringBack(ctx, rec, link, values);
  } catch (err) {
    hooks.failed(rec, err instanceof Error ? err : new Error(String(err)));
    return;
  } finally {
    link.api.removeRefs(link.caller, rec.returnIds);
  }
  hooks.finished(rec);
}

/** Puts the arguments, submits the task and waits for its returns on the other node. */
function runThere(ctx: NodeContext, rec: TaskRecord, link: RemoteLink): Promise<ObjectValue[]> {
  const spec = rec.spec;
  link.syncEntryScripts();
  const argIds = [...new Set(spec.argRefs.map(([, id]) => id))];
  for (const id of argIds) {
    const v = ctx.store.peek(id);
    if (v === undefined) throw ctx.lostError(id);
    // Refs nested inside an argument's value are not carried (tasks with nested refs stay local).
    link.api.putObject(link.caller, id, toRemote(ctx, link, v.payload), []);
  }
  const args = spec.args.t === 1 ? toRemote(ctx, link, spec.args) : spec.args;
  link.api.submitTask(link.caller, args === spec.args ? spec : { ...spec, args });
  // The submission pinned the arguments there; this node's hold on them is no longer needed.
  if (argIds.length > 0) link.api.removeRefs(link.caller, argIds);
  return link.api.getObjects(link.caller, rec.returnIds, undefined);
}

/** A local payload as the other node can store it. */
export function toRemote(ctx: NodeContext, link: RemoteLink, p: Payload): Payload {
  if (p.t === 0) return p;
  const local = ctx.store.arena;
  if (local === undefined) throw new RaytsError("A shm payload on a node without shared memory");
  const bytes = local.slice(p.off, p.size);
  const off = link.arena === undefined ? -1 : link.arena.alloc(p.size);
  if (off < 0) return { t: 0, bytes: new Uint8Array(bytes) };
  (link.arena as NonNullable<typeof link.arena>).copyInto(off, bytes);
  return { t: 1, off, size: p.size };
}

/** Copies the returns into this node's store and seals them here. */
function bringBack(ctx: NodeContext, rec: TaskRecord, link: RemoteLink, values: ObjectValue[]): void {
  copyBack(ctx, link, rec.returnIds, values, rec.state !== "FINISHED" && !rec.cancelled);
}

/**
 * Copies `values` (what the other node's `getObjects` gave for `returnIds`) into this node's store
 * and seals them here (unless `live` is false), releasing the other node's pins on their blocks.
 */
export function copyBack(
  ctx: NodeContext,
  link: RemoteLink,
  returnIds: readonly string[],
  values: readonly ObjectValue[],
  live: boolean,
): void {
  for (let i = 0; i < returnIds.length; i++) {
    const id = returnIds[i] as string;
    const v = values[i] as ObjectValue;
    const p = v.payload;
    if (p.t === 0) {
      if (live) ctx.store.seal(id, { payload: { t: 0, bytes: p.bytes.slice() }, err: v.err }, undefined);
      continue;
    }
    try {
      if (!live) continue;
      if (link.arena === undefined) {
        throw new NodeDiedError(`Node ${link.nodeId} returned shared memory this node cannot attach`);
      }
      const off = ctx.store.allocShm(p.size);
      (ctx.store.arena as NonNullable<typeof ctx.store.arena>).copyInto(off, link.arena.slice(p.off, p.size));
      ctx.store.seal(id, { payload: { t: 1, off, size: p.size }, err: v.err }, undefined);
    } finally {
      // The remote `get` pinned the block for this node's caller.
      link.api.unpin(link.caller, id);
    }
  }
}
