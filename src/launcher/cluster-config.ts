/**
 * The cluster file of `rayts up | down | exec` (YAML, read with Bun's parser): checked in full before
 * anything starts, so a typo is one clear error naming the key and what to write instead.
 *
 * ```yaml
 * cluster_name: demo
 * provider: { type: ssh, head_ip: 10.0.0.1, worker_ips: [10.0.0.2] }   # or type: local
 * auth: { ssh_user: ubuntu, ssh_private_key: ~/.ssh/id_ed25519, ssh_port: 22 }
 * head: { port: 6380, num_cpus: 0, resources: {} }
 * workers: { count: 2, num_cpus: 2, resources: { side: 1 } }
 * file_mounts: { "~/data": "./data" }
 * setup_commands: [], head_setup_commands: [], worker_setup_commands: []
 * ```
 */
import { readFileSync, statSync } from "node:fs";
import { homedir, userInfo } from "node:os";
import { dirname, isAbsolute, join, resolve } from "node:path";
import { RaytsError } from "../errors.ts";
import { closest } from "../options/_suggest.ts";

/** What one node process is asked to offer (`rayts head` / `rayts node` flags). */
export interface NodeSpec {
  readonly port: number;
  readonly numCpus?: number;
  readonly numGpus?: number;
  readonly resources: Readonly<Record<string, number>>;
  readonly objectStoreMemory?: number;
}

export interface SshAuth {
  readonly user: string;
  /** Absolute path of the private key, or undefined for ssh's own defaults. */
  readonly privateKey: string | undefined;
  readonly port: number;
}

/** A validated cluster file. */
export interface ClusterConfig {
  readonly name: string;
  /** Absolute path of the file (relative local paths are resolved against its folder). */
  readonly file: string;
  readonly provider:
    | { readonly type: "local"; readonly workerCount: number }
    | {
        readonly type: "ssh";
        readonly headIp: string;
        readonly workerIps: readonly string[];
        readonly auth: SshAuth;
      };
  readonly head: NodeSpec;
  readonly workers: Omit<NodeSpec, "port">;
  /** Remote path (may start with `~/`) → absolute local path. */
  readonly fileMounts: ReadonlyArray<readonly [string, string]>;
  readonly setupCommands: readonly string[];
  readonly headSetupCommands: readonly string[];
  readonly workerSetupCommands: readonly string[];
}

const TOP = [
  "cluster_name",
  "provider",
  "auth",
  "head",
  "workers",
  "file_mounts",
  "setup_commands",
  "head_setup_commands",
  "worker_setup_commands",
] as const;
const PROVIDER = ["type", "head_ip", "worker_ips"] as const;
const AUTH = ["ssh_user", "ssh_private_key", "ssh_port"] as const;
const HEAD = ["port", "num_cpus", "num_gpus", "resources", "object_store_memory"] as const;
const WORKERS = ["count", "num_cpus", "num_gpus", "resources", "object_store_memory"] as const;

/** Reads and checks the cluster file at `path`. Throws a {@link RaytsError} naming the problem. */
export function loadClusterConfig(path: string): ClusterConfig {
  const file = resolve(path);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new RaytsError(
      code === "ENOENT"
        ? `${path}: no such file; give the path of a cluster YAML file (see \`rayts help up\`)`
        : `${path}: cannot read it: ${(err as Error).message}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = Bun.YAML.parse(text);
  } catch (err) {
    throw new RaytsError(`${path}: not valid YAML: ${(err as Error).message}`);
  }
  return parseClusterConfig(parsed, file);
}

/** Checks a parsed cluster file (`file` is its absolute path). */
export function parseClusterConfig(value: unknown, file: string): ClusterConfig {
  const where = file;
  const fail = (message: string): never => {
    throw new RaytsError(`${where}: ${message}`);
  };
  const top = object(value, "the file", fail, "a mapping of keys such as cluster_name and provider");
  known(top, TOP, "", fail);
  const name = top.cluster_name;
  if (name === undefined) fail("missing cluster_name: give the cluster a name, e.g. cluster_name: demo");
  if (typeof name !== "string" || !/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(name)) {
    fail(
      `cluster_name must be a name of letters, digits, "_", "." and "-" (up to 63): got ${describe(name)}`,
    );
  }
  const provider = object(
    top.provider ?? fail("missing provider: add provider: { type: local } or { type: ssh, head_ip: … }"),
    "provider",
    fail,
    "a mapping with a type",
  );
  known(provider, PROVIDER, "provider.", fail);
  const type = provider.type;
  if (type !== "local" && type !== "ssh") {
    fail(`provider.type must be local or ssh: got ${describe(type)}`);
  }
  const headRaw = top.head === undefined ? {} : object(top.head, "head", fail, "a mapping");
  known(headRaw, HEAD, "head.", fail);
  const workersRaw = top.workers === undefined ? {} : object(top.workers, "workers", fail, "a mapping");
  known(workersRaw, WORKERS, "workers.", fail);
  const head: NodeSpec = {
    port: port(headRaw.port, "head.port", fail) ?? 6380,
    ...resourcesOf(headRaw, "head.", fail),
  };
  const workers = resourcesOf(workersRaw, "workers.", fail);
  const base = {
    name: name as string,
    file,
    head,
    workers,
    fileMounts: mounts(top.file_mounts, dirname(file), fail),
    setupCommands: commands(top.setup_commands, "setup_commands", fail),
    headSetupCommands: commands(top.head_setup_commands, "head_setup_commands", fail),
    workerSetupCommands: commands(top.worker_setup_commands, "worker_setup_commands", fail),
  };
  if (type === "local") {
    for (const key of ["head_ip", "worker_ips"] as const) {
      if (provider[key] !== undefined)
        fail(`provider.${key} is for the ssh provider; remove it for type: local`);
    }
    if (top.auth !== undefined) fail("auth is for the ssh provider; remove it for type: local");
    const count = workersRaw.count ?? 0;
    if (!Number.isSafeInteger(count) || (count as number) < 0) {
      fail(`workers.count must be a whole number of worker nodes (0 or more): got ${describe(count)}`);
    }
    return { ...base, provider: { type: "local", workerCount: count as number } };
  }
  if (workersRaw.count !== undefined) {
    fail("workers.count is for the local provider; with ssh list the worker hosts in provider.worker_ips");
  }
  const headIp = provider.head_ip;
  if (headIp === undefined)
    fail("missing provider.head_ip: the ssh provider needs the head's host name or IP");
  host(headIp, "provider.head_ip", fail);
  const workerIps = provider.worker_ips ?? [];
  if (!Array.isArray(workerIps))
    fail(`provider.worker_ips must be a list of hosts: got ${describe(workerIps)}`);
  for (const [i, ip] of (workerIps as unknown[]).entries()) host(ip, `provider.worker_ips[${i}]`, fail);
  const seen = new Set<string>();
  for (const ip of workerIps as string[]) {
    if (seen.has(ip)) fail(`provider.worker_ips lists ${ip} twice: give each worker host once`);
    seen.add(ip);
  }
  return {
    ...base,
    provider: {
      type: "ssh",
      headIp: headIp as string,
      workerIps: workerIps as string[],
      auth: auth(top.auth, fail),
    },
  };
}

type Fail = (message: string) => never;

function object(value: unknown, what: string, fail: Fail, expected: string): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return fail(`${what} must be ${expected}: got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function known(value: Record<string, unknown>, keys: readonly string[], prefix: string, fail: Fail): void {
  for (const key of Object.keys(value)) {
    if (keys.includes(key)) continue;
    const guess = closest(key, keys);
    fail(
      `unknown key ${prefix}${key}${guess === undefined ? "" : ` (did you mean ${prefix}${guess}?)`}; known keys: ${keys.map((k) => prefix + k).join(", ")}`,
    );
  }
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `${typeof value} ${JSON.stringify(value)}`;
}

function port(value: unknown, key: string, fail: Fail): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || (value as number) < 0 || (value as number) > 65535) {
    fail(`${key} must be a port number from 0 to 65535 (0 picks a free one): got ${describe(value)}`);
  }
  return value as number;
}

function resourcesOf(raw: Record<string, unknown>, prefix: string, fail: Fail): Omit<NodeSpec, "port"> {
  const out: { -readonly [K in keyof Omit<NodeSpec, "port">]: Omit<NodeSpec, "port">[K] } = { resources: {} };
  const amount = (key: string, whole: boolean): number | undefined => {
    const v = raw[key];
    if (v === undefined) return undefined;
    if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || (whole && !Number.isInteger(v))) {
      fail(`${prefix}${key} must be a ${whole ? "whole" : "non-negative"} number: got ${describe(v)}`);
    }
    return v as number;
  };
  const cpus = amount("num_cpus", false);
  if (cpus !== undefined) out.numCpus = cpus;
  const gpus = amount("num_gpus", true);
  if (gpus !== undefined) out.numGpus = gpus;
  const store = amount("object_store_memory", true);
  if (store !== undefined) out.objectStoreMemory = store;
  if (raw.resources !== undefined) {
    const res = object(raw.resources, `${prefix}resources`, fail, "a mapping of resource names to amounts");
    const copy: Record<string, number> = {};
    for (const [name, v] of Object.entries(res)) {
      if (name === "CPU" || name === "GPU") {
        fail(`${prefix}resources.${name}: set it with ${prefix}num_${name.toLowerCase()}s instead`);
      }
      if (typeof v !== "number" || !Number.isFinite(v) || v < 0) {
        fail(`${prefix}resources.${name} must be a non-negative number: got ${describe(v)}`);
      }
      copy[name] = v as number;
    }
    out.resources = copy;
  }
  return out;
}

function commands(value: unknown, key: string, fail: Fail): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) return fail(`${key} must be a list of shell commands: got ${describe(value)}`);
  return value.map((cmd, i) => {
    if (typeof cmd !== "string" || cmd.trim() === "") {
      fail(`${key}[${i}] must be a non-empty shell command string: got ${describe(cmd)}`);
    }
    return cmd as string;
  });
}

function mounts(value: unknown, base: string, fail: Fail): Array<[string, string]> {
  if (value === undefined || value === null) return [];
  const map = object(
    value,
    "file_mounts",
    fail,
    'a mapping of remote path to local path, e.g. { "~/data": "./data" }',
  );
  return Object.entries(map).map(([remote, local]) => {
    if (remote.trim() === "" || remote.includes("\0")) fail(`file_mounts has an empty remote path`);
    if (typeof local !== "string" || local === "") {
      fail(`file_mounts["${remote}"] must be a local path: got ${describe(local)}`);
    }
    const path = expandHome(local as string);
    const abs = isAbsolute(path) ? path : join(base, path);
    try {
      statSync(abs);
    } catch {
      fail(`file_mounts["${remote}"]: the local path ${abs} does not exist`);
    }
    return [remote, abs];
  });
}

function host(value: unknown, key: string, fail: Fail): void {
  if (typeof value !== "string" || !/^[A-Za-z0-9_.:[\]-]+$/.test(value) || value.startsWith("-")) {
    fail(`${key} must be a host name or IP address: got ${describe(value)}`);
  }
}

function auth(value: unknown, fail: Fail): SshAuth {
  const raw = value === undefined ? {} : object(value, "auth", fail, "a mapping");
  known(raw, AUTH, "auth.", fail);
  const user = raw.ssh_user ?? currentUser();
  if (typeof user !== "string" || !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(user)) {
    fail(`auth.ssh_user must be a user name: got ${describe(user)}`);
  }
  let privateKey: string | undefined;
  if (raw.ssh_private_key !== undefined) {
    if (typeof raw.ssh_private_key !== "string" || raw.ssh_private_key === "") {
      fail(
        `auth.ssh_private_key must be the path of a private key file: got ${describe(raw.ssh_private_key)}`,
      );
    }
    privateKey = resolve(expandHome(raw.ssh_private_key as string));
    try {
      statSync(privateKey);
    } catch {
      fail(`auth.ssh_private_key: no such file ${privateKey}`);
    }
  }
  const sshPort = port(raw.ssh_port, "auth.ssh_port", fail) ?? 22;
  if (sshPort === 0) fail("auth.ssh_port must be the port sshd listens on (1 to 65535): got 0");
  return { user: user as string, privateKey, port: sshPort };
}

/** The user running rayts (`USER`, else the system's answer), the default ssh user. */
function currentUser(): string {
  const fromEnv = process.env.USER || process.env.LOGNAME;
  if (fromEnv) return fromEnv;
  const name = userInfo().username;
  if (name && name !== "unknown") return name;
  const id = Bun.spawnSync(["id", "-un"], { stdout: "pipe", stderr: "ignore" });
  return id.exitCode === 0 ? id.stdout.toString().trim() : name;
}

function expandHome(path: string): string {
  return path === "~" || path.startsWith("~/") ? join(homedir(), path.slice(1)) : path;
}
