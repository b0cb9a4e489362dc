/**
 * The cluster benchmarks: each starts a real head and nodes as `dist/rayts` processes on this
 * machine (loopback, port 0, a temp directory of its own), runs `job.ts` as a driver connected to the
 * head, reads the peak RSS (`VmHWM`) of the head and every node, and tears everything down. Prints a
 * table and writes the figures to `benchmarks/results/cluster-<date>-<HHMM UTC>.json`.
 *
 *   bun run bench:cluster [--quick] [--only cross-node,transfer,broadcast,many-actors,many-tasks,placement-groups]
 *
 * `RAYTS_MAX_STARTUP_CONCURRENCY`, when set, is passed on to the head and the nodes.
 *
 * All processes share this machine's cores: the figures are for a cluster squeezed onto one box, not
 * for nodes that each have their own CPUs.
 */
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg, totalmem } from "node:os";
import { dirname, join, resolve } from "node:path";
import { isBuildStale } from "../../scripts/build-staleness.ts";
import type { ClusterStatus } from "../../src/cluster/cluster-protocol.ts";
import { ClusterProcess, Sandbox } from "../../tests/cluster-harness.ts";
import { loopbackTcpGigabytesPerSecond } from "../floors.ts";

const ROOT = resolve(import.meta.dir, "..", "..");
const BIN = join(ROOT, "dist", "rayts");
const JOB = join(import.meta.dir, "job.ts");
const MiB = 1024 * 1024;
const quick = process.argv.includes("--quick");
const onlyArg = process.argv.indexOf("--only");
const only = onlyArg === -1 ? undefined : new Set((process.argv[onlyArg + 1] ?? "").split(","));
/** Settings of this environment passed on to the head and the nodes (to compare runs under them). */
const PASSED_ENV: Record<string, string> = Object.fromEntries(
  ["RAYTS_MAX_STARTUP_CONCURRENCY"].flatMap((k) =>
    process.env[k] === undefined ? [] : [[k, process.env[k]]],
  ),
);

interface NodeSpec {
  cpus: number;
  storeBytes: number;
}

interface ClusterSpec {
  headCpus: number;
  headStoreBytes: number;
  nodes: NodeSpec[];
  headEnv?: Record<string, string>;
}

/** A head and its nodes, each a process in one sandbox (killed, segments removed, on dispose). */
class BenchCluster implements AsyncDisposable {
  readonly sandbox = new Sandbox();
  head: ClusterProcess | undefined;
  nodes: ClusterProcess[] = [];
  address = "";
  token = "";

  async start(spec: ClusterSpec): Promise<this> {
    const head = this.sandbox.adopt(
      new ClusterProcess(
        Bun.spawn(
          [
            BIN,
            "head",
            "--port",
            "0",
            "--num-cpus",
            String(spec.headCpus),
            "--object-store-memory",
            String(spec.headStoreBytes),
          ],
          {
            env: this.sandbox.env({ ...PASSED_ENV, ...spec.headEnv }),
            stdin: "ignore",
            stdout: "pipe",
            stderr: "pipe",
          },
        ),
      ),
    );
    this.head = head;
    this.address = (await head.waitForOutput(/Started rayts head at (\S+)/))[1] as string;
    this.token = (await head.waitForOutput(/Token:\s+(\S+)/))[1] as string;
    this.nodes = await Promise.all(
      spec.nodes.map(async (node) => {
        const proc = this.sandbox.spawn(
          [
            "node",
            "--join",
            this.address,
            "--token",
            this.token,
            "--port",
            "0",
            "--num-cpus",
            String(node.cpus),
            "--object-store-memory",
            String(node.storeBytes),
          ],
          { env: PASSED_ENV },
        );
        await proc.waitForOutput(/Started rayts node (\w+) at (\S+),/);
        return proc;
      }),
    );
    await this.#waitForNodes(spec.nodes.length + 1);
    return this;
  }

  async #waitForNodes(count: number): Promise<void> {
    for (let i = 0; i < 300; i++) {
      const r = await this.sandbox.rayts(["status", "--format", "json", "--address", this.address]);
      if (r.code === 0 && (JSON.parse(r.stdout) as { nodes: unknown[] }).nodes.length >= count) return;
      await Bun.sleep(100);
    }
    throw new Error(`The cluster did not reach ${count} nodes`);
  }

  /** Runs the driver script in `mode`; returns its RESULT object. */
  async drive(args: string[], timeoutMs = 900_000): Promise<Record<string, unknown>> {
    // The script runs from a directory of its own: run from this repository, the job's package
    // shipped to the nodes would be the whole repository (installed there with its build scripts).
    const job = join(this.sandbox.dir.path, "job", "job.ts");
    if (!existsSync(job)) {
      mkdirSync(dirname(job), { recursive: true });
      copyFileSync(JOB, job);
    }
    const run = await this.sandbox.rayts(["--address", this.address, "--token", this.token, job, ...args], {
      timeoutMs,
    });
    const line = run.stdout.split("\n").find((l) => l.startsWith("RESULT "));
    if (run.code !== 0 || line === undefined) {
      const tails = [this.head, ...this.nodes]
        .map(
          (p, i) => `${i === 0 ? "head" : `node ${i}`} (exit ${p?.proc.exitCode}): ${p?.stderr.slice(-400)}`,
        )
        .join("\n");
      throw new Error(
        `The driver (${args.join(" ")}) exited ${run.code}:\n${run.stdout}\n${run.stderr}\n${tails}`,
      );
    }
    return JSON.parse(line.slice("RESULT ".length)) as Record<string, unknown>;
  }

  /** Peak RSS in bytes of the head and of each node, from `/proc/PID/status` (`VmHWM`). */
  peakRss(): { head: number; nodes: number[] } {
    const of = (p: ClusterProcess | undefined) => {
      if (p === undefined) return 0;
      try {
        const m = readFileSync(`/proc/${p.pid}/status`, "utf8").match(/VmHWM:\s+(\d+) kB/);
        return m === null ? 0 : Number(m[1]) * 1024;
      } catch {
        return 0;
      }
    };
    return { head: of(this.head), nodes: this.nodes.map(of) };
  }

  /**
   * Polls the head's status every 250 ms until the returned function is called, which resolves with
   * the longest silence the head saw of each node while it was alive (ms since its last heartbeat;
   * the head declares a node dead after 8 s), in the order the nodes joined.
   */
  watchSilence(): () => Promise<number[]> {
    const worst = new Map<number, number>();
    let watching = true;
    const loop = (async () => {
      while (watching) {
        try {
          const res = await fetch(`http://${this.address}/api/status`, {
            headers: { authorization: `Bearer ${this.token}` },
          });
          const status = (await res.json()) as ClusterStatus;
          for (const n of status.nodes) {
            const at = this.nodes.findIndex((p) => p.pid === n.pid);
            if (at >= 0 && n.state === "ALIVE") worst.set(at, Math.max(worst.get(at) ?? 0, n.lastSeenMsAgo));
          }
        } catch {}
        await Bun.sleep(250);
      }
    })();
    return async () => {
      watching = false;
      await loop;
      return this.nodes.map((_, i) => worst.get(i) ?? 0);
    };
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.sandbox[Symbol.asyncDispose]();
  }
}

interface Row {
  name: string;
  figure: string;
  detail: string;
}

if (isBuildStale(ROOT)) {
  const build = Bun.spawnSync([process.execPath, join(ROOT, "build.ts")], {
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  });
  if (build.exitCode !== 0) throw new Error(`bun build.ts exited ${build.exitCode}`);
}

const rows: Row[] = [];
/** The 1-minute load average when each benchmark started (the machine may be shared). */
const loadBefore: Record<string, number> = {};
const results: Record<string, unknown> = {};
const mib = (b: number) => `${(b / MiB).toFixed(0)} MiB`;
/** A peak RSS, or "exited" for a process whose status could not be read any more. */
const rssText = (b: number) => (b === 0 ? "exited" : mib(b));
const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const min = (xs: number[]) => Math.min(...xs);

/** Runs one benchmark unless `--only` leaves it out; a failure becomes a row, not the end of the run. */
async function bench(name: string, body: () => Promise<void>, label = name): Promise<void> {
  if (only !== undefined && !only.has(name)) return;
  process.stderr.write(`running ${label}…\n`);
  loadBefore[label] = loadavg()[0] as number;
  try {
    await body();
  } catch (err) {
    const full = (err as Error).message;
    const message = full.split("\n").slice(0, 6).join(" | ");
    results[label] = { error: full };
    rows.push({ name: label, figure: "failed", detail: message.slice(0, 200) });
  }
}

await bench("cross-node", async () => {
  await using cluster = await new BenchCluster().start({
    headCpus: 1,
    headStoreBytes: 256 * MiB,
    nodes: [{ cpus: 2, storeBytes: 256 * MiB }],
  });
  const r = await cluster.drive(["cross-node", quick ? "0.5" : "2"]);
  results["cross-node"] = { ...r, peakRss: cluster.peakRss() };
  const rates = r.rates as number[];
  rows.push({
    name: "cross-node tasks async",
    figure: `${fmt(median(rates))} /s`,
    detail: `median of 3 trials (best ${fmt(Math.max(...rates))}); target ≥ 20,000/s`,
  });
});

async function transferRun(mode: "http" | "shm"): Promise<void> {
  const size = quick ? 64 : 256;
  await using cluster = await new BenchCluster().start({
    headCpus: 1,
    headStoreBytes: 8 * size * MiB,
    nodes: [{ cpus: 1, storeBytes: 8 * size * MiB }],
    headEnv: mode === "http" ? { RAYTS_OBJECT_TRANSFER: "http" } : {},
  });
  // The raw floor, three times before and three times after the transfers: the median of the six.
  const tcpRuns: number[] = [];
  for (let i = 0; i < 3; i++) tcpRuns.push(await loopbackTcpGigabytesPerSecond(size * MiB));
  const r = await cluster.drive(["transfer", String(size)]);
  for (let i = 0; i < 3; i++) tcpRuns.push(await loopbackTcpGigabytesPerSecond(size * MiB));
  const bytes = r.bytes as number;
  const tcp = median(tcpRuns);
  const gbps = (ms: number) => bytes / 1e9 / (ms / 1000);
  const push = gbps(median(r.pushRemote as number[]));
  const pushBest = gbps(min(r.pushRemote as number[]));
  const pull = gbps(median(r.pullRemote as number[]));
  results[`transfer-${mode}`] = { ...r, rawTcpGBps: tcpRuns, pushGBps: push, pullGBps: pull };
  const how = mode === "http" ? "over HTTP" : "segment copy";
  rows.push({
    name: `transfer ${mib(bytes)} head → node (${how})`,
    figure: `${push.toFixed(2)} GB/s`,
    detail: `${((100 * push) / tcp).toFixed(0)}% of raw loopback TCP ${tcp.toFixed(2)} GB/s (median of 6); best round ${pushBest.toFixed(2)} GB/s = ${((100 * pushBest) / tcp).toFixed(0)}%; same read on the head's node ${fmt(median(r.pushLocal as number[]))} ms`,
  });
  rows.push({
    name: `make ${mib(bytes)} on node + bring to head (${how})`,
    figure: `${pull.toFixed(2)} GB/s`,
    detail: `${fmt(median(r.pullRemote as number[]))} ms, same task on the head's node ${fmt(median(r.pullLocal as number[]))} ms`,
  });
}

await bench("transfer", () => transferRun("http"), "transfer-http");
await bench("transfer", () => transferRun("shm"), "transfer-shm");

async function broadcastRun(mode: "http" | "shm"): Promise<void> {
  const size = 64;
  await using cluster = await new BenchCluster().start({
    headCpus: 0,
    headStoreBytes: 4 * size * MiB,
    nodes: Array.from({ length: 4 }, () => ({ cpus: 1, storeBytes: 4 * size * MiB })),
    headEnv: mode === "http" ? { RAYTS_OBJECT_TRANSFER: "http" } : {},
  });
  const r = await cluster.drive(["broadcast", String(size)]);
  const times = r.times as number[];
  results[`broadcast-${mode}`] = { ...r, peakRss: cluster.peakRss() };
  rows.push({
    name: `broadcast ${size} MiB to 4 nodes (${mode === "http" ? "over HTTP" : "segment copy"})`,
    figure: `${fmt(median(times))} ms`,
    detail: `median of ${times.length} (best ${fmt(min(times))} ms); ${((4 * size * MiB) / 1e9 / (median(times) / 1000)).toFixed(2)} GB/s delivered`,
  });
}

await bench("broadcast", () => broadcastRun("http"), "broadcast-http");
await bench("broadcast", () => broadcastRun("shm"), "broadcast-shm");

await bench("many-actors", async () => {
  const n = quick ? 100 : 1_000;
  await using cluster = await new BenchCluster().start({
    headCpus: 0,
    headStoreBytes: 64 * MiB,
    nodes: Array.from({ length: 4 }, () => ({ cpus: 1, storeBytes: 64 * MiB })),
  });
  // Booting the actors' Workers must not starve a node's heartbeats (silent 8 s = dead).
  const silence = cluster.watchSilence();
  let r: Record<string, unknown>;
  try {
    r = await cluster.drive(["many-actors", String(n)]);
  } catch (err) {
    const ms = (await silence()).map((x) => fmt(x)).join("/");
    throw new Error(`${(err as Error).message}\nLongest heartbeat silence per node while alive: ${ms} ms`);
  }
  const silentMs = await silence();
  const rss = cluster.peakRss();
  results["many-actors"] = { ...r, peakRss: rss, heartbeatSilenceMs: silentMs };
  rows.push({
    name: `many_actors (${fmt(n)} on 4 nodes)`,
    figure: `${fmt(r.perSecond as number)} actors/s`,
    detail: `${fmt(r.ms as number)} ms; longest heartbeat silence per node ${silentMs.map((ms) => fmt(ms)).join("/")} ms; peak RSS head ${mib(rss.head)}, nodes ${rss.nodes.map(rssText).join(", ")}`,
  });
});

await bench("many-tasks", async () => {
  const n = quick ? 10_000 : 100_000;
  await using cluster = await new BenchCluster().start({
    headCpus: 0,
    headStoreBytes: 256 * MiB,
    nodes: Array.from({ length: 4 }, () => ({ cpus: 1, storeBytes: 64 * MiB })),
  });
  const r = await cluster.drive(["many-tasks", String(n)]);
  const rss = cluster.peakRss();
  results["many-tasks"] = { ...r, peakRss: rss };
  rows.push({
    name: `many_tasks (${fmt(n)} queued, head without CPUs, 4 nodes)`,
    figure: `${fmt(r.perSecond as number)} tasks/s`,
    detail: `${fmt(r.ms as number)} ms (submitted in ${fmt(r.submittedMs as number)} ms), per node ${Object.values(r.perNode as Record<string, number>).join("/")}; peak RSS head ${mib(rss.head)}, nodes ${rss.nodes.map(rssText).join(", ")}, driver ${mib(r.driverPeakRss as number)}`,
  });
});

const pgScript = join(import.meta.dir, "placement-groups.ts");
await bench("placement-groups", async () => {
  if (!existsSync(pgScript)) throw new Error("benchmarks/cluster/placement-groups.ts is not there yet");
  const run = Bun.spawn([process.execPath, pgScript, ...(quick ? ["--quick"] : [])], {
    stdout: "pipe",
    stderr: "inherit",
  });
  const out = await new Response(run.stdout).text();
  if ((await run.exited) !== 0) throw new Error(`placement-groups.ts exited ${run.exitCode}: ${out}`);
  const last = out.trim().split("\n").at(-1) ?? "";
  results["placement-groups"] = { output: out.trim() };
  rows.push({
    name: "placement groups (1,000 × 2 SPREAD bundles, 4 nodes)",
    figure: `${last.match(/([\d,]+) groups\/s created\+removed/)?.[1] ?? "?"} /s`,
    detail: last,
  });
});

const width = Math.max(...rows.map((r) => r.name.length));
const fwidth = Math.max(...rows.map((r) => r.figure.length));
for (const r of rows) console.log(`${r.name.padEnd(width)}  ${r.figure.padStart(fwidth)}  ${r.detail}`);

const commit = Bun.spawnSync(["git", "rev-parse", "--short", "HEAD"], { cwd: ROOT }).stdout.toString().trim();
// Date and UTC time (to the minute) in the name: a later run never overwrites a recorded one.
const stamp = new Date().toISOString();
const date = `${stamp.slice(0, 10)}-${stamp.slice(11, 13)}${stamp.slice(14, 16)}`;
const file = join(ROOT, "benchmarks", "results", `cluster-${date}${quick ? "-quick" : ""}.json`);
mkdirSync(join(ROOT, "benchmarks", "results"), { recursive: true });
writeFileSync(
  file,
  `${JSON.stringify(
    {
      date: new Date().toISOString(),
      commit,
      buildStale: isBuildStale(ROOT),
      machine: { cpus: cpus().length, model: cpus()[0]?.model, memBytes: totalmem(), loadavg: loadavg() },
      loadBefore,
      env: PASSED_ENV,
      results,
    },
    null,
    2,
  )}\n`,
);
// Formatted as the repository's formatter wants it, when it is installed.
const biome = join(ROOT, "node_modules", ".bin", "biome");
if (existsSync(biome))
  Bun.spawnSync([biome, "format", "--write", file], { stdout: "ignore", stderr: "ignore" });
console.log(`\nWrote ${file}`);
