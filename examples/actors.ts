/**
 * Actors: classes whose instances live on a worker of their own and keep state between calls. A port
 * of the ideas in Ray's actor walkthrough: a counter, calls that run in the order they were sent,
 * handles passed to tasks, a named actor looked up elsewhere, and what happens after kill().
 *
 * Run it:   rayts examples/actors.ts
 */
import { ActorDiedError, type ActorHandle, get, getActor, kill, remote } from "rayts";

/** An ordinary class. Nothing about it knows it will run remotely. */
class Counter {
  #value: number;

  constructor(start = 0) {
    this.#value = start;
  }

  increment(by = 1): number {
    this.#value += by;
    return this.#value;
  }

  value(): number {
    return this.#value;
  }
}

/** A message board: async methods are fine, and with maxConcurrency 1 they still run one at a time. */
class Board {
  readonly #messages: string[] = [];

  async post(from: string, text: string): Promise<number> {
    await Bun.sleep(1);
    this.#messages.push(`${from}: ${text}`);
    return this.#messages.length;
  }

  read(): string[] {
    return [...this.#messages];
  }
}

const CounterActor = remote(Counter);
const BoardActor = remote(Board);

// Actor handles are ordinary values: tasks receive them as arguments and call the actor themselves.
// The task waits for its calls, so once the task is done its clicks are counted.
const clickTimes = remote(async (counter: ActorHandle<Counter>, times: number) => {
  const clicks = Array.from({ length: times }, () => counter.increment.remote());
  await get(clicks);
  return times;
});

// ---- driver code: runs once, on the driver ----

// 1. Create an actor (returns a handle at once) and call it. Calls from one caller run in order,
//    so the five increments are seen as 11, 12, 13, 14, 15.
const counter = CounterActor.remote(10);
const seen = await get([1, 2, 3, 4, 5].map(() => counter.increment.remote()));
console.log("increments:", seen);

// 2. Typed calls: increment takes `by?: number` and returns ObjectRef<number>.
console.log("after +100:", await get(counter.increment.remote(100)));

// 3. Several tasks share one actor through its handle.
const clicks = await get([clickTimes.remote(counter, 3), clickTimes.remote(counter, 4)]);
console.log(
  `after ${clicks.reduce((a, b) => a + b)} clicks from two tasks:`,
  await get(counter.value.remote()),
);

// 4. Named actors: register a name, look it up from anywhere in the job.
const board = BoardActor.options({ name: "board" }).remote();
await get(board.post.remote("driver", "hello"));
const again = await getActor<Board>("board");
await get(again.post.remote("driver", "world"));
console.log("board:", await get(board.read.remote()));

// 5. kill() ends an actor at once; later calls fail with ActorDiedError.
await kill(counter);
try {
  await get(counter.value.remote());
} catch (err) {
  if (!(err instanceof ActorDiedError)) throw err;
  console.log(`after kill: ${err.code}`);
}
