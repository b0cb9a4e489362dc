/**
 * The items of a generator task running on another node, relayed as they come [Ray's streaming
 * generator returns, from a remote worker]: this node reads the other node's stream under its link's
 * caller id (`streamNext`, then `getObjects` for each item), copies each item into its own store and
 * pushes it onto its own stream for the task, where the consumer reads it. Asking for item `i + 1`
 * there releases item `i` there; the stream there is dropped at the end. A failed generator's last
 * item is its error, relayed like any other item.
 */
import { NodeDiedError, RaytsError } from "../errors.ts";
import type { ObjectValue, Payload } from "../runtime/protocol.ts";
import { pullObject } from "../transport/object-pull.ts";
import { PeerClosedError } from "../transport/transport-errors.ts";
import type { RemoteLink } from "./cluster-view.ts";
import { overHttp } from "./forward-task.ts";
import type { NodeContext } from "./node-context.ts";
import type { TaskRecord } from "./task-record.ts";

/** Relays every item of `rec`'s stream on `link`'s node into this node's stream; closes it at the end. */
export function relayStream(ctx: NodeContext, rec: TaskRecord, link: RemoteLink): Promise<void> {
  return relayItems(ctx, rec.spec.taskId, link, () => rec.state !== "FINISHED" && !rec.cancelled);
}

/**
 * Relays the items of stream `taskId` on `link`'s node into this node's stream of the same id while
 * `live()` holds (a generator task, or a generator method of an actor on that node); closes it at the
 * end.
 */
export async function relayItems(
  ctx: NodeContext,
  taskId: string,
  link: RemoteLink,
  live: () => boolean,
): Promise<void> {
  try {
    for (let i = 0; live(); i++) {
      const step = await link.api.streamNext(link.caller, taskId, i);
      if (!("id" in step)) break;
      const [value] = await link.api.getObjects(link.caller, [step.id], undefined);
      if (link.closed) throw new PeerClosedError(`the link to node ${link.nodeId} closed`);
      const payload = await localCopy(ctx, link, step.id, value as ObjectValue);
      // A retried generator re-yields from the start: items the stream has already are dropped.
      // Refs nested in the item are borrowed from their owners (see `store/object-directory.ts`).
      let nested = live() ? ctx.objects?.adoptNested(value as ObjectValue) : undefined;
      if (!live() || !ctx.streams.push(taskId, i + 1, payload, (value as ObjectValue).err, nested)) {
        ctx.dropPayload(payload);
        // Registered for nothing: drop what nobody here references.
        for (const id of nested ?? []) if (!ctx.store.isReferenced(id)) ctx.store.free(id);
        nested = undefined;
      }
      // Asking for the next item releases this one there: not before the owners counted this node.
      if (nested !== undefined) await ctx.objects?.whenBorrowed(nested);
    }
  } finally {
    if (!link.closed) link.api.dropStream(link.caller, taskId);
  }
  if (live()) ctx.streams.close(taskId);
}

/** `value` (object `id` on `link`'s node, pinned there for this node) as a payload of this node's store. */
async function localCopy(
  ctx: NodeContext,
  link: RemoteLink,
  id: string,
  value: ObjectValue,
): Promise<Payload> {
  const p = value.payload;
  if (p.t === 0) return { t: 0, bytes: p.bytes.slice() };
  try {
    if (overHttp(link)) {
      return { t: 1, off: await pullObject(ctx.store, link.address, link.token, id, p.size), size: p.size };
    }
    if (link.arena === undefined) {
      throw new NodeDiedError(`Node ${link.nodeId} returned shared memory this node cannot attach`);
    }
    const arena = ctx.store.arena;
    if (arena === undefined) throw new RaytsError("A shm payload on a node without shared memory");
    const off = ctx.store.allocShm(p.size);
    arena.copyInto(off, link.arena.slice(p.off, p.size));
    return { t: 1, off, size: p.size };
  } finally {
    if (!link.closed) link.api.unpin(link.caller, id);
  }
}
