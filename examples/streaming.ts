/**
 * Generator tasks stream their results, after Ray's generators guide. A remote generator function
 * returns an ObjectRefGenerator at once; each `yield` on the worker becomes an object whose ref the
 * caller receives while the task is still running, so the caller can start on the first item long
 * before the last one exists.
 *
 * Run it:   rayts examples/streaming.ts
 */
import { get, ObjectRefGenerator, remote } from "rayts";

// A sync generator: the caller gets one ref per yielded value.
const countdown = remote(function* (from: number) {
  for (let i = from; i > 0; i--) yield i;
});

// An async generator: yields as each chunk is ready (here, every 20 ms).
const readChunks = remote(async function* (text: string, size: number) {
  for (let at = 0; at < text.length; at += size) {
    await Bun.sleep(20);
    yield text.slice(at, at + size);
  }
});

// Items can feed other tasks as soon as they exist: each ref is a normal ObjectRef.
const shout = remote((chunk: string) => chunk.toUpperCase());

// ---- driver code: runs once, on the driver ----

const gen = countdown.remote(3);
console.log("is a generator:", gen instanceof ObjectRefGenerator);
for await (const ref of gen) console.log("countdown:", await get(ref));

// Hand every chunk to a task the moment it arrives, then collect the results in order.
const shouted = [];
for await (const chunk of readChunks.remote("streams of objects", 5)) shouted.push(shout.remote(chunk));
console.log("shouted:", (await get(shouted)).join(""));
