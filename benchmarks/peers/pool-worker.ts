/** The worker file of piscina and tinypool: the default export runs one task. */
import { runTask, type Task } from "./task.ts";

export default function run(task: Task): number {
  return runTask(task);
}
