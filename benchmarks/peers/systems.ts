/**
 * Each system behind one small interface: submit a task and get a promise of its result, read an
 * array with k concurrent tasks, close. Every pool runs exactly `threads` workers.
 */
import { join } from "node:path";
import { Piscina } from "piscina";
import { get, init, put, shutdown } from "rayts";
import Tinypool from "tinypool";
import workerpool from "workerpool";
import { rayRead, rayTask } from "./rayts-task.ts";
import type { Task } from "./task.ts";

/** How a reader task gets the array: structured-clone copy, a transferred copy, or a shared ref. */
export type ReadMode = "copy" | "transfer" | "ref";

/** One system under test. */
export interface System {
  readonly name: string;
  readonly readModes: readonly ReadMode[];
  run(task: Task): Promise<unknown>;
  /** Runs `readers` tasks that each read `array`, passed per `mode`; resolves when all are done. */
  read(array: Float64Array, readers: number, mode: ReadMode): Promise<unknown>;
  close(): Promise<void>;
}

const POOL_WORKER = join(import.meta.dir, "pool-worker.ts");
const WORKERPOOL_WORKER = join(import.meta.dir, "workerpool-worker.ts");

/**
 * The transfer list of one array. The pools type it from Node's MessagePort, which Bun's typings
 * declare differently, so the list is cast.
 */
function transfer(array: Float64Array): never {
  return [array.buffer] as never;
}

function readers<T>(n: number, one: () => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: n }, one));
}

/** piscina with `threads` workers. */
export function piscina(threads: number): System {
  const pool = new Piscina({ filename: POOL_WORKER, minThreads: threads, maxThreads: threads });
  return {
    name: "piscina",
    readModes: ["copy", "transfer"],
    run: (task) => pool.run(task),
    read: (array, n, mode) =>
      readers(n, () => {
        if (mode === "copy") return pool.run({ kind: "read", array });
        const own = array.slice();
        return pool.run({ kind: "read", array: own }, { transferList: transfer(own) });
      }),
    close: () => pool.destroy(),
  };
}

/** tinypool with `threads` workers. */
export function tinypool(threads: number): System {
  const pool = new Tinypool({ filename: POOL_WORKER, minThreads: threads, maxThreads: threads });
  return {
    name: "tinypool",
    readModes: ["copy", "transfer"],
    run: (task) => pool.run(task),
    read: (array, n, mode) =>
      readers(n, () => {
        if (mode === "copy") return pool.run({ kind: "read", array });
        const own = array.slice();
        return pool.run({ kind: "read", array: own }, { transferList: transfer(own) });
      }),
    close: () => pool.destroy(),
  };
}

/** workerpool (Bun Web Workers) with `threads` workers. */
export function workerPool(threads: number): System {
  const pool = workerpool.pool(WORKERPOOL_WORKER, {
    minWorkers: threads,
    maxWorkers: threads,
    // Bun's worker_threads workers also expose the Web Worker globals, so workerpool's worker side picks
    // its browser code path and never answers a "thread" pool; as "web" workers both sides agree.
    workerType: "web",
  });
  return {
    name: "workerpool",
    readModes: ["copy", "transfer"],
    run: (task) => Promise.resolve(pool.exec("run", [task])),
    read: (array, n, mode) =>
      readers(n, () => {
        if (mode === "copy") return Promise.resolve(pool.exec("run", [{ kind: "read", array }]));
        const own = array.slice();
        return Promise.resolve(pool.exec("run", [{ kind: "read", array: own }], { transfer: [own.buffer] }));
      }),
    close: async () => {
      await pool.terminate(true);
    },
  };
}

/** rayts on an embedded cluster of `threads` CPUs; readers share one `put` of the array. */
export async function rayts(threads: number): Promise<System> {
  await init({ numCpus: threads });
  return {
    name: "rayts",
    readModes: ["ref"],
    run: (task) => get(rayTask.remote(task)),
    read: async (array, n) => {
      using ref = put(array);
      return await get(Array.from({ length: n }, () => rayRead.remote(ref)));
    },
    close: () => shutdown(),
  };
}
