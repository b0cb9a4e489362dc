/**
 * A node's console and warning relay: a worker's output, and the node's warnings about some work, go
 * to the process that submitted that work (a connected driver, or a node that forwarded the task).
 */
import type { ActorManager } from "./runtime/actor-manager.ts";
import type { CallerId } from "./runtime/node-api.ts";
import type { TaskManager } from "./scheduler/task-manager.ts";

/**
 * Sends console output of task `taskId` to `caller` when that caller is a connection of another
 * process (a driver, or a node that forwarded the task); false when it is not.
 */
export type LogRelay = (
  caller: CallerId,
  taskId: string,
  text: string,
  err: boolean,
  actorId?: string,
) => boolean;

/** What the relay needs of its node. */
export interface LogRelayHost {
  readonly tasks: Pick<TaskManager, "callerOf">;
  readonly actors: Pick<ActorManager, "creatorOf">;
  readonly logRelay: LogRelay | undefined;
}

/** See {@link Node.relayLog}. */
export function relayLog(
  node: LogRelayHost,
  taskId: string,
  text: string,
  err: boolean,
  actorId?: string,
): void {
  // Up the chain of parent tasks to the first one submitted over a connection (Ray: the job's driver).
  let id: string | undefined = taskId;
  for (let hops = 0; id !== undefined && hops < 1000; hops++) {
    const at = node.tasks.callerOf(id);
    if (at === undefined) break;
    if (node.logRelay?.(at.caller, id, text, err) === true) return;
    id = at.parentTaskId;
  }
  // An actor's output (its calls are not tasks here) goes to its creator, then up its tasks.
  if (actorId === undefined) return;
  const creator = node.actors.creatorOf(actorId);
  if (creator === undefined) return;
  if (node.logRelay?.(creator.caller, taskId, text, err, actorId) === true) return;
  if (creator.parentTaskId !== undefined) relayLog(node, creator.parentTaskId, text, err);
}

/** Writes a warning to stderr; one about a task or actor also goes to its driver (see {@link relayLog}). */
export function warn(node: LogRelayHost, message: string, taskId?: string, actorId?: string): void {
  const line = `rayts: warning: ${message}\n`;
  process.stderr.write(line);
  // A connected driver sees its work's warnings as it sees its output.
  const about = taskId ?? actorId;
  if (about !== undefined && node.logRelay !== undefined) relayLog(node, about, line, true, actorId);
}
