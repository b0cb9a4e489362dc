/**
 * The command lines of `rayts head` and `rayts node`: one parser for the flags they share, checked
 * up front so a typo exits with code 2 and a reason before anything starts.
 */
import { flagValue, UsageError } from "../cli/usage-error.ts";

/** What a head or node process is asked to provide. */
export interface ResourceFlags {
  numCpus?: number;
  numGpus?: number;
  resources?: Record<string, number>;
  objectStoreMemory?: number;
}

/** Parsed flags of `rayts head` / `rayts node`. */
export interface ClusterFlags extends ResourceFlags {
  help: boolean;
  host: string;
  port: number;
  token?: string;
  detach: boolean;
  /** `rayts node` only: the head's `HOST:PORT`. */
  join?: string;
}

type Role = "head" | "node";

const VALUE_FLAGS: Record<Role, readonly string[]> = {
  head: ["--port", "--host", "--num-cpus", "--num-gpus", "--resources", "--object-store-memory", "--token"],
  node: [
    "--join",
    "--port",
    "--host",
    "--num-cpus",
    "--num-gpus",
    "--resources",
    "--object-store-memory",
    "--token",
  ],
};

/** Parses `args` of `rayts <role>`. Throws {@link UsageError} for anything it does not accept. */
export function parseClusterFlags(role: Role, args: readonly string[]): ClusterFlags {
  const flags: ClusterFlags = {
    help: false,
    host: "127.0.0.1",
    port: role === "head" ? 6380 : 0,
    detach: false,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--help" || arg === "-h") {
      flags.help = true;
      continue;
    }
    if (arg === "--detach") {
      flags.detach = true;
      continue;
    }
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    if (!VALUE_FLAGS[role].includes(name)) {
      throw new UsageError(
        arg.startsWith("-") ? `Unknown flag: ${name}` : `Unexpected argument: ${arg}`,
        role,
      );
    }
    apply(flags, role, name, flagValue(name, eq > 0 && name !== arg ? arg.slice(eq + 1) : args[++i], role));
  }
  if (role === "node" && flags.join === undefined && !flags.help) {
    throw new UsageError("Missing --join HOST:PORT: give the address rayts head printed", role);
  }
  return flags;
}

function apply(flags: ClusterFlags, role: Role, name: string, value: string): void {
  switch (name) {
    case "--port": {
      const port = number(role, name, value);
      if (!Number.isInteger(port) || port > 65535)
        throw new UsageError(`Invalid --port: ${value}; give 0 to 65535`, role);
      flags.port = port;
      return;
    }
    case "--host":
      flags.host = value;
      return;
    case "--num-cpus":
      flags.numCpus = number(role, name, value);
      return;
    case "--num-gpus":
      flags.numGpus = number(role, name, value);
      if (!Number.isInteger(flags.numGpus))
        throw new UsageError(`Invalid --num-gpus: ${value}; give a whole number`, role);
      return;
    case "--object-store-memory": {
      const bytes = number(role, name, value);
      if (!Number.isSafeInteger(bytes))
        throw new UsageError(`Invalid ${name}: ${value}; give a whole number of bytes`, role);
      flags.objectStoreMemory = bytes;
      return;
    }
    case "--resources":
      flags.resources = resources(role, value);
      return;
    case "--token":
      flags.token = value;
      return;
    case "--join":
      if (!/^[^:\s]+:\d{1,5}$/.test(value) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(value)) {
        throw new UsageError(`Invalid --join: ${value}; give the HOST:PORT rayts head printed`, role);
      }
      flags.join = value;
      return;
  }
}

function number(role: Role, name: string, value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !Number.isFinite(n) || n < 0) {
    throw new UsageError(`Invalid ${name}: ${value}; give a non-negative number`, role);
  }
  return n;
}

function resources(role: Role, value: string): Record<string, number> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new UsageError(`Invalid --resources: ${value} is not JSON; give e.g. '{"accel": 2}'`, role);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new UsageError(`Invalid --resources: give a JSON object of amounts, e.g. '{"accel": 2}'`, role);
  }
  const out: Record<string, number> = {};
  for (const [key, amount] of Object.entries(parsed)) {
    if (key === "CPU" || key === "GPU") {
      throw new UsageError(
        `Invalid --resources: ${key} is set with --num-${key.toLowerCase()}s, not here`,
        role,
      );
    }
    if (typeof amount !== "number" || !Number.isFinite(amount) || amount < 0) {
      throw new UsageError(`Invalid --resources: ${key} must be a non-negative number`, role);
    }
    out[key] = amount;
  }
  return out;
}
