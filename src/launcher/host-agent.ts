/**
 * What `rayts up | down | exec` do on one host of a cluster: start the head or the worker nodes of a
 * cluster unless they already run as asked, stop them, and say what runs. The local provider calls it
 * in process; the ssh provider runs it on each host as `rayts __launcher-host` (request as JSON on
 * stdin, result as one `@@rayts-launcher` JSON line on stdout).
 *
 * Each host keeps, per cluster, one state file per process it started, under the session root
 * (`<tmp>/rayts/clusters/<name>/head.json`, `worker-<key>.json`), plus the hash of the setup last
 * run there (`setup-<key>`). A process counts as running only while its pid is a live `rayts head` or
 * `rayts node`, so stale files after a reboot are harmless.
 */
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { launchDetached } from "../cluster/detach.ts";
import { isAlive, isClusterProcess } from "../cluster/process-alive.ts";
import {
  createSession,
  findSession,
  readHeadRecord,
  readProcessRecords,
  readToken,
  sessionRoot,
} from "../cluster/session-dir.ts";
import { removeSegments } from "../cluster/stop-processes.ts";
import { RaytsError } from "../errors.ts";
import { generateToken } from "../transport/token.ts";
import type { NodeSpec } from "./cluster-config.ts";

/** A node process as asked for: its resources plus the interface it binds. */
export interface ProcessSpec extends NodeSpec {
  readonly host: string;
}

/** The head as worker nodes join it. */
export interface HeadInfo {
  readonly address: string;
  readonly token: string;
  readonly pid: number;
  readonly sessionName: string;
}

export type AgentRequest =
  | {
      readonly t: "up-head";
      readonly cluster: string;
      readonly spec: ProcessSpec;
      readonly binary: string;
      readonly restart: boolean;
    }
  | {
      readonly t: "up-workers";
      readonly cluster: string;
      readonly workers: ReadonlyArray<{ readonly key: string; readonly spec: ProcessSpec }>;
      readonly head: HeadInfo;
      readonly binary: string;
      readonly restart: boolean;
      /** Stop this host's workers of the cluster that are not in `workers`. */
      readonly prune: boolean;
    }
  | { readonly t: "down"; readonly cluster: string }
  | { readonly t: "status"; readonly cluster: string }
  | { readonly t: "setup-get"; readonly cluster: string; readonly key: string }
  | { readonly t: "setup-set"; readonly cluster: string; readonly key: string; readonly hash: string };

/** What happened to one process. */
export interface ProcessOutcome {
  readonly key: string;
  readonly action: "kept" | "started" | "restarted" | "stopped" | "refused";
  readonly pid: number;
  readonly address: string;
  /** Why a restart or stop was refused (without `restart`). */
  readonly reason?: string;
}

export type AgentResult =
  | { readonly t: "head"; readonly outcome: ProcessOutcome; readonly head?: HeadInfo }
  | { readonly t: "workers"; readonly outcomes: readonly ProcessOutcome[] }
  | { readonly t: "down"; readonly stopped: readonly ProcessOutcome[] }
  | { readonly t: "status"; readonly head?: HeadInfo; readonly workers: readonly ProcessOutcome[] }
  | { readonly t: "setup"; readonly hash: string | undefined }
  | { readonly t: "ok" };

/** The state file of one process this host started for a cluster. */
interface ProcessState {
  readonly role: "head" | "node";
  readonly key: string;
  readonly pid: number;
  readonly address: string;
  /** Spec, binary and (for workers) the head joined, as one string: equal means nothing to change. */
  readonly wanted: string;
  readonly sessionName: string;
  /** Head only: the cluster's token, kept across restarts. */
  readonly token?: string;
  /** Workers only: the head they joined (address and pid). */
  readonly joined?: string;
}

/** The line prefix of the result on stdout when run as `rayts __launcher-host`. */
export const RESULT_MARK = "@@rayts-launcher ";

/** Serves one request on this host. `log` gets progress lines. */
export async function serveAgent(req: AgentRequest, log: (line: string) => void): Promise<AgentResult> {
  if (typeof req?.cluster !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(req.cluster)) {
    throw new RaytsError(
      `Invalid launcher request: cluster ${JSON.stringify(req?.cluster)} is not a cluster name`,
    );
  }
  const dir = clusterDir(req.cluster);
  switch (req.t) {
    case "up-head":
      return withLock(dir, () => upHead(dir, req, log));
    case "up-workers":
      return { t: "workers", outcomes: await withLock(dir, () => upWorkers(dir, req, log)) };
    case "down":
      return { t: "down", stopped: await withLock(dir, () => down(dir, log)) };
    case "status":
      return status(dir);
    case "setup-get":
      return { t: "setup", hash: readText(join(dir, `setup-${safeKey(req.key)}`)) };
    case "setup-set":
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `setup-${safeKey(req.key)}`), req.hash);
      return { t: "ok" };
  }
}

/**
 * Runs `fn` holding the cluster's lock on this host (`lock`, the holder's pid), so two `rayts up`
 * at once never start two heads: the second waits, then finds the first one's head running. A lock
 * whose holder is gone is taken over.
 */
async function withLock<T>(dir: string, fn: () => Promise<T>): Promise<T> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "lock");
  let emptySeen = 0;
  for (;;) {
    try {
      writeFileSync(file, String(process.pid), { flag: "wx" });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const holder = readText(file);
    const pid = Number(holder);
    // An empty lock is being written by its new holder (created, pid not written yet): wait for it,
    // unless it stays empty for 5 s (its holder died in between).
    emptySeen = holder === "" ? emptySeen + 1 : 0;
    const writing = holder === "" && emptySeen < 50;
    if (holder !== undefined && !writing && !(Number.isSafeInteger(pid) && pid > 0 && isAlive(pid))) {
      // Only the stale lock read here is removed; a fresh one written meanwhile stays.
      if (readText(file) === holder) rmSync(file, { force: true });
      continue;
    }
    await Bun.sleep(100);
  }
  try {
    return await fn();
  } finally {
    rmSync(file, { force: true });
  }
}

/** The folder of a cluster's state on this host. */
export function clusterDir(cluster: string): string {
  return join(sessionRoot(), "clusters", cluster);
}

async function upHead(
  dir: string,
  req: Extract<AgentRequest, { t: "up-head" }>,
  log: (line: string) => void,
): Promise<AgentResult> {
  const file = join(dir, "head.json");
  const wanted = JSON.stringify({ spec: normalize(req.spec), binary: req.binary });
  const old = readState(file);
  const running = old !== undefined && isClusterProcess(old.pid, "head");
  if (running && old.wanted === wanted) {
    const token = old.token ?? readSessionToken(old.sessionName);
    if (token !== undefined) {
      log(`head already running at ${old.address} (pid ${old.pid}); left as it is`);
      return {
        t: "head",
        outcome: { key: "head", action: "kept", pid: old.pid, address: old.address },
        head: { address: old.address, token, pid: old.pid, sessionName: old.sessionName },
      };
    }
  }
  if (running && !req.restart) {
    return {
      t: "head",
      outcome: {
        key: "head",
        action: "refused",
        pid: old.pid,
        address: old.address,
        reason: `the head (pid ${old.pid} at ${old.address}) runs with other settings or another rayts binary and must restart`,
      },
    };
  }
  if (running) {
    log(`stopping the head (pid ${old.pid}) to restart it with the new settings`);
    await stopPids([old.pid]);
  }
  const token = old?.token ?? generateToken();
  const session = createSession();
  const report = await launchDetached(
    "head",
    {
      args: ["--port", String(req.spec.port), "--host", req.spec.host, ...resourceArgs(req.spec)],
      env: { RAYTS_TOKEN: token },
    },
    session,
  );
  if (report.t !== "ready") {
    const hint = report.reason.includes("Cannot listen")
      ? " (set head.port in the cluster file; 0 picks a free one)"
      : "";
    throw new RaytsError(`The head did not start${hint}: ${report.reason}`);
  }
  const record = readHeadRecord(session);
  if (record === undefined) throw new RaytsError(`The head started but wrote no head.json in ${session.dir}`);
  mkdirSync(dir, { recursive: true });
  writeState(file, {
    role: "head",
    key: "head",
    pid: record.pid,
    address: record.address,
    wanted,
    sessionName: session.name,
    token,
  });
  log(`head started at ${record.address} (pid ${record.pid})`);
  return {
    t: "head",
    outcome: {
      key: "head",
      action: running ? "restarted" : "started",
      pid: record.pid,
      address: record.address,
    },
    head: { address: record.address, token, pid: record.pid, sessionName: session.name },
  };
}

async function upWorkers(
  dir: string,
  req: Extract<AgentRequest, { t: "up-workers" }>,
  log: (line: string) => void,
): Promise<ProcessOutcome[]> {
  // Ask before changing anything: without permission, report every refusal and do nothing.
  if (!req.restart) {
    const refusals = workerRefusals(dir, req);
    if (refusals.length > 0) return refusals;
  }
  const outcomes: ProcessOutcome[] = [];
  const keys = new Set(req.workers.map((w) => safeKey(w.key)));
  if (req.prune) {
    for (const { file, state } of workerStates(dir)) {
      if (keys.has(state.key)) continue;
      if (!isClusterProcess(state.pid, "node")) {
        rmSync(file, { force: true });
        continue;
      }
      if (!req.restart) {
        outcomes.push({
          key: state.key,
          action: "refused",
          pid: state.pid,
          address: state.address,
          reason: `worker ${state.key} (pid ${state.pid}) is no longer in the cluster file and must stop`,
        });
        continue;
      }
      log(`stopping worker ${state.key} (pid ${state.pid}): no longer in the cluster file`);
      await stopPids([state.pid]);
      rmSync(file, { force: true });
      outcomes.push({ key: state.key, action: "stopped", pid: state.pid, address: state.address });
    }
  }
  for (const w of req.workers) {
    const key = safeKey(w.key);
    const file = join(dir, `worker-${key}.json`);
    const joined = JSON.stringify([req.head.address, req.head.pid]);
    const wanted = JSON.stringify({ spec: normalize(w.spec), binary: req.binary, joined });
    const old = readState(file);
    const running = old !== undefined && isClusterProcess(old.pid, "node");
    if (running && old.wanted === wanted) {
      log(`worker ${key} already running at ${old.address} (pid ${old.pid}); left as it is`);
      outcomes.push({ key, action: "kept", pid: old.pid, address: old.address });
      continue;
    }
    // A worker of a head that is gone leaves by itself; one of the running head is stopped only when allowed.
    if (running && old.joined === joined && !req.restart) {
      outcomes.push({
        key,
        action: "refused",
        pid: old.pid,
        address: old.address,
        reason: `worker ${key} (pid ${old.pid}) runs with other settings or another rayts binary and must restart`,
      });
      continue;
    }
    if (running) {
      log(`stopping worker ${key} (pid ${old.pid}) to restart it`);
      await stopPids([old.pid]);
    }
    const session = findSession(req.head.sessionName) ?? createSession();
    const report = await launchDetached(
      "node",
      {
        args: [
          "--join",
          req.head.address,
          "--port",
          String(w.spec.port),
          "--host",
          w.spec.host,
          ...resourceArgs(w.spec),
        ],
        env: { RAYTS_TOKEN: req.head.token },
      },
      session,
    );
    if (report.t !== "ready") throw new RaytsError(`Worker ${key} did not start: ${report.reason}`);
    const address = /at (\S+), joined/.exec(report.banner)?.[1] ?? "";
    const record = readProcessRecords(session).find(
      (r) => r.record.role === "node" && r.record.address === address,
    )?.record;
    if (record === undefined)
      throw new RaytsError(`Worker ${key} started but left no pid record in ${session.dir}`);
    mkdirSync(dir, { recursive: true });
    writeState(file, {
      role: "node",
      key,
      pid: record.pid,
      address,
      wanted,
      sessionName: session.name,
      joined,
    });
    log(`worker ${key} started at ${address} (pid ${record.pid})`);
    outcomes.push({ key, action: running ? "restarted" : "started", pid: record.pid, address });
  }
  return outcomes;
}

/** The running workers that `req` would stop or restart, as refusals (no side effects). */
function workerRefusals(dir: string, req: Extract<AgentRequest, { t: "up-workers" }>): ProcessOutcome[] {
  const out: ProcessOutcome[] = [];
  const keys = new Set(req.workers.map((w) => safeKey(w.key)));
  const joined = JSON.stringify([req.head.address, req.head.pid]);
  for (const { state } of workerStates(dir)) {
    if (!isClusterProcess(state.pid, "node")) continue;
    const w = req.workers.find((x) => safeKey(x.key) === state.key);
    let reason: string | undefined;
    if (!keys.has(state.key)) {
      if (req.prune)
        reason = `worker ${state.key} (pid ${state.pid}) is no longer in the cluster file and must stop`;
    } else if (w !== undefined && state.joined === joined) {
      const wanted = JSON.stringify({ spec: normalize(w.spec), binary: req.binary, joined });
      if (state.wanted !== wanted) {
        reason = `worker ${state.key} (pid ${state.pid}) runs with other settings or another rayts binary and must restart`;
      }
    }
    if (reason !== undefined) {
      out.push({ key: state.key, action: "refused", pid: state.pid, address: state.address, reason });
    }
  }
  return out;
}

async function down(dir: string, log: (line: string) => void): Promise<ProcessOutcome[]> {
  const stopped: ProcessOutcome[] = [];
  const head = readState(join(dir, "head.json"));
  const groups: Array<Array<{ file: string; state: ProcessState }>> = [
    workerStates(dir),
    head === undefined ? [] : [{ file: join(dir, "head.json"), state: head }],
  ];
  for (const group of groups) {
    const live = group.filter(({ state }) => isClusterProcess(state.pid, state.role));
    await stopPids(live.map(({ state }) => state.pid));
    for (const { file } of group) rmSync(file, { force: true });
    for (const { state } of live) {
      log(`stopped ${state.role === "head" ? "the head" : `worker ${state.key}`} (pid ${state.pid})`);
      stopped.push({ key: state.key, action: "stopped", pid: state.pid, address: state.address });
    }
  }
  return stopped;
}

function status(dir: string): AgentResult {
  const head = readState(join(dir, "head.json"));
  const workers = workerStates(dir)
    .filter(({ state }) => isClusterProcess(state.pid, "node"))
    .map(({ state }) => ({
      key: state.key,
      action: "kept" as const,
      pid: state.pid,
      address: state.address,
    }));
  if (head === undefined || !isClusterProcess(head.pid, "head")) return { t: "status", workers };
  const token = head.token ?? readSessionToken(head.sessionName) ?? "";
  return {
    t: "status",
    head: { address: head.address, token, pid: head.pid, sessionName: head.sessionName },
    workers,
  };
}

/** SIGTERM, then SIGKILL after 10 s; removes the shared-memory segments they leave. */
async function stopPids(pids: readonly number[]): Promise<void> {
  const signal = (pid: number, name: NodeJS.Signals) => {
    try {
      process.kill(pid, name);
    } catch {}
  };
  for (const pid of pids) signal(pid, "SIGTERM");
  const deadline = Date.now() + 10_000;
  while (pids.some(isAlive) && Date.now() < deadline) await Bun.sleep(50);
  for (const pid of pids.filter(isAlive)) signal(pid, "SIGKILL");
  while (pids.some(isAlive)) await Bun.sleep(50);
  removeSegments(pids);
}

function resourceArgs(spec: NodeSpec): string[] {
  const args: string[] = [];
  if (spec.numCpus !== undefined) args.push("--num-cpus", String(spec.numCpus));
  if (spec.numGpus !== undefined) args.push("--num-gpus", String(spec.numGpus));
  if (Object.keys(spec.resources).length > 0) args.push("--resources", JSON.stringify(spec.resources));
  if (spec.objectStoreMemory !== undefined)
    args.push("--object-store-memory", String(spec.objectStoreMemory));
  return args;
}

/** The spec with its keys in one order, so equal specs compare equal as JSON. */
function normalize(spec: ProcessSpec): unknown[] {
  const resources = Object.keys(spec.resources)
    .sort()
    .map((k) => [k, spec.resources[k]]);
  return [
    spec.host,
    spec.port,
    spec.numCpus ?? null,
    spec.numGpus ?? null,
    resources,
    spec.objectStoreMemory ?? null,
  ];
}

function safeKey(key: string): string {
  return key.replace(/[^A-Za-z0-9_.-]/g, "_");
}

function workerStates(dir: string): Array<{ file: string; state: ProcessState }> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith("worker-") && n.endsWith(".json"));
  } catch {
    return [];
  }
  const out: Array<{ file: string; state: ProcessState }> = [];
  for (const name of names.sort()) {
    const state = readState(join(dir, name));
    if (state !== undefined) out.push({ file: join(dir, name), state });
  }
  return out;
}

function readSessionToken(sessionName: string): string | undefined {
  const session = findSession(sessionName);
  return session === undefined ? undefined : readToken(session);
}

function readState(file: string): ProcessState | undefined {
  const text = readText(file);
  if (text === undefined) return undefined;
  try {
    const state = JSON.parse(text) as ProcessState;
    return Number.isSafeInteger(state.pid) && typeof state.wanted === "string" ? state : undefined;
  } catch {
    return undefined;
  }
}

function writeState(file: string, state: ProcessState): void {
  const temp = `${file}.tmp`;
  writeFileSync(temp, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
  renameSync(temp, file);
}

function readText(file: string): string | undefined {
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
}
