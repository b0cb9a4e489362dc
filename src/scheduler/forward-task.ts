/**
 * Running one task on another node [Ray's spillback lease, simplified]: once its arguments are ready
 * here, they are put on the other node under the same object ids, the spec is submitted there (its
 * return ids are the same object ids), and when the other node has the returns they are copied into
 * this node's store and sealed here, where the caller waits for them (a generator's items are relayed
 * as they come, see `forward-stream.ts`). The task arrives pinned to
 * the other node (hard affinity), so it runs there and is not placed again.
 *
 * Both nodes are on one machine, so shm payloads cross by memory copy through the other node's
 * segment attached in this process: an argument's block is copied into a block allocated in the
 * other node's segment (inline when that segment has no room), a result's block into this node's
 * store. Inline payloads travel in the control messages.
 *
 * When the other node's segment is not attached (another machine), or `RAYTS_OBJECT_TRANSFER=http`
 * is set in this process's environment (read once; tests use it to force the path on one machine),
 * objects move by ownership instead (`store/object-directory.ts`): the arguments are lent to the other
 * node (`borrowObjects` with their owner's address), which pulls each from a node holding a copy
 * (`GET /objects/:id`) when the task needs it; inline returns come back in the reply, while shm
 * returns stay on the node that ran the task, recorded by this node (their owner) as located there,
 * and are pulled here only when someone here needs them (or read where they are by later work placed
 * there, see `locality.ts`). The copy there is released with the object here.
 */
import { NodeDiedError, RaytsError } from "../errors.ts";
import type { ObjectValue, Payload, TaskSpec } from "../runtime/protocol.ts";
import { shipOptions } from "../shipping/ship-env.ts";
import type { ObjectDirectory } from "../store/object-directory.ts";
import { pullObject, pushObject } from "../transport/object-pull.ts";
import { PeerClosedError } from "../transport/transport-errors.ts";
import type { RemoteLink } from "./cluster-view.ts";
import { relayStream } from "./forward-stream.ts";
import type { NodeContext } from "./node-context.ts";
import type { TaskRecord } from "./task-record.ts";

/** True when shm payloads must cross by HTTP even between nodes of one machine. */
const FORCE_HTTP = process.env.RAYTS_OBJECT_TRANSFER === "http";

/** Whether shm payloads to and from `link` go over HTTP. */
export function overHttp(link: RemoteLink): boolean {
  return FORCE_HTTP || link.arena === undefined;
}

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
  const dir = ctx.objects;
  if (overHttp(link) && dir !== undefined) {
    await leaveThere(
      ctx,
      dir,
      link,
      rec.returnIds,
      values,
      (rec.state as string) !== "FINISHED" && !rec.cancelled,
    );
    hooks.finished(rec);
    return;
  }
  try {
    await bringBack(ctx, rec, link, values);
  } catch (err) {
    hooks.failed(rec, err instanceof Error ? err : new Error(String(err)));
    return;
  } finally {
    link.api.removeRefs(link.caller, rec.returnIds);
  }
  hooks.finished(rec);
}

/**
 * Lends objects to the node behind `link` by ownership: the node counts a reference for this node's
 * caller on each and pulls the values it needs from a node holding a copy. Objects owned here count
 * that node as a borrower at once.
 */
export function lendObjects(dir: ObjectDirectory, link: RemoteLink, ids: readonly string[]): void {
  const byOwner = new Map<string, string[]>();
  for (const id of ids) {
    const owner = dir.ownerOf(id);
    if (owner === dir.address) dir.lend(id, link.address);
    const list = byOwner.get(owner);
    if (list === undefined) byOwner.set(owner, [id]);
    else list.push(id);
  }
  for (const [owner, list] of byOwner) link.api.borrowObjects(link.caller, list, owner);
}

/**
 * The returns of work that ran on the node behind `link` (what its `getObjects` gave): inline ones
 * are sealed here; shm ones stay there, recorded as located there (this node's caller keeps its
 * reference on them there until the object is released here) and pulled here when needed. With
 * `live` false everything is released there.
 */
export async function leaveThere(
  ctx: NodeContext,
  dir: ObjectDirectory,
  link: RemoteLink,
  returnIds: readonly string[],
  values: readonly ObjectValue[],
  live: boolean,
): Promise<void> {
  const done: string[] = [];
  const nested: string[] = [];
  for (let i = 0; i < returnIds.length; i++) {
    const id = returnIds[i] as string;
    const v = values[i] as ObjectValue;
    const p = v.payload;
    if (p.t === 0) {
      if (live) sealHere(ctx, id, v, { t: 0, bytes: p.bytes.slice() }, nested);
      done.push(id);
      continue;
    }
    // The remote `get` pinned the block for this node's caller; its reference keeps it there.
    link.api.unpin(link.caller, id);
    if (!live) {
      done.push(id);
      continue;
    }
    // Its nested refs stay held there by the value, which stays there as long as it lives here.
    dir.leaveOn(id, link.address, { size: p.size, inline: false, err: v.err }, () => {
      if (!link.closed) link.api.removeRefs(link.caller, [id]);
    });
  }
  // The values there hold their nested refs until the owners answered this node's borrows.
  if (nested.length > 0) await dir.whenBorrowed(nested);
  if (done.length > 0) link.api.removeRefs(link.caller, done);
}

/**
 * Seals a value copied from another node here; its nested refs (when the node said which) are
 * borrowed from their owners, and their ids added to `nested`.
 */
function sealHere(ctx: NodeContext, id: string, v: ObjectValue, payload: Payload, nested: string[]): void {
  const contained = ctx.objects?.adoptNested(v);
  if (contained !== undefined) nested.push(...contained);
  ctx.store.seal(id, { payload, err: v.err }, contained);
}

/** Puts the arguments, submits the task and waits for its returns on the other node. */
async function runThere(ctx: NodeContext, rec: TaskRecord, link: RemoteLink): Promise<ObjectValue[]> {
  const spec = rec.spec;
  await link.syncEntryScripts(spec.fn.module);
  // Its runtime environment's working directory and local packages, shipped there.
  const opts = await shipOptions(link, spec.opts);
  if (link.closed) throw new PeerClosedError(`the link to node ${link.nodeId} closed`);
  // Refs nested in the arguments travel too: lent (the node borrows them from their owner), or
  // copied there once ready (refs nested deeper inside them do not).
  const argIds = [...new Set([...spec.argRefs.map(([, id]) => id), ...spec.contained])];
  const http = overHttp(link);
  const dir = ctx.objects;
  if (http && dir !== undefined) {
    lendObjects(dir, link, argIds);
  } else {
    if (spec.contained.length > 0) await whenReady(ctx, spec.contained);
    for (const id of argIds) {
      const v = ctx.store.peek(id);
      if (v === undefined) throw ctx.lostError(id);
      const payload = http ? await pushed(ctx, link, id, v.payload) : toRemote(ctx, link, v.payload);
      if (link.closed) throw new PeerClosedError(`the link to node ${link.nodeId} closed`);
      link.api.putObject(link.caller, id, payload, []);
    }
  }
  let args = spec.args;
  if (args.t === 1) {
    args = http ? await pushed(ctx, link, `args-${spec.taskId}`, args) : toRemote(ctx, link, args);
    if (link.closed) throw new PeerClosedError(`the link to node ${link.nodeId} closed`);
  }
  link.api.submitTask(link.caller, { ...spec, args, opts: pinnedTo(opts, link.nodeId) });
  // The submission pinned the arguments there; this node's hold on them is no longer needed.
  if (argIds.length > 0) link.api.removeRefs(link.caller, argIds);
  if (spec.fn.generator) {
    await relayStream(ctx, rec, link);
    return [];
  }
  return link.api.getObjects(link.caller, rec.returnIds, undefined);
}

/** Resolves once every object of `ids` is ready here (rejects with ObjectLostError for a lost one). */
function whenReady(ctx: NodeContext, ids: readonly string[]): Promise<void> {
  return Promise.all(
    ids.map((id) =>
      ctx.store.isReady(id) ? undefined : new Promise<void>((ok) => ctx.store.onReady(id, ok)),
    ),
  ).then(() => {});
}

/**
 * The options a forwarded task carries: its placement is decided, so it arrives with hard affinity
 * to the node it was sent to, which runs it there instead of placing it again (a `SPREAD` task would
 * otherwise move on). Placement-group scheduling is kept as it is.
 */
function pinnedTo(opts: TaskSpec["opts"], nodeId: string): TaskSpec["opts"] {
  if (typeof opts.scheduling === "object" && "placementGroup" in opts.scheduling) return opts;
  return { ...opts, scheduling: { nodeId, soft: false } };
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

/**
 * A local payload as the other node can store it, its shm bytes pushed over HTTP into a block there
 * (the local block stays referenced by the task while it streams).
 */
async function pushed(ctx: NodeContext, link: RemoteLink, id: string, p: Payload): Promise<Payload> {
  if (p.t === 0) return p;
  const local = ctx.store.arena;
  if (local === undefined) throw new RaytsError("A shm payload on a node without shared memory");
  const off = await pushObject(link.address, link.token, id, local.slice(p.off, p.size));
  return { t: 1, off, size: p.size };
}

/** Copies the returns into this node's store and seals them here. */
async function bringBack(
  ctx: NodeContext,
  rec: TaskRecord,
  link: RemoteLink,
  values: ObjectValue[],
): Promise<void> {
  const live = () => rec.state !== "FINISHED" && !rec.cancelled;
  if (overHttp(link)) await pullBack(ctx, link, rec.returnIds, values, live);
  else await copyBack(ctx, link, rec.returnIds, values, live());
}

/**
 * {@link copyBack} over HTTP: each shm return is pulled from the other node straight into a block of
 * this node's store, then sealed here while `live()` holds (freed otherwise).
 */
export async function pullBack(
  ctx: NodeContext,
  link: RemoteLink,
  returnIds: readonly string[],
  values: readonly ObjectValue[],
  live: () => boolean,
): Promise<void> {
  for (let i = 0; i < returnIds.length; i++) {
    const id = returnIds[i] as string;
    const v = values[i] as ObjectValue;
    const p = v.payload;
    if (p.t === 0) {
      if (live()) ctx.store.seal(id, { payload: { t: 0, bytes: p.bytes.slice() }, err: v.err }, undefined);
      continue;
    }
    try {
      if (!live()) continue;
      const off = await pullObject(ctx.store, link.address, link.token, id, p.size);
      if (live()) ctx.store.seal(id, { payload: { t: 1, off, size: p.size }, err: v.err }, undefined);
      else ctx.store.freeShm(off);
    } finally {
      // The remote `get` pinned the block for this node's caller.
      if (!link.closed) link.api.unpin(link.caller, id);
    }
  }
}

/**
 * Copies `values` (what the other node's `getObjects` gave for `returnIds`) into this node's store
 * and seals them here (unless `live` is false), releasing the other node's pins on their blocks.
 * Resolves once the owners of the refs nested in them answered this node's borrows (the caller
 * releases the values there after that).
 */
export function copyBack(
  ctx: NodeContext,
  link: RemoteLink,
  returnIds: readonly string[],
  values: readonly ObjectValue[],
  live: boolean,
): Promise<void> {
  const nested: string[] = [];
  for (let i = 0; i < returnIds.length; i++) {
    const id = returnIds[i] as string;
    const v = values[i] as ObjectValue;
    const p = v.payload;
    if (p.t === 0) {
      if (live) sealHere(ctx, id, v, { t: 0, bytes: p.bytes.slice() }, nested);
      continue;
    }
    try {
      if (!live) continue;
      if (link.arena === undefined) {
        throw new NodeDiedError(`Node ${link.nodeId} returned shared memory this node cannot attach`);
      }
      const off = ctx.store.allocShm(p.size);
      (ctx.store.arena as NonNullable<typeof ctx.store.arena>).copyInto(off, link.arena.slice(p.off, p.size));
      sealHere(ctx, id, v, { t: 1, off, size: p.size }, nested);
    } finally {
      // The remote `get` pinned the block for this node's caller.
      link.api.unpin(link.caller, id);
    }
  }
  const dir = ctx.objects;
  return dir === undefined || nested.length === 0 ? Promise.resolve() : dir.whenBorrowed(nested);
}
