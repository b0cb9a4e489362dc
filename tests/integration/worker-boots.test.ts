/**
 * Worker boots are paced: a head whose node may boot 3 Workers at once (`RAYTS_MAX_STARTUP_CONCURRENCY`)
 * gets 60 actors and a task in one burst; its `GET /workers` counters show that never more than 3
 * booted at once while every actor came alive and answered. Actors killed while booting or while
 * still waiting to boot free their slots (those waiting never start a Worker) and every later actor
 * starts. A bad value of the variable stops the head, the node and an embedded driver with a
 * message that says what to set.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { resolve } from "node:path";
import {
  driverArgs,
  nodeArgs,
  reportOf,
  Sandbox,
  startCluster,
  TEST_STORE_BYTES,
  type TestCluster,
} from "../cluster-harness.ts";
import { runRayts } from "../harness.ts";

setDefaultTimeout(300_000);

const JOB = resolve(import.meta.dir, "..", "fixtures", "worker-boots-job.ts");
const CAP = "3";

interface Boots {
  workers: number;
  startupConcurrency: number;
  booting: number;
  waiting: number;
  maxBooting: number;
  started: number;
}

async function boots(cluster: TestCluster): Promise<Boots> {
  const res = await fetch(`http://${cluster.address}/workers`, {
    headers: { authorization: `Bearer ${cluster.token}` },
  });
  expect(res.status).toBe(200);
  return (await res.json()) as Boots;
}

function drive(cluster: TestCluster, ...args: string[]) {
  return cluster.rayts(driverArgs(cluster, JOB, ...args), { timeoutMs: 240_000 });
}

describe("worker boots", () => {
  test("60 actors created at once boot at most 3 at a time, all come alive and answer, and the task runs", async () => {
    await using cluster = await startCluster({ numCpus: 1, headEnv: { RAYTS_MAX_STARTUP_CONCURRENCY: CAP } });
    const before = await boots(cluster);
    expect(before.startupConcurrency).toBe(3);
    const out = await drive(cluster, "burst", "60");
    expect(out.stderr).toBe("");
    const r = reportOf(out);
    expect(r.answers).toEqual(Array.from({ length: 60 }, (_, i) => i));
    expect(r.task).toBe(42);
    const after = await boots(cluster);
    // The burst asked for more Workers than the cap at once: the cap was reached and never passed.
    expect(after.maxBooting).toBe(3);
    expect(after.booting).toBe(0);
    expect(after.waiting).toBe(0);
    // Every actor has a Worker of its own: those not taken from the idle ones were started.
    expect(after.started - before.started).toBeGreaterThanOrEqual(60 - before.workers);
  });

  test("killing actors that are booting or waiting to boot frees their slots and every later actor starts", async () => {
    await using cluster = await startCluster({ numCpus: 1, headEnv: { RAYTS_MAX_STARTUP_CONCURRENCY: CAP } });
    const before = await boots(cluster);
    // Idle workers take the first actors; the next 3 boot; the others wait (all in one burst, the
    // kills in the same turn as the creations, so before any of these Workers reported ready). The
    // waiting ones are killed first: each booting one killed lets the next waiting one boot.
    const idle = before.workers;
    const booting = [idle, idle + 1, idle + 2];
    const waiting = [idle + 3, idle + 20, 39];
    const out = await drive(cluster, "kill", "40", ...waiting.map(String), ...booting.map(String));
    expect(out.stderr).toBe("");
    const killed = new Set([...booting, ...waiting]);
    expect(reportOf(out).answers).toEqual(
      Array.from({ length: 40 }, (_, i) => (killed.has(i) ? "ActorDiedError" : i)),
    );
    const after = await boots(cluster);
    expect(after.booting).toBe(0);
    expect(after.waiting).toBe(0);
    expect(after.maxBooting).toBe(3);
    // The killed booting actors had started their Workers; the killed waiting ones never did.
    expect(after.started - before.started).toBe(40 - idle - waiting.length);
  });

  test("a bad RAYTS_MAX_STARTUP_CONCURRENCY stops a node, a head and an embedded driver, saying what to set", async () => {
    const says = (bad: string) =>
      `RAYTS_MAX_STARTUP_CONCURRENCY must be a whole number of at least 1 (Workers a node boots at once): got "${bad}"; set it to e.g.`;
    await using cluster = await startCluster({ numCpus: 1 });
    for (const bad of ["abc", "0", "2.5", "-1"]) {
      const node = cluster.spawn(nodeArgs(cluster.address, { token: cluster.token }), {
        env: { RAYTS_MAX_STARTUP_CONCURRENCY: bad },
      });
      expect(await node.proc.exited).not.toBe(0);
      expect(node.stderr).toContain(says(bad));
    }
    // The cluster lives on: no node joined.
    expect((await cluster.status()).nodes.length).toBe(1);
    await using sandbox = new Sandbox();
    const head = sandbox.spawn(
      ["head", "--port", "0", "--num-cpus", "1", "--object-store-memory", String(TEST_STORE_BYTES)],
      {
        env: { RAYTS_MAX_STARTUP_CONCURRENCY: "many" },
      },
    );
    expect(await head.proc.exited).not.toBe(0);
    expect(head.stderr).toContain(says("many"));
    const embedded = await runRayts([JOB, "burst", "1"], {
      env: { RAYTS_MAX_STARTUP_CONCURRENCY: "4 workers" },
    });
    expect(embedded.code).toBe(1);
    expect(embedded.stderr).toContain(says("4 workers"));
    expect(embedded.stdout).not.toContain("REPORT");
  });
});
