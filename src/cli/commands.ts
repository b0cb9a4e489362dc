/**
 * The table of `rayts` subcommands. Each lives in its own module, loaded only when it runs, so
 * `rayts --version` never evaluates the runtime. A new command is one more row here.
 */
import type { Command } from "./command.ts";

/** A row of the command table: what `rayts help` lists, and how to load the command. */
export interface CommandEntry {
  readonly name: string;
  /** One line for the `rayts help` list. */
  readonly summary: string;
  readonly load: () => Promise<Command>;
  /** Internal commands (started by rayts itself) are left out of `rayts help`. */
  readonly hidden?: boolean;
}

/** Every command, in the order `rayts help` lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "run",
    summary: "Run a script as the driver (also: rayts FILE)",
    load: async () => (await import("./run-command.ts")).command,
  },
  {
    name: "head",
    summary: "Start a cluster head (--port, --num-cpus, --detach …)",
    load: async () => (await import("./head-command.ts")).command,
  },
  {
    name: "node",
    summary: "Start a node and join a head (--join HOST:PORT)",
    load: async () => (await import("./node-command.ts")).command,
  },
  {
    name: "status",
    summary: "Show the cluster's nodes, resources, pending demand and object-store use",
    load: async () => (await import("./status-command.ts")).command,
  },
  {
    name: "stop",
    summary: "Stop the heads and nodes started on this machine (--force)",
    load: async () => (await import("./stop-command.ts")).command,
  },
  {
    name: "up",
    summary: "Start or update the cluster a CLUSTER.yaml describes (local or ssh provider)",
    load: async () => (await import("./up-command.ts")).command,
  },
  {
    name: "down",
    summary: "Stop the cluster a CLUSTER.yaml describes",
    load: async () => (await import("./down-command.ts")).command,
  },
  {
    name: "exec",
    summary: "Run a command on the head of a CLUSTER.yaml's cluster (-- CMD)",
    load: async () => (await import("./exec-command.ts")).command,
  },
  {
    name: "microbenchmark",
    summary: "Run Ray's microbenchmarks on this machine (--json, --quick, --filter NAME)",
    load: async () => (await import("./microbenchmark-command.ts")).command,
  },
  {
    name: "types",
    summary: "Print the TypeScript declarations of module rayts, for editors",
    load: async () => (await import("./types-command.ts")).command,
  },
  {
    name: "help",
    summary: "Show help for rayts or for one command",
    load: async () => (await import("./help-command.ts")).command,
  },
  {
    name: "__worker-host",
    summary: "Internal: hosts a worker in a runtime environment (started by a node)",
    load: async () => (await import("./worker-host-command.ts")).command,
    hidden: true,
  },
  {
    name: "__launcher-host",
    summary: "Internal: serves rayts up/down/exec on a host of the cluster (started over ssh)",
    load: async () => (await import("./launcher-host-command.ts")).command,
    hidden: true,
  },
];

/** The command named `name`, or undefined. */
export function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((entry) => entry.name === name);
}
