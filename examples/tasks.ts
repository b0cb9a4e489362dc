/**
 * Tasks: functions that run in parallel on the cluster's workers. A port of the ideas in Ray's task
 * walkthrough: launch many small tasks, pass one task's result to another without fetching it, split
 * a return value in several refs, and let a task start tasks of its own.
 *
 * Run it:   rayts examples/tasks.ts
 */
import { get, remote, TaskError, wait } from "rayts";

// remote() wraps an ordinary function; its parameter and return types carry over to .remote().
const square = remote((x: number) => x * x);

// Async functions work too: the task's result is what the promise resolves to.
const slowAdd = remote(async (a: number, b: number) => {
  await Bun.sleep(10 * b);
  return a + b;
});

// A task can return several values as separate objects: with numReturns: 2 the function returns a
// two-element array and .remote() gives one ref per element, so callers fetch only what they need.
const minMax = remote((xs: number[]) => [Math.min(...xs), Math.max(...xs)] as [number, number]).options({
  numReturns: 2,
});

// Tasks may submit tasks. A task waiting in get() hands its CPU back, so deep recursion cannot
// starve the node of workers.
async function fibonacci(n: number): Promise<number> {
  if (n < 2) return n;
  // Submit both halves before waiting for either, so they run in parallel.
  const left = fib.remote(n - 1);
  const right = fib.remote(n - 2);
  return (await get(left)) + (await get(right));
}
const fib = remote(fibonacci);

// An error thrown in a task comes back from get() as a TaskError whose cause is the original error.
const parsePort = remote((text: string) => {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new RangeError(`Not a port: ${text}`);
  return port;
});

// ---- driver code: runs once, on the driver ----

// 1. Fan out: four tasks start at once; .remote() returns an ObjectRef<number> immediately.
const squares = [0, 1, 2, 3].map((i) => square.remote(i));
console.log("squares:", await get(squares));

// 2. Chain without fetching: a ref passed as an argument is replaced by its value before the task
//    runs, and the task waits for it. The driver never touches the intermediate numbers.
const four = square.remote(2);
const sixteen = square.remote(four);
console.log("square(square(2)):", await get(sixteen));

// 3. Several returns: each element is its own object.
const [low, high] = minMax.remote([7, 3, 9, 1]);
console.log("min:", await get(low), "max:", await get(high));

// 4. Process results as they finish: wait() splits refs into ready and not-ready ones.
let pending = [3, 1, 2].map((b) => slowAdd.remote(100, b));
let total = 0;
while (pending.length > 0) {
  const { ready, notReady } = await wait(pending, { numReturns: 1 });
  for (const ref of ready) total += await get(ref);
  pending = notReady;
}
console.log("sum of slowAdd results:", total);

// 5. Nested tasks.
console.log("fib(10):", await get(fib.remote(10)));

// 6. Errors.
try {
  await get(parsePort.remote("http"));
} catch (err) {
  if (!(err instanceof TaskError)) throw err;
  const cause = err.cause as Error;
  console.log(`task failed: ${err.code}, cause ${cause.name}: ${cause.message}`);
}
