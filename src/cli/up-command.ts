/** `rayts up CLUSTER.yaml [--yes]`: starts or updates the cluster a cluster file describes. */
import type { Command } from "./command.ts";
import { UsageError } from "./usage-error.ts";

const HELP = `Usage: rayts up CLUSTER.yaml [--yes]

Starts the cluster described by CLUSTER.yaml, or brings a running one up to date. Provider local: the
head and workers.count nodes run as processes on this machine (rayts status --address auto finds
them). Provider ssh: rayts copies its own binary to head_ip and each of worker_ips (only when that
binary is not there yet), copies file_mounts, runs setup_commands plus head_setup_commands or
worker_setup_commands on each node (output prefixed with the node; skipped when unchanged since the
last successful run), then starts the head and the workers joining it.

up is idempotent: what already runs as asked is left alone. Restarting or stopping something that
runs (other settings, another rayts binary, a worker no longer in the file) asks first.

  cluster_name: demo
  provider: { type: ssh, head_ip: 10.0.0.1, worker_ips: [10.0.0.2] }   # or { type: local }
  auth: { ssh_user: ubuntu, ssh_private_key: ~/.ssh/id_ed25519, ssh_port: 22 }
  head: { port: 6380, num_cpus: 0, resources: {} }   # also num_gpus, object_store_memory
  workers: { count: 2, num_cpus: 2, resources: { side: 1 } }   # count: local only
  file_mounts: { "~/data": "./data" }
  setup_commands: ["npm i -g some-cli"]
  head_setup_commands: []
  worker_setup_commands: []

Options:
  --yes, -y   Restart or stop running processes without asking

Exit code: 0 when the cluster is up; 1 when the file is invalid, a host cannot be reached, a setup
command fails (naming the node and the command) or a process does not start; 2 bad command line.`;

/** The `up` command. */
export const command: Command = {
  help: HELP,
  async run(args: string[]): Promise<number> {
    let file: string | undefined;
    let yes = false;
    for (const arg of args) {
      if (arg === "--help" || arg === "-h") {
        console.log(HELP);
        return 0;
      }
      if (arg === "--yes" || arg === "-y") yes = true;
      else if (arg.startsWith("-")) throw new UsageError(`Unknown flag: ${arg}`, "up");
      else if (file === undefined) file = arg;
      else throw new UsageError(`Unexpected argument: ${arg}`, "up");
    }
    if (file === undefined) throw new UsageError("Missing CLUSTER.yaml: give the cluster file", "up");
    const { runLauncher } = await import("../launcher/run-launcher.ts");
    return runLauncher("up", file, async (launcher, config) =>
      launcher.up(config, async (question) => {
        if (yes) return true;
        const { askYesNo } = await import("../launcher/ask.ts");
        return askYesNo(question);
      }),
    );
  },
};
