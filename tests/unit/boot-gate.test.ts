/**
 * The boot gate with real Bun Workers: a pool that may boot 3 at once hands out 20 workers at once;
 * they get their Workers in the order they were asked for, never more than 3 booting at a time, and
 * a worker dropped while it waits never starts one; a Worker that fails to boot frees its slot. The limit's parsing: whole numbers of at least 1,
 * anything else a RaytsError naming the variable and what to set.
 */
import { afterEach, describe, expect, setDefaultTimeout, test } from "bun:test";
import { RaytsError } from "../../src/errors.ts";
import { defaultStartupConcurrency, startupConcurrency } from "../../src/worker/boot-gate.ts";
import { WorkerPool } from "../../src/worker/worker-pool.ts";
import type { WorkerProc } from "../../src/worker/worker-proc.ts";

setDefaultTimeout(120_000);

const FAILING_WORKER = new URL("../fixtures/worker-boot-fails.ts", import.meta.url).href;

let pool: WorkerPool | undefined;

afterEach(() => {
  pool?.close();
  pool = undefined;
});

function newPool(
  limit: number,
  startWorker?: () => Worker,
  onExit: (w: WorkerProc) => void = () => {},
): WorkerPool {
  return new WorkerPool(
    {
      onMessages: () => {},
      onExit,
      init: (callerId) => ({
        t: "init",
        callerId,
        nodeId: "0".repeat(32),
        jobId: "boot-gate-test",
        namespace: "default",
        shmHeader: 0,
        logToDriver: false,
        entryScript: undefined,
        jobEnv: undefined,
        argv: [],
      }),
    },
    { keepIdle: 1, startupConcurrency: limit, ...(startWorker === undefined ? {} : { startWorker }) },
  );
}

/** Polls until `done()`, checking `each()` every time (a pause of 1 ms between, to leave the CPU to the Workers). */
async function until(done: () => boolean, each: () => void): Promise<void> {
  for (;;) {
    each();
    if (done()) return;
    await Bun.sleep(1);
  }
}

describe("boot gate", () => {
  test("20 workers asked for at once boot at most 3 at a time, in the order they were asked for", async () => {
    pool = newPool(3);
    const p = pool;
    const procs: WorkerProc[] = Array.from({ length: 20 }, () => p.take());
    expect(p.boots).toMatchObject({ startupConcurrency: 3, booting: 3, waiting: 17, started: 3 });
    await until(
      () => p.boots.booting === 0 && p.boots.waiting === 0,
      () => {
        expect(p.boots.booting).toBeLessThanOrEqual(3);
        // Booted ones are always the first asked for.
        const booted = procs.filter((w) => w.booted).length;
        expect(procs.slice(0, booted).every((w) => w.booted)).toBe(true);
      },
    );
    expect(procs.every((w) => w.booted)).toBe(true);
    expect(p.boots).toMatchObject({ booting: 0, waiting: 0, maxBooting: 3, started: 20 });
  });

  test("a worker terminated while it waits never starts a Worker; one terminated while booting frees its slot", async () => {
    pool = newPool(2);
    const p = pool;
    const procs: WorkerProc[] = Array.from({ length: 8 }, () => p.take());
    p.terminate(procs[5] as WorkerProc);
    p.terminate(procs[0] as WorkerProc);
    p.terminate(procs[1] as WorkerProc);
    // Both booting ones gone: the next two boot in their place.
    expect(p.boots).toMatchObject({ booting: 2, waiting: 3, started: 4 });
    const left = procs.filter((_, i) => i !== 0 && i !== 1 && i !== 5);
    await until(
      () => left.every((w) => w.booted) && p.boots.booting === 0,
      () => expect(p.boots.booting).toBeLessThanOrEqual(2),
    );
    expect(procs[5]?.booted).toBe(false);
    expect(p.boots).toMatchObject({ booting: 0, waiting: 0, maxBooting: 2, started: 7 });
  });

  test("a Worker that fails to boot frees its slot: the workers after it still boot", async () => {
    // Every other Worker throws while it loads (a real Worker of a fixture that throws at the top).
    let n = 0;
    const start = () =>
      n++ % 2 === 0
        ? new Worker(FAILING_WORKER)
        : new Worker(new URL("../../src/worker/worker-entry.ts", import.meta.url).href);
    const exited = new Set<WorkerProc>();
    pool = newPool(2, start, (w) => exited.add(w));
    const p = pool;
    const procs: WorkerProc[] = Array.from({ length: 8 }, () => p.take());
    const failing = procs.filter((_, i) => i % 2 === 0);
    const good = procs.filter((_, i) => i % 2 === 1);
    await until(
      () => p.boots.booting === 0 && p.boots.waiting === 0 && failing.every((w) => exited.has(w)),
      () => expect(p.boots.booting).toBeLessThanOrEqual(2),
    );
    expect(good.every((w) => w.booted && w.state !== "DEAD")).toBe(true);
    expect(failing.every((w) => w.state === "DEAD")).toBe(true);
    expect(p.boots).toMatchObject({ booting: 0, waiting: 0, started: 8 });
  });
});

describe("startupConcurrency", () => {
  test("takes a whole number of at least 1 and defaults to the CPUs, at least 2", () => {
    expect(startupConcurrency("1")).toBe(1);
    expect(startupConcurrency(" 16 ")).toBe(16);
    expect(startupConcurrency(undefined)).toBe(defaultStartupConcurrency());
    expect(startupConcurrency("")).toBe(defaultStartupConcurrency());
    expect(defaultStartupConcurrency()).toBeGreaterThanOrEqual(2);
  });

  test("rejects anything else with a RaytsError that names the variable and what to set", () => {
    for (const bad of ["0", "-2", "1.5", "abc", "3 workers", "Infinity", "NaN", "1e400"]) {
      let caught: unknown;
      try {
        startupConcurrency(bad);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(RaytsError);
      expect((caught as Error).message).toBe(
        `RAYTS_MAX_STARTUP_CONCURRENCY must be a whole number of at least 1 (Workers a node boots at once): got ${JSON.stringify(bad)}; set it to e.g. ${defaultStartupConcurrency()}, or unset it for the default (the number of CPUs, at least 2)`,
      );
    }
  });
});
