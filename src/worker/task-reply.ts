/**
 * How a task's or actor call's outcome goes back to the node from the worker: return values encoded
 * (small ones inline in the columnar batch, large ones written into the shm store, with one retry
 * after the node frees memory when the store is full), and failures as a `TaskError` whose cause is
 * what was thrown and whose stack is the remote one. Plain functions the executor calls directly.
 */
import { ObjectStoreFullError, SerializationError, TaskError } from "../errors.ts";
import type { Core } from "../runtime/core.ts";
import { encodeValue } from "../runtime/payload.ts";
import type { Payload } from "../runtime/protocol.ts";
import { serialize } from "../serialize/codec.ts";
import type { WorkerLink } from "./worker-link.ts";

interface Encoded {
  payloads: Payload[];
  contained: string[][];
}

/**
 * Encodes the return value(s) and reports them; a bad return becomes the task's error. Returns a
 * promise only when it has to wait (the store was full and the node is asked to free memory).
 */
export function reply(
  core: Core,
  link: WorkerLink,
  taskId: string,
  name: string,
  numReturns: number,
  result: unknown,
): Promise<void> | undefined {
  let values: unknown[];
  if (numReturns === 1) values = [result];
  else if (Array.isArray(result) && result.length === numReturns) values = result;
  else {
    const got = Array.isArray(result) ? `an array of ${result.length}` : describe(result);
    fail(
      core,
      link,
      taskId,
      name,
      new TypeError(
        `${name} declared numReturns: ${numReturns} but returned ${got}; return an array of exactly ${numReturns} values`,
      ),
      true,
    );
    return;
  }
  let encoded: Encoded;
  try {
    encoded = encodeAll(core, values, numReturns);
  } catch (err) {
    if (!(err instanceof ObjectStoreFullError)) {
      fail(core, link, taskId, name, err, true);
      return;
    }
    return replyAfterReclaim(core, link, taskId, name, numReturns, values);
  }
  post(link, taskId, encoded);
}

/** The store was full: have the node free what nothing references any more, then try once more. */
async function replyAfterReclaim(
  core: Core,
  link: WorkerLink,
  taskId: string,
  name: string,
  numReturns: number,
  values: unknown[],
): Promise<void> {
  await link.reclaim();
  let encoded: Encoded;
  try {
    encoded = encodeAll(core, values, numReturns);
  } catch (again) {
    fail(core, link, taskId, name, again, true);
    return;
  }
  post(link, taskId, encoded);
}

/** Reports encoded return values: a single inline one in the columnar batch, others as `done`. */
function post(link: WorkerLink, taskId: string, encoded: Encoded): void {
  const only = encoded.payloads[0];
  if (encoded.payloads.length === 1 && only?.t === 0 && encoded.contained[0]?.length === 0) {
    link.postResult(taskId, only.bytes);
    return;
  }
  link.post({ t: "done", taskId, values: encoded.payloads, contained: encoded.contained });
}

function encodeAll(core: Core, values: unknown[], numReturns: number): Encoded {
  const payloads: Payload[] = [];
  const contained: string[][] = [];
  try {
    for (let i = 0; i < values.length; i++) {
      const e = encodeValue(
        values[i],
        numReturns === 1 ? "return value" : `return value[${i}]`,
        core.hooks,
        core.arena,
        core.alloc,
      );
      payloads.push(e.payload);
      contained.push(e.contained);
    }
  } catch (err) {
    for (const p of payloads) if (p.t === 1) core.arena?.free(p.off);
    throw err;
  }
  return { payloads, contained };
}

/** Reports a failure as a TaskError whose cause is what was thrown. */
export function fail(
  core: Core,
  link: WorkerLink,
  taskId: string,
  name: string,
  err: unknown,
  fatal: boolean,
): void {
  const where = `${name}() (pid=${process.pid}, node=${core.api.nodeId.slice(0, 8)})`;
  // A thrown non-Error (a string, an object) stays the cause as it was thrown, when it serializes.
  const isError = err instanceof Error;
  const cause: unknown = isError || serializable(err) ? err : String(err);
  const what = isError ? `${err.name}: ${err.message}` : `threw ${describe(err)}`;
  const error = new TaskError(`${where}: ${what}`, { cause });
  // The remote stack is the useful one: the runtime's own frames would only point into rayts.
  error.stack = `${error.name}: ${error.message}\n${isError ? remoteFrames(err) : ""}`;
  const runtime = fatal || err instanceof SerializationError || err instanceof ObjectStoreFullError;
  link.post({
    t: "done",
    taskId,
    values: [errorPayload(core, error)],
    contained: [],
    errorName: isError ? err.name : typeof err,
    fatal: runtime,
  });
}

/** An error encoded for the node; one that does not serialize travels as its text. */
export function errorPayload(core: Core, err: Error): Payload {
  try {
    return encodeValue(err, "error", core.hooks, undefined, () => -1).payload;
  } catch {
    // The error itself does not serialize (a function in a property): send its text.
    const plain = new TaskError(err.message);
    plain.stack = err.stack;
    return encodeValue(plain, "error", core.hooks, undefined, () => -1).payload;
  }
}

/** Whether a thrown value can travel as it is. */
function serializable(v: unknown): boolean {
  try {
    serialize(v, "thrown value");
    return true;
  } catch {
    return false;
  }
}

/** A value's kind for error messages (a string's start included). */
export function describe(v: unknown): string {
  if (v === null) return "null";
  if (v === undefined) return "undefined";
  if (typeof v === "string") return `a string: ${JSON.stringify(v.length > 200 ? `${v.slice(0, 200)}…` : v)}`;
  return typeof v === "object"
    ? `an object (${(v as object).constructor?.name ?? "Object"})`
    : `a ${typeof v}`;
}

/** The stack frames of an error, without its message line. */
function remoteFrames(err: Error): string {
  const stack = err.stack ?? "";
  const lines = stack.split("\n");
  const first = lines.findIndex((l) => /^\s+at /.test(l));
  return first < 0 ? "" : lines.slice(first).join("\n");
}
