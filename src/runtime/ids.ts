/**
 * Id generation. Ids are hex strings: a random per-thread prefix plus a counter, so every thread of
 * every process mints unique ids without coordination, and making one costs a string concat.
 *
 * - task id: 20 hex chars (10 prefix + 10 counter)
 * - object id: task id + 8 hex chars of return index (1-based); `put` objects use index 0
 * - actor id: 20 hex chars (same generator as tasks)
 */
const prefix = randomHex(10);
let counter = 0;

function randomHex(chars: number): string {
  const bytes = crypto.getRandomValues(new Uint8Array(Math.ceil(chars / 2)));
  let out = "";
  for (const b of bytes) out += b.toString(16).padStart(2, "0");
  return out.slice(0, chars);
}

/** Zero runs by length, so padding a counter makes no string of its own. */
const ZEROS = Array.from({ length: 11 }, (_, n) => "0".repeat(n));

/** The 8-char suffixes of the first return indices (made once: ids are minted on every submission). */
const INDEX_SUFFIXES = Array.from({ length: 64 }, (_, i) => i.toString(16).padStart(8, "0"));

/** A new task (or actor) id, unique across the cluster. */
export function newTaskId(): string {
  counter++;
  const hex = counter.toString(16);
  return prefix + (ZEROS[10 - hex.length] ?? "") + hex;
}

/**
 * The last id made, handed out again for the same task and index: the driver's runtime and its node
 * each name a task's return object on submission, and one string then serves both (its hash computed
 * once, the node's and the runtime's maps compare it by identity).
 */
let lastTask = "";
let lastIndex = -1;
let lastId = "";

/** The id of return value `index` (1-based) of a task; index 0 is a `put` object. */
export function objectIdFor(taskId: string, index: number): string {
  if (index === lastIndex && taskId === lastTask) return lastId;
  lastTask = taskId;
  lastIndex = index;
  lastId = taskId + (INDEX_SUFFIXES[index] ?? index.toString(16).padStart(8, "0"));
  return lastId;
}

/** A new id for a `put` object. */
export function newPutId(): string {
  return objectIdFor(newTaskId(), 0);
}

/** The task id that an object id derives from. */
export function taskIdOf(objectId: string): string {
  return objectId.slice(0, 20);
}

/** A random hex id of the given length (node ids, job ids, segment names). */
export function randomId(chars = 16): string {
  return randomHex(chars);
}
