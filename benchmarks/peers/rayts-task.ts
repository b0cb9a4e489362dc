/** The same work as rayts remote functions, in a module of their own so workers can import it. */
import { remote } from "rayts";
import { runTask, type Task } from "./task.ts";

/** Runs one task. */
export const rayTask = remote(function rayTask(task: Task): number {
  return runTask(task);
});

/** Reads an array passed as a top-level ref: the worker gets a view over the shared-memory store. */
export const rayRead = remote(function rayRead(array: Float64Array): number {
  return runTask({ kind: "read", array });
});
