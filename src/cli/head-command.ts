/** `rayts head`: starts the cluster's head (control plane plus a node of its own). */
import { parseClusterFlags } from "../cluster/cluster-flags.ts";
import type { Command } from "./command.ts";

const HELP = `Usage: rayts head [--port 6380] [--host 127.0.0.1] [--num-cpus N] [--num-gpus N]
                  [--resources JSON] [--object-store-memory BYTES] [--token T] [--detach]

Starts a head: the cluster's control plane (node membership, failure detection) plus a node of its
own (--num-cpus 0 keeps tasks off it). Prints the address, the token and the commands to join nodes,
run scripts, see the status and stop. Logs, pid and token go to the session directory
$TMPDIR/rayts/session_<time>_<pid>/ (default /tmp/rayts; session_latest points at the newest).

Options:
  --port N                     Port to listen on (default 6380; 0 picks a free one)
  --host H                     Interface to bind (default 127.0.0.1; 0.0.0.0 for other machines)
  --num-cpus N                 CPUs this node offers (default: this machine's)
  --num-gpus N                 GPUs this node offers (default: detected with nvidia-smi)
  --resources JSON             Custom resources, e.g. '{"accel": 2}'
  --object-store-memory BYTES  Size of the node's shared-memory object store (default 30% of RAM)
  --token T                    Cluster token (default: $RAYTS_TOKEN, else a random one)
  --detach                     Run in the background; return once the head is ready

Exit code: 0 when stopped by SIGINT/SIGTERM (or, with --detach, once started); 1 when it cannot start.`;

/** The `head` command. */
export const command: Command = {
  help: HELP,
  async run(args: string[]): Promise<number | undefined> {
    const flags = parseClusterFlags("head", args);
    if (flags.help) {
      console.log(HELP);
      return 0;
    }
    const { runHead } = await import("../cluster/head-process.ts");
    return runHead(flags, args);
  },
};
