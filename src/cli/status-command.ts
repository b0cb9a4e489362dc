/** `rayts status`: the cluster's nodes, resources, pending demand and object-store use, from the head. */
import type { Command, GlobalOptions } from "./command.ts";
import { flagValue, UsageError } from "./usage-error.ts";

const HELP = `Usage: rayts status [--address HOST:PORT] [--token T] [--format table|json]

Asks the head for the cluster's state: nodes (alive or dead, with their resources), resources used
and total over alive nodes, pending demand (tasks waiting for resources) and object-store use.

Options:
  --address HOST:PORT  The head (default: $RAYTS_ADDRESS, else the latest head on this machine)
  --token T            Cluster token (default: $RAYTS_TOKEN, else the local head's token file)
  --format table|json  Output format (default table)

Exit code: 0 on success; 1 when no head is found or it refuses the token.`;

interface Parsed {
  address?: string;
  token?: string;
  format: "table" | "json";
}

/** The `status` command. */
export const command: Command = {
  help: HELP,
  async run(args: string[], globals: GlobalOptions): Promise<number> {
    const parsed = parse(args);
    if (parsed === "help") {
      console.log(HELP);
      return 0;
    }
    const { fetchStatus } = await import("../cluster/fetch-status.ts");
    const result = await fetchStatus(parsed.address ?? globals.address, parsed.token);
    if (typeof result === "string") {
      console.error(`rayts status: ${result}`);
      return 1;
    }
    if (parsed.format === "json") console.log(JSON.stringify(result, null, 2));
    else {
      const { formatStatus } = await import("../cluster/status-format.ts");
      console.log(formatStatus(result));
    }
    return 0;
  },
};

function parse(args: string[]): Parsed | "help" {
  const parsed: Parsed = { format: "table" };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--help" || arg === "-h") return "help";
    const eq = arg.indexOf("=");
    const name = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    if (name !== "--address" && name !== "--token" && name !== "--format") {
      throw new UsageError(
        arg.startsWith("-") ? `Unknown flag: ${name}` : `Unexpected argument: ${arg}`,
        "status",
      );
    }
    const value = flagValue(name, name !== arg ? arg.slice(eq + 1) : args[++i], "status");
    if (name === "--address") parsed.address = value;
    else if (name === "--token") parsed.token = value;
    else if (value === "table" || value === "json") parsed.format = value;
    else throw new UsageError(`Invalid --format: ${value}; give table or json`, "status");
  }
  return parsed;
}
