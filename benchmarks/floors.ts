/**
 * The floors every figure is compared with, measured in the same run as the figures: a raw Bun Worker
 * postMessage round trip, memcpy bandwidth (`Uint8Array.prototype.set`) and raw loopback TCP between
 * two Bun processes.
 */
import { join } from "node:path";

const WORKERS = join(import.meta.dir, "workers");

/**
 * Sequential round trips of a small message to a Bun Worker and back, per second: the best of 3 trials
 * of `durationMs`, each with a fresh Worker (on 2 cores the rate is bimodal, about 5× apart, depending
 * on how the two threads land on the cores; the best trial is the floor).
 */
export async function postMessageRoundTrips(durationMs = 1_000): Promise<number> {
  let best = 0;
  for (let trial = 0; trial < 3; trial++) best = Math.max(best, await roundTripTrial(durationMs));
  return best;
}

/**
 * CPU time (user + system, all threads of this process) per raw round trip in µs, over `durationMs`
 * of sequential round trips: unlike the rate, it barely moves when other processes load the machine.
 */
export async function postMessageRoundTripCpuMicros(durationMs = 1_000): Promise<number> {
  const worker = new Worker(join(WORKERS, "echo-worker.ts"));
  try {
    let resolve: () => void = () => {};
    worker.onmessage = () => resolve();
    const once = () =>
      new Promise<void>((r) => {
        resolve = r;
        worker.postMessage(0);
      });
    for (let i = 0; i < 1_000; i++) await once();
    let n = 0;
    const cpu = process.cpuUsage();
    const start = performance.now();
    while (performance.now() - start < durationMs) {
      for (let i = 0; i < 100; i++) await once();
      n += 100;
    }
    const used = process.cpuUsage(cpu);
    return (used.user + used.system) / n;
  } finally {
    worker.terminate();
  }
}

async function roundTripTrial(durationMs: number): Promise<number> {
  const worker = new Worker(join(WORKERS, "echo-worker.ts"));
  try {
    let resolve: () => void = () => {};
    worker.onmessage = () => resolve();
    const once = () =>
      new Promise<void>((r) => {
        resolve = r;
        worker.postMessage(0);
      });
    for (let i = 0; i < 1_000; i++) await once();
    let n = 0;
    const start = performance.now();
    let elapsed = 0;
    do {
      for (let i = 0; i < 100; i++) await once();
      n += 100;
      elapsed = performance.now() - start;
    } while (elapsed < durationMs);
    return (n * 1000) / elapsed;
  } finally {
    worker.terminate();
  }
}

/** memcpy bandwidth in GB/s: `Uint8Array.prototype.set` between two buffers of `bytes` (best of 5). */
export function memcpyGigabytesPerSecond(bytes = 256 << 20): number {
  const src = new Uint8Array(bytes).fill(1);
  const dst = new Uint8Array(bytes);
  dst.set(src); // fault every page in first
  let best = Number.POSITIVE_INFINITY;
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    dst.set(src);
    best = Math.min(best, performance.now() - start);
  }
  return bytes / 1e9 / (best / 1000);
}

/** Raw loopback TCP bandwidth in GB/s: `bytes` streamed from a child Bun process to this one. */
export async function loopbackTcpGigabytesPerSecond(bytes = 256 << 20): Promise<number> {
  let received = 0;
  let start = 0;
  let done: (ms: number) => void = () => {};
  const finished = new Promise<number>((r) => (done = r));
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open() {
        start = performance.now();
      },
      data(_socket, chunk) {
        received += chunk.length;
        if (received >= bytes) done(performance.now() - start);
      },
    },
  });
  try {
    const child = Bun.spawn(
      [process.execPath, join(WORKERS, "tcp-sender.ts"), String(server.port), String(bytes)],
      { stdout: "inherit", stderr: "inherit" },
    );
    const ms = await finished;
    await child.exited;
    return bytes / 1e9 / (ms / 1000);
  } finally {
    server.stop(true);
  }
}
