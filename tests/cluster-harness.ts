/**
 * Real clusters for integration tests: a head and nodes as processes of `dist/rayts` on port 0, each
 * cluster with a temp directory of its own as `TMPDIR` (so its session directory, `rayts status` and
 * `rayts stop` see only it). Disposing kills every process it started, including detached ones found
 * through the session directory, and removes the shared-memory segments they left.
 *
 * @example
 * await using cluster = await startCluster({ numCpus: 1 });
 * const node = await cluster.addNode({ numCpus: 2 });
 * const status = await cluster.waitForStatus((s) => s.nodes.length === 2);
 */
import { readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { ClusterStatus } from "../src/cluster/cluster-protocol.ts";
import { isAlive } from "../src/cluster/process-alive.ts";
import {
  RAYTS_BIN,
  type RunOptions,
  type RunResult,
  runRayts,
  type TempDir,
  tempDir,
  testEnv,
} from "./harness.ts";

/** Object store of each test process: small, so many nodes fit on one machine. */
export const TEST_STORE_BYTES = 64 * 1024 * 1024;

/** A head or node process started by the harness, with its output captured line by line. */
export class ClusterProcess {
  readonly proc: Subprocess<"ignore", "pipe", "pipe">;
  readonly #stdout: string[] = [];
  readonly #stderr: string[] = [];
  readonly #waiters = new Set<() => void>();

  constructor(proc: Subprocess<"ignore", "pipe", "pipe">) {
    this.proc = proc;
    void this.#pump(proc.stdout, this.#stdout);
    void this.#pump(proc.stderr, this.#stderr);
    void proc.exited.then(() => this.#wake());
  }

  get pid(): number {
    return this.proc.pid;
  }

  get stdout(): string {
    return this.#stdout.join("");
  }

  get stderr(): string {
    return this.#stderr.join("");
  }

  /** Resolves with the first match of `pattern` in stdout; rejects when the process exits first or at the deadline. */
  async waitForOutput(pattern: RegExp, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = this.stdout.match(pattern);
      if (match !== null) return match;
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
        throw new Error(
          `The process exited (${this.proc.exitCode ?? this.proc.signalCode}) before printing ${pattern}\nstdout: ${this.stdout}\nstderr: ${this.stderr}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `No ${pattern} within ${timeoutMs} ms\nstdout: ${this.stdout}\nstderr: ${this.stderr}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done() {
          clearTimeout(timer);
          resolve();
        }
        this.#waiters.add(done);
      });
    }
  }

  /** Sends `signal` (ignored when the process is gone). */
  kill(signal: NodeJS.Signals = "SIGKILL"): void {
    try {
      process.kill(this.proc.pid, signal);
    } catch {}
  }

  async #pump(stream: ReadableStream<Uint8Array>, into: string[]): Promise<void> {
    const decoder = new TextDecoder();
    for await (const chunk of stream) {
      into.push(decoder.decode(chunk, { stream: true }));
      this.#wake();
    }
  }

  #wake(): void {
    const waiters = [...this.#waiters];
    this.#waiters.clear();
    for (const wake of waiters) wake();
  }
}

/** A node started by {@link TestCluster.addNode}. */
export interface TestNode extends ClusterProcess {
  readonly nodeId: string;
  readonly address: string;
}

/** Options of {@link startCluster}. */
export interface ClusterOptions {
  /** CPUs of the head's own node (default 1). */
  numCpus?: number;
  /** More flags for `rayts head`. */
  headArgs?: string[];
  /** More environment variables for the head process. */
  headEnv?: Record<string, string>;
}

/** Options of {@link TestCluster.addNode}. */
export interface NodeOptions {
  numCpus?: number;
  resources?: Record<string, number>;
  /** Token to join with (default: the cluster's). */
  token?: string;
  /** More flags for `rayts node`. */
  args?: string[];
  /** Working directory of the node process (default: the test's). */
  cwd?: string;
  /** More environment variables for the node process. */
  env?: Record<string, string>;
}

/**
 * A temp directory used as `TMPDIR` by every process started through it, so session directories,
 * discovery and `rayts stop` see only this sandbox. Dispose kills what it started (and what the
 * session directories record) and removes their shared-memory segments.
 */
export class Sandbox implements AsyncDisposable {
  readonly dir: TempDir;
  readonly #processes: ClusterProcess[] = [];

  constructor(dir: TempDir = tempDir("rayts-cluster-")) {
    this.dir = dir;
  }

  /** The environment of every process of this sandbox (its own `TMPDIR`). */
  env(extra: Record<string, string> = {}): Record<string, string> {
    return testEnv({ TMPDIR: this.dir.path, ...extra });
  }

  /** Spawns `rayts args…` here (in `cwd`, with `env` added), output captured; killed on dispose. */
  spawn(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): ClusterProcess {
    const proc = Bun.spawn([RAYTS_BIN, ...args], {
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      env: this.env(options.env),
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    });
    return this.adopt(new ClusterProcess(proc));
  }

  /** Makes `process` one this sandbox kills on dispose. */
  adopt(process: ClusterProcess): ClusterProcess {
    this.#processes.push(process);
    return process;
  }

  /** Runs a `rayts` command to completion here. */
  rayts(args: string[], options: RunOptions = {}): Promise<RunResult> {
    return runRayts(args, { ...options, env: { TMPDIR: this.dir.path, ...options.env } });
  }

  /** Pids recorded in this sandbox's session directories (detached processes included). */
  recordedPids(): number[] {
    const root = join(this.dir.path, "rayts");
    const pids: number[] = [];
    let sessions: string[] = [];
    try {
      sessions = readdirSync(root).filter((name) => name.startsWith("session_") && name !== "session_latest");
    } catch {}
    for (const session of sessions) {
      let files: string[] = [];
      try {
        files = readdirSync(join(root, session, "pids"));
      } catch {}
      for (const file of files) {
        try {
          pids.push(
            (JSON.parse(readFileSync(join(root, session, "pids", file), "utf8")) as { pid: number }).pid,
          );
        } catch {}
      }
    }
    return pids;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    const pids = new Set([...this.#processes.map((p) => p.pid), ...this.recordedPids()]);
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {}
    }
    await Promise.all(this.#processes.map((p) => p.proc.exited));
    for (const pid of pids) await waitGone(pid);
    removeSegmentsOf([...pids]);
    await this.dir[Symbol.asyncDispose]();
  }
}

/** A running head plus the nodes added to it; dispose with `await using`. */
export class TestCluster extends Sandbox {
  readonly head: ClusterProcess;
  readonly address: string;
  readonly token: string;

  constructor(dir: TempDir, head: ClusterProcess, address: string, token: string) {
    super(dir);
    this.head = this.adopt(head);
    this.address = address;
    this.token = token;
  }

  /** Starts `rayts node --join` in the foreground and waits until it joined. */
  async addNode(options: NodeOptions = {}): Promise<TestNode> {
    const node = this.spawn(nodeArgs(this.address, options), { cwd: options.cwd, env: options.env });
    const match = await node.waitForOutput(/Started rayts node (\w+) at (\S+),/);
    return Object.assign(node, { nodeId: match[1]!, address: match[2]! }) as TestNode;
  }

  /** `rayts status --format json` against this cluster. */
  async status(): Promise<ClusterStatus> {
    const { code, stdout, stderr } = await this.rayts([
      "status",
      "--format",
      "json",
      "--address",
      this.address,
    ]);
    if (code !== 0) throw new Error(`rayts status exited ${code}: ${stderr}`);
    return JSON.parse(stdout) as ClusterStatus;
  }

  /** Polls the status until `predicate` holds; throws with the last status at the deadline. */
  async waitForStatus(
    predicate: (status: ClusterStatus) => boolean,
    timeoutMs = 15_000,
  ): Promise<ClusterStatus> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const status = await this.status();
      if (predicate(status)) return status;
      if (Date.now() > deadline) {
        throw new Error(
          `The cluster did not reach the state within ${timeoutMs} ms: ${JSON.stringify(status)}`,
        );
      }
      await Bun.sleep(200);
    }
  }
}

/** The arguments of `rayts` running `script args…` as a driver connected to `cluster`. */
export function driverArgs(cluster: TestCluster, script: string, ...args: string[]): string[] {
  return ["--address", cluster.address, "--token", cluster.token, script, ...args];
}

/**
 * The JSON a driver printed on its `REPORT {json}` line, from its run or from its stdout alone.
 * Given a run, throws with the exit code, stderr and stdout when the driver failed or printed no
 * report, so a failing test shows why; given stdout alone (a driver still running, or one whose exit
 * the test checks itself), throws only when there is no report.
 */
// biome-ignore lint/suspicious/noExplicitAny: the report is whatever JSON the job printed.
export function reportOf<T = any>(run: { code: number; stdout: string; stderr: string } | string): T {
  const stdout = typeof run === "string" ? run : run.stdout;
  const line = stdout.split("\n").find((l) => l.startsWith("REPORT "));
  if (typeof run === "string") {
    if (line === undefined) throw new Error(`No report in the driver's output: ${stdout}`);
  } else if (run.code !== 0 || line === undefined) {
    throw new Error(
      `The job exited ${run.code} without a report\n--- stderr\n${run.stderr}\n--- stdout\n${run.stdout}`,
    );
  }
  try {
    return JSON.parse((line as string).slice("REPORT ".length)) as T;
  } catch (err) {
    throw new Error(`The job's REPORT line is not JSON (${(err as Error).message}): ${line}`);
  }
}

/** How many times each node id occurs in `nodes`. */
export function countsOf(nodes: Iterable<string>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const n of nodes) out[n] = (out[n] ?? 0) + 1;
  return out;
}

/** Starts a head on port 0 and waits until it printed its address and token. */
export async function startCluster(options: ClusterOptions = {}): Promise<TestCluster> {
  const dir = tempDir("rayts-cluster-");
  const proc = Bun.spawn(
    [
      RAYTS_BIN,
      "head",
      "--port",
      "0",
      "--num-cpus",
      String(options.numCpus ?? 1),
      "--object-store-memory",
      String(TEST_STORE_BYTES),
      ...(options.headArgs ?? []),
    ],
    {
      env: testEnv({ TMPDIR: dir.path, ...options.headEnv }),
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const head = new ClusterProcess(proc);
  try {
    const [, address] = await head.waitForOutput(/Started rayts head at (\S+)/);
    const [, token] = await head.waitForOutput(/Token:\s+(\S+)/);
    return new TestCluster(dir, head, address!, token!);
  } catch (err) {
    head.kill();
    await proc.exited;
    removeSegmentsOf([proc.pid]);
    dir[Symbol.dispose]();
    throw err;
  }
}

/** The arguments of `rayts node` joining `address`. */
export function nodeArgs(address: string, options: NodeOptions = {}): string[] {
  return [
    "node",
    "--join",
    address,
    "--port",
    "0",
    "--num-cpus",
    String(options.numCpus ?? 1),
    "--object-store-memory",
    String(TEST_STORE_BYTES),
    ...(options.token === undefined ? [] : ["--token", options.token]),
    ...(options.resources === undefined ? [] : ["--resources", JSON.stringify(options.resources)]),
    ...(options.args ?? []),
  ];
}

async function waitGone(pid: number): Promise<void> {
  for (let i = 0; i < 200 && isAlive(pid); i++) await Bun.sleep(25);
}

/** Removes `/dev/shm/rayts_<pid>_*` of processes that are gone (a SIGKILLed node leaves its segment). */
export function removeSegmentsOf(pids: readonly number[]): void {
  let names: string[];
  try {
    names = readdirSync("/dev/shm");
  } catch {
    return;
  }
  for (const name of names) {
    if (pids.some((pid) => name.startsWith(`rayts_${pid}_`))) rmSync(join("/dev/shm", name), { force: true });
  }
}
