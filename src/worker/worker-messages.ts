/**
 * What a node does with its workers' messages: results (plain and columnar), stream items, tasks
 * handed back, actor life-cycle events, garbage-collection answers, and NodeApi casts and requests.
 * A message that fails on the node becomes that caller's error, never a crash of the node.
 */
import type { Node } from "../node.ts";
import { callNodeApi, castNodeApi } from "../runtime/node-api-dispatch.ts";
import type { Payload, TaskResult } from "../runtime/protocol.ts";
import { type Columns, forEachItem } from "./task-block.ts";
import type { FromWorker, WorkerProc } from "./worker-proc.ts";

/** Handles one batch of messages from worker `w`. */
export function handleWorkerBatch(node: Node, w: WorkerProc, batch: FromWorker[]): void {
  for (const m of batch) {
    try {
      onMessage(node, w, m);
    } catch (err) {
      if (m.t === "cast") node.castFailed(`worker ${w.id}`, m.m as string, m.a as unknown[], err);
      else
        node.warn(
          `A request from worker ${w.id} failed: ${err instanceof Error ? err.message : String(err)}`,
        );
    }
  }
}

function onMessage(node: Node, w: WorkerProc, m: FromWorker): void {
  switch (m.t) {
    case "done":
      if (w.state === "ACTOR") node.actors.onCallResult(w, m as unknown as TaskResult);
      else node.tasks.onResult(w, m as unknown as TaskResult);
      return;
    case "results":
      if (w.state === "ACTOR") {
        forEachItem(m.cols as Columns, (taskId, _tag, bytes) =>
          node.actors.onCallResult(w, { taskId, values: [{ t: 0, bytes }], contained: [[]] }),
        );
      } else
        forEachItem(m.cols as Columns, (taskId, _tag, bytes) => node.tasks.onInlineResult(w, taskId, bytes));
      return;
    case "item":
      node.streams.push(
        m.taskId as string,
        m.index as number,
        m.payload as Payload,
        m.err === true,
        m.contained as string[] | undefined,
      );
      return;
    case "log":
      node.relayLog(
        String(m.taskId),
        String(m.text),
        m.err === true,
        typeof m.actorId === "string" ? m.actorId : undefined,
      );
      return;
    case "returned":
      node.tasks.onReturned(w, m.taskIds as string[]);
      return;
    case "gcDone":
      node.gcAck(w, m.id as number);
      return;
    case "actorReady":
      node.actors.onReady(m.actorId as string);
      return;
    case "actorFailed":
      node.actors.onCtorFailed(m.actorId as string, m.error as Payload);
      return;
    case "cast":
      castNodeApi(node, w.id, m.m as string, m.a as unknown[]);
      return;
    case "rpc":
      reply(node, w, m.id as number, m.m as string, m.a as unknown[]);
      return;
    case "ready":
      // Booted (the pool's boot gate listens for it itself).
      return;
    default:
      throw new Error(`Unknown message from worker ${w.id}: ${String(m.t)}`);
  }
}

/** Runs a worker's request and sends back its value or its error. */
function reply(node: Node, w: WorkerProc, id: number, method: string, a: unknown[]): void {
  const p = method === "reclaim" ? node.reclaimForWorker() : callNodeApi(node, w.id, method, a);
  p.then(
    (v) => w.send({ t: "reply", id, ok: true, v }),
    (e: unknown) =>
      w.send({
        t: "reply",
        id,
        ok: false,
        e: node.errorPayload(e instanceof Error ? e : new Error(String(e))),
      }),
  );
}
