/** The worker file of workerpool: registers the one method `run`. */
import workerpool from "workerpool";
import { runTask, type Task } from "./task.ts";

workerpool.worker({ run: (task: Task) => runTask(task) });
