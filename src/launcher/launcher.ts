/**
 * `rayts up | down | exec CLUSTER.yaml`: the cluster file's hosts brought to the state it describes.
 *
 * `up` makes rayts runnable on every host (ssh: copies the binary unless the same one is there),
 * applies `file_mounts` and runs the setup commands of each node (skipped when they and the mounted
 * files are unchanged since the last successful run there), then starts the head and the workers,
 * leaving alone every process that already runs as asked. Stopping or restarting a running process
 * (other settings, another binary, a worker no longer listed) needs confirmation (`--yes`). A failed
 * setup command stops `up` naming the node and the command.
 */
import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { RaytsError } from "../errors.ts";
import type { ClusterConfig } from "./cluster-config.ts";
import type { ClusterHost } from "./cluster-host.ts";
import type { AgentRequest, AgentResult, HeadInfo, ProcessOutcome } from "./host-agent.ts";
import { LocalHost } from "./local-host.ts";
import { STDERR, STDOUT } from "./node-output.ts";
import { findRaytsBinary, SshHost } from "./ssh-host.ts";

/** One node of the plan: where it runs and what prepares it. */
interface PlannedNode {
  readonly role: "head" | "worker";
  /** `(head 10.0.0.1) ` */
  readonly prefix: string;
  readonly host: ClusterHost;
  /** Name of its setup stamp on the host. */
  readonly setupKey: string;
  readonly mounts: ReadonlyArray<readonly [string, string]>;
  readonly commands: readonly string[];
}

interface Plan {
  readonly head: PlannedNode;
  /** Per host: the workers it runs (the local provider: `workers.count` of them on one host). */
  readonly workerHosts: ReadonlyArray<{ readonly node: PlannedNode; readonly keys: readonly string[] }>;
  readonly hosts: readonly ClusterHost[];
}

/** Asks the user whether to go on (false: do not). */
export type Confirm = (question: string) => Promise<boolean>;

async function plan(config: ClusterConfig): Promise<Plan> {
  const p = config.provider;
  if (p.type === "local") {
    const host = new LocalHost();
    const head: PlannedNode = {
      role: "head",
      prefix: "(head) ",
      host,
      setupKey: "head",
      mounts: config.fileMounts,
      commands: [...config.setupCommands, ...config.headSetupCommands],
    };
    const keys = Array.from({ length: p.workerCount }, (_, i) => String(i));
    const workers: PlannedNode = {
      role: "worker",
      prefix: "(workers) ",
      host,
      setupKey: "workers",
      mounts: [],
      commands: keys.length === 0 ? [] : config.workerSetupCommands,
    };
    return { head, workerHosts: [{ node: workers, keys }], hosts: [host] };
  }
  const binary = await findRaytsBinary();
  const byAddress = new Map<string, SshHost>();
  const hostOf = (address: string): SshHost => {
    let h = byAddress.get(address);
    if (h === undefined) {
      h = new SshHost(address, p.auth, binary);
      byAddress.set(address, h);
    }
    return h;
  };
  const head: PlannedNode = {
    role: "head",
    prefix: `(head ${p.headIp}) `,
    host: hostOf(p.headIp),
    setupKey: "head",
    mounts: config.fileMounts,
    commands: [...config.setupCommands, ...config.headSetupCommands],
  };
  const workerHosts = p.workerIps.map((ip) => ({
    node: {
      role: "worker" as const,
      prefix: `(worker ${ip}) `,
      host: hostOf(ip),
      setupKey: `worker-${ip}`,
      mounts: config.fileMounts,
      commands: [...config.setupCommands, ...config.workerSetupCommands],
    },
    keys: [ip],
  }));
  return { head, workerHosts, hosts: [...byAddress.values()] };
}

/** `rayts up`. Resolves with the exit code. */
export async function up(config: ClusterConfig, confirm: Confirm): Promise<number> {
  const pl = await plan(config);
  await Promise.all(pl.hosts.map((h) => h.prepare(`(${h.address}) `)));
  const nodes = [pl.head, ...pl.workerHosts.map((w) => w.node)];
  const failures = (await Promise.all(nodes.map((n) => setup(config, n)))).filter((f) => f !== undefined);
  if (failures.length > 0) {
    for (const f of failures) STDERR(`rayts up: ${f}`);
    STDERR("rayts up: stopped before starting rayts; fix the setup and run rayts up again");
    return 1;
  }
  const headReq = (restart: boolean): AgentRequest => ({
    t: "up-head",
    cluster: config.name,
    spec: { ...config.head, host: pl.head.host.address },
    binary: pl.head.host.binary,
    restart,
  });
  let headResult = await pl.head.host.agent(headReq(false), pl.head.prefix);
  if (refused(headResult).length > 0) {
    if (!(await confirmAll(refused(headResult), pl.head.prefix, confirm))) return declined();
    headResult = await pl.head.host.agent(headReq(true), pl.head.prefix);
  }
  if (headResult.t !== "head" || headResult.head === undefined) {
    throw new RaytsError("The head did not start and gave no reason");
  }
  const head = headResult.head;
  const outcomes: ProcessOutcome[] = [headResult.outcome];
  const results = await Promise.all(
    pl.workerHosts.map(async ({ node, keys }) => {
      const req = (restart: boolean): AgentRequest => ({
        t: "up-workers",
        cluster: config.name,
        workers: keys.map((key) => ({
          key,
          spec: { ...config.workers, port: 0, host: node.host.address },
        })),
        head,
        binary: node.host.binary,
        restart,
        prune: true,
      });
      return { node, req, result: await node.host.agent(req(false), node.prefix) };
    }),
  );
  for (const r of results) {
    let result = r.result;
    if (refused(result).length > 0) {
      if (!(await confirmAll(refused(result), r.node.prefix, confirm))) return declined();
      result = await r.node.host.agent(r.req(true), r.node.prefix);
    }
    if (result.t === "workers") outcomes.push(...result.outcomes);
  }
  summary(config, head, outcomes);
  return 0;
}

/** `rayts down`. Resolves with the exit code. */
export async function down(config: ClusterConfig): Promise<number> {
  const pl = await plan(config);
  let stopped = 0;
  const errors: string[] = [];
  // Workers first, so they do not see their head go away and report it; an unreachable host does
  // not keep the others running.
  const workerHosts = pl.hosts.filter((h) => h !== pl.head.host);
  const ask = async (host: ClusterHost, prefix: string) => {
    try {
      const r = await host.agent({ t: "down", cluster: config.name }, prefix);
      if (r.t === "down") stopped += r.stopped.length;
    } catch (err) {
      if (!(err instanceof RaytsError)) throw err;
      errors.push(err.message);
    }
  };
  await Promise.all(workerHosts.map((h) => ask(h, `(${h.address}) `)));
  await ask(pl.head.host, pl.head.prefix);
  if (errors.length > 0) {
    for (const e of errors) STDERR(`rayts down: ${e}`);
    STDERR(
      `rayts down: stopped ${stopped} process${stopped === 1 ? "" : "es"}; the hosts above were not reached`,
    );
    return 1;
  }
  STDOUT(
    stopped === 0
      ? `Nothing of cluster ${config.name} was running`
      : `Stopped cluster ${config.name}: ${stopped} process${stopped === 1 ? "" : "es"}`,
  );
  return 0;
}

/** `rayts exec`: runs `command` on the head with `RAYTS_ADDRESS` set; resolves with its exit code. */
export async function exec(config: ClusterConfig, command: string): Promise<number> {
  const pl = await plan(config);
  const r = await pl.head.host.agent({ t: "status", cluster: config.name }, pl.head.prefix);
  const head = r.t === "status" ? r.head : undefined;
  if (head === undefined) {
    throw new RaytsError(`Cluster ${config.name} has no running head: start it with rayts up ${config.file}`);
  }
  const env: Record<string, string> = { RAYTS_ADDRESS: head.address };
  // On this machine the token may travel in the environment; over ssh the head's own token file serves.
  if (config.provider.type === "local") env.RAYTS_TOKEN = head.token;
  return pl.head.host.exec(command, env);
}

/** Applies a node's mounts and runs its setup commands, unless unchanged; returns a failure's text. */
async function setup(config: ClusterConfig, node: PlannedNode): Promise<string | undefined> {
  if (node.mounts.length === 0 && node.commands.length === 0) return undefined;
  const hash = setupHash(node);
  const stamp = await node.host.agent(
    { t: "setup-get", cluster: config.name, key: node.setupKey },
    node.prefix,
  );
  if (stamp.t === "setup" && stamp.hash === hash) {
    STDOUT(`${node.prefix}setup unchanged since the last run; skipped`);
    return undefined;
  }
  for (const [remote, local] of node.mounts) {
    STDOUT(`${node.prefix}file_mounts: ${local} -> ${remote}`);
    try {
      await node.host.mount(remote, local);
    } catch (err) {
      return `${node.prefix.trim()}: file_mounts ${remote} failed: ${(err as Error).message}`;
    }
  }
  for (const command of node.commands) {
    STDOUT(`${node.prefix}$ ${command}`);
    const r = await node.host.run(command, node.prefix);
    if (r.code !== 0) {
      return `setup failed on ${node.prefix.trim().replace(/^\(|\)$/g, "")}: \`${command}\` exited with code ${r.code}`;
    }
  }
  await node.host.agent({ t: "setup-set", cluster: config.name, key: node.setupKey, hash }, node.prefix);
  return undefined;
}

/** Hash of what a node's setup does: its commands and the contents of its mounted files. */
function setupHash(node: PlannedNode): string {
  const h = createHash("sha256");
  h.update(JSON.stringify(node.commands));
  for (const [remote, local] of node.mounts) {
    h.update(`\0mount\0${remote}\0`);
    hashPath(h, local, "");
  }
  return h.digest("hex");
}

function hashPath(h: ReturnType<typeof createHash>, path: string, rel: string): void {
  const st = statSync(path);
  if (st.isDirectory()) {
    for (const name of readdirSync(path).sort()) hashPath(h, join(path, name), `${rel}/${name}`);
    return;
  }
  h.update(`\0file\0${rel}\0${st.size}\0`);
  h.update(readFileSync(path));
}

function refused(r: AgentResult): ProcessOutcome[] {
  if (r.t === "head") return r.outcome.action === "refused" ? [r.outcome] : [];
  if (r.t === "workers") return r.outcomes.filter((o) => o.action === "refused");
  return [];
}

async function confirmAll(list: ProcessOutcome[], prefix: string, confirm: Confirm): Promise<boolean> {
  const what = list.map((o) => `${prefix}${o.reason}`).join("\n");
  return confirm(`${what}\nGo on and restart or stop ${list.length === 1 ? "it" : "them"}?`);
}

function declined(): number {
  STDERR("rayts up: nothing running was changed; run rayts up CLUSTER.yaml --yes to restart or stop them");
  return 1;
}

function summary(config: ClusterConfig, head: HeadInfo, outcomes: readonly ProcessOutcome[]): void {
  const counts = new Map<string, number>();
  for (const o of outcomes) counts.set(o.action, (counts.get(o.action) ?? 0) + 1);
  const parts = [...counts].map(([action, n]) => `${n} ${action}`).join(", ");
  const local = config.provider.type === "local";
  STDOUT(`Cluster ${config.name} is up: head at ${head.address} (${parts})
  Status:  rayts exec ${config.file} -- rayts status${local ? "   (or: rayts status --address auto)" : ""}
  Run:     ${local ? "rayts --address auto job.ts" : `rayts exec ${config.file} -- rayts job.ts   (on the head)`}
  Stop:    rayts down ${config.file}`);
}
