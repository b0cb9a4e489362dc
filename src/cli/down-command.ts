/** `rayts down CLUSTER.yaml [--yes]`: stops the cluster a cluster file describes. */
import type { Command } from "./command.ts";
import { UsageError } from "./usage-error.ts";

const HELP = `Usage: rayts down CLUSTER.yaml [--yes]

Stops the head and worker nodes that rayts up started for this cluster (on this machine for provider
local, on head_ip and worker_ips over ssh for provider ssh): SIGTERM, then SIGKILL after 10 s, and
removes the shared-memory segments they leave. Other clusters and processes are left alone. Copied
binaries and file_mounts stay, so the next rayts up is quick.

Options:
  --yes, -y   Accepted as on rayts up; down asks nothing, so it changes nothing

Exit code: 0 when nothing of the cluster runs any more; 1 when the file is invalid or a host cannot be
reached; 2 bad command line.`;

/** The `down` command. */
export const command: Command = {
  help: HELP,
  async run(args: string[]): Promise<number> {
    let file: string | undefined;
    for (const arg of args) {
      if (arg === "--help" || arg === "-h") {
        console.log(HELP);
        return 0;
      }
      if (arg === "--yes" || arg === "-y") continue;
      if (arg.startsWith("-")) throw new UsageError(`Unknown flag: ${arg}`, "down");
      if (file !== undefined) throw new UsageError(`Unexpected argument: ${arg}`, "down");
      file = arg;
    }
    if (file === undefined) throw new UsageError("Missing CLUSTER.yaml: give the cluster file", "down");
    const { runLauncher } = await import("../launcher/run-launcher.ts");
    return runLauncher("down", file, (launcher, config) => launcher.down(config));
  },
};
