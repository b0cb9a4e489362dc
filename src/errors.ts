/**
 * The error hierarchy of rayts. Every error the runtime raises is a {@link RaytsError} with a stable
 * `code`, so callers can branch on `err.code` or `instanceof` even after the error crossed a worker
 * or a node (errors travel as `{ code, name, message, stack, cause }` and are rebuilt here).
 */
export class RaytsError extends Error {
  /** Stable machine-readable code, e.g. `ERR_TASK`. */
  readonly code: string = "ERR_RAYTS";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The task threw. `cause` is the original error with its remote `name`, `message` and `stack`. */
export class TaskError extends RaytsError {
  override readonly code: string = "ERR_TASK";
}

/** `get` did not see the value within `timeoutMs`. */
export class GetTimeoutError extends RaytsError {
  override readonly code: string = "ERR_GET_TIMEOUT";
}

/** The actor is dead: killed, crashed past `maxRestarts`, its constructor threw, or its node died. */
export class ActorDiedError extends RaytsError {
  override readonly code: string = "ERR_ACTOR_DIED";
}

/** The task was cancelled with `cancel()`. */
export class TaskCancelledError extends RaytsError {
  override readonly code: string = "ERR_TASK_CANCELLED";
}

/** The worker running the task died and the task's retries are used up. */
export class WorkerCrashedError extends RaytsError {
  override readonly code: string = "ERR_WORKER_CRASHED";
}

/** Every copy of the object is gone and it cannot be rebuilt. */
export class ObjectLostError extends RaytsError {
  override readonly code: string = "ERR_OBJECT_LOST";
}

/** The object store has no room for the object, even after evicting unreferenced objects. */
export class ObjectStoreFullError extends RaytsError {
  override readonly code: string = "ERR_OBJECT_STORE_FULL";
}

/** A task's hard constraints can never be met by any node. */
export class TaskUnschedulableError extends RaytsError {
  override readonly code: string = "ERR_UNSCHEDULABLE";
}

/** An actor's hard constraints can never be met by any node. */
export class ActorUnschedulableError extends RaytsError {
  override readonly code: string = "ERR_UNSCHEDULABLE";
}

/** The task's or actor's runtime environment could not be built. */
export class RuntimeEnvSetupError extends RaytsError {
  override readonly code: string = "ERR_RUNTIME_ENV";
}

/** A value cannot cross the wire; the message names its path, e.g. `args[1].cb`. */
export class SerializationError extends RaytsError {
  override readonly code: string = "ERR_SERIALIZATION";
}

/** The node running the work died and retries are used up. */
export class NodeDiedError extends RaytsError {
  override readonly code: string = "ERR_NODE_DIED";
}

type RaytsErrorClass = new (message: string, options?: { cause?: unknown }) => RaytsError;

const byName: Record<string, RaytsErrorClass> = {
  RaytsError,
  TaskError,
  GetTimeoutError,
  ActorDiedError,
  TaskCancelledError,
  WorkerCrashedError,
  ObjectLostError,
  ObjectStoreFullError,
  TaskUnschedulableError,
  ActorUnschedulableError,
  RuntimeEnvSetupError,
  SerializationError,
  NodeDiedError,
};

/** The rayts error class with this name, if there is one (used to rebuild errors after transport). */
export function raytsErrorClass(name: string): RaytsErrorClass | undefined {
  return Object.hasOwn(byName, name) ? byName[name] : undefined;
}
