/**
 * Objects: immutable values in the node's object store, named by ObjectRefs. A port of the ideas in
 * Ray's objects guide: put and get, refs passed to tasks at the top level (resolved) or nested
 * (passed as refs), wait with a timeout, large binary data shared without copying, and what free()
 * and a get timeout look like.
 *
 * Run it:   rayts examples/objects.ts
 */
import { free, GetTimeoutError, get, ObjectLostError, type ObjectRef, put, remote, wait } from "rayts";

// A top-level ref argument arrives as its value: this task sees a plain Float64Array.
const sum = remote((values: Float64Array) => values.reduce((a, b) => a + b, 0));

// Refs nested in an array arrive as refs: the task decides what (and whether) to fetch.
const sumOfFirst = remote(async (refs: ObjectRef<Float64Array>[], count: number) => {
  let total = 0;
  for (const values of await get(refs.slice(0, count))) total += values.reduce((a, b) => a + b, 0);
  return total;
});

const sleepy = remote(async (ms: number) => {
  await Bun.sleep(ms);
  return ms;
});

// ---- driver code: runs once, on the driver ----

// 1. put() stores a value and returns its ref synchronously; get() reads it back. Types survive:
//    Map, Set, Date, bigint, undefined and typed arrays arrive as themselves.
const config = put({ name: "run-7", tags: new Set(["a", "b"]), limit: 2n ** 64n, note: undefined });
const back = await get(config);
console.log("put/get:", back.name, [...back.tags], back.limit, "note" in back, back.note);

// 2. Large binary data (64 KiB or more) is written once into shared memory. A task on this node reads
//    it in place, and get() on the driver returns a read-only view of the same memory.
const million = new Float64Array(1_000_000).map((_, i) => i % 10);
const big = put(million);
console.log("sum in a task:", await get(sum.remote(big)));
const view = await get(big);
console.log("driver view:", view.constructor.name, view.length, view[9]);

// 3. Nested refs: only the first two arrays are fetched by the task.
const parts = [1, 2, 3].map((k) => put(new Float64Array(4).fill(k)));
console.log("nested refs:", await get(sumOfFirst.remote(parts, 2)));

// 4. wait() with a timeout returns what is ready by then and leaves the rest.
const quick = sleepy.remote(1);
const slow = sleepy.remote(2_000);
const { ready, notReady } = await wait([quick, slow], { numReturns: 2, timeoutMs: 500 });
console.log(`wait: ${ready.length} ready, ${notReady.length} not ready`);

// 5. get() with a timeout rejects with GetTimeoutError; the task keeps running.
try {
  await get(slow, { timeoutMs: 10 });
} catch (err) {
  if (!(err instanceof GetTimeoutError)) throw err;
  console.log(`get timeout: ${err.code}`);
}

// 6. free() drops an object ahead of garbage collection; reading it afterwards fails.
const scratch = put("temporary");
await free([scratch]);
try {
  await get(scratch);
} catch (err) {
  if (!(err instanceof ObjectLostError)) throw err;
  console.log(`after free: ${err.code}`);
}
