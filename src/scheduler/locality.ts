/**
 * Locality [Ray's locality-aware leasing]: a task goes where most of its argument bytes already are.
 * The object directory (`store/object-directory.ts`) knows which nodes hold copies of the objects
 * this node owns; the node holding the most bytes of a task's ref arguments wins, if it is another
 * alive node that can fit the task (it queues there when busy, as it would here). Only work whose arguments live on other nodes
 * (returns left where they were made, over HTTP) is ever moved by it.
 */
import type { NodeView } from "./cluster-view.ts";
import type { NodeContext } from "./node-context.ts";
import { ResourceSet } from "./resource-set.ts";
import type { TaskRecord } from "./task-record.ts";

/** The id of the other node holding the most argument bytes of `rec`, or undefined (here is as good). */
export function nodeWithArgs(
  ctx: NodeContext,
  rec: TaskRecord,
  others: readonly NodeView[],
): string | undefined {
  const dir = ctx.objects;
  const refs = rec.spec.argRefs;
  if (dir === undefined || refs.length === 0 || others.length === 0) return undefined;
  const bytes = new Map<string, number>();
  const seen = new Set<string>();
  for (const [, id] of refs) {
    if (seen.has(id)) continue;
    seen.add(id);
    const size = dir.sizeOf(id);
    for (const address of dir.locations(id)) bytes.set(address, (bytes.get(address) ?? 0) + size);
  }
  const here = bytes.get(dir.address) ?? 0;
  let best: NodeView | undefined;
  let bestBytes = here;
  for (const n of others) {
    const b = bytes.get(n.address) ?? 0;
    if (b <= bestBytes || !ResourceSet.of(n.total).covers(rec.demand)) continue;
    best = n;
    bestBytes = b;
  }
  return best?.nodeId;
}
