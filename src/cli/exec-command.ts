/** `rayts exec CLUSTER.yaml -- CMD…`: runs a command on the cluster's head. */
import type { Command } from "./command.ts";
import { UsageError } from "./usage-error.ts";

const HELP = `Usage: rayts exec CLUSTER.yaml -- CMD [ARGS…]

Runs CMD on the head of the cluster rayts up started (this machine for provider local, head_ip over
ssh for provider ssh) with RAYTS_ADDRESS set to the head, and rayts on its PATH, so
  rayts exec cluster.yaml -- rayts status
  rayts exec cluster.yaml -- rayts job.ts
work there. One argument is run as a shell command line ("echo $HOME"); several are quoted as words.

Exit code: CMD's; 1 when the file is invalid or the cluster has no running head; 2 bad command line.`;

/** The `exec` command. */
export const command: Command = {
  help: HELP,
  async run(args: string[]): Promise<number> {
    if (args[0] === "--help" || args[0] === "-h") {
      console.log(HELP);
      return 0;
    }
    const dash = args.indexOf("--");
    const before = dash < 0 ? args : args.slice(0, dash);
    const cmd = dash < 0 ? [] : args.slice(dash + 1);
    const [file, extra] = before;
    if (file === undefined || file.startsWith("-")) {
      throw new UsageError(
        file === undefined ? "Missing CLUSTER.yaml: give the cluster file" : `Unknown flag: ${file}`,
        "exec",
      );
    }
    if (extra !== undefined)
      throw new UsageError(`Unexpected argument: ${extra}; put the command after --`, "exec");
    if (cmd.length === 0)
      throw new UsageError("Missing command: give it after --, e.g. -- rayts status", "exec");
    const { runLauncher } = await import("../launcher/run-launcher.ts");
    const { shellQuote } = await import("../launcher/ssh-host.ts");
    const line = cmd.length === 1 ? cmd[0]! : cmd.map(shellQuote).join(" ");
    return runLauncher("exec", file, (launcher, config) => launcher.exec(config, line));
  },
};
