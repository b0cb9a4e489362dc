/** `rayts node --join HOST:PORT`: starts a node and joins it to a head. */
import { parseClusterFlags } from "../cluster/cluster-flags.ts";
import type { Command } from "./command.ts";

const HELP = `Usage: rayts node --join HOST:PORT [--token T] [--port 0] [--host 127.0.0.1] [--num-cpus N]
                  [--num-gpus N] [--resources JSON] [--object-store-memory BYTES] [--detach]

Starts a node (worker pool, scheduler, shared-memory object store) and joins the head at HOST:PORT.
Several nodes may run on one machine: each gets its own port and shared-memory segment. The node
exits with code 1 and the reason when the head refuses its token, goes away, or declares it dead.

Options:
  --join HOST:PORT             The head's address, as rayts head printed it (required)
  --token T                    Cluster token (default: $RAYTS_TOKEN, else the token file of a head
                               at that address on this machine)
  --port N                     Port of this node (default 0: a free one)
  --host H                     Interface to bind (default 127.0.0.1)
  --num-cpus N                 CPUs this node offers (default: this machine's)
  --num-gpus N                 GPUs this node offers (default: detected with nvidia-smi)
  --resources JSON             Custom resources, e.g. '{"accel": 2}'
  --object-store-memory BYTES  Size of the node's shared-memory object store (default 30% of RAM)
  --detach                     Run in the background; return once the node joined

Exit code: 0 when stopped by SIGINT/SIGTERM (or, with --detach, once joined); 1 when it cannot join
or leaves the cluster.`;

/** The `node` command. */
export const command: Command = {
  help: HELP,
  async run(args: string[]): Promise<number | undefined> {
    const flags = parseClusterFlags("node", args);
    if (flags.help) {
      console.log(HELP);
      return 0;
    }
    const { runNode } = await import("../cluster/node-process.ts");
    return runNode(flags, args);
  },
};
