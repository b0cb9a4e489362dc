/** `rayts microbenchmark [--json] [--quick] [--filter NAME]…`: Ray's microbenchmarks on this machine. */
import type { Command, GlobalOptions } from "./command.ts";
import { flagValue, UsageError } from "./usage-error.ts";

const HELP = `Usage: rayts microbenchmark [--json] [--quick] [--filter NAME]…

Runs Ray's microbenchmarks (the names and work of "ray microbenchmark") on an embedded local cluster,
or on the cluster --address names. Each metric warms up for about 1 s, then runs 4 trials of at least
2 s, and prints the mean ± standard deviation of the trial rates.

Options:
  --json          Print { "<name>": { "mean", "sd", "unit" } } as the last line
  --quick         A smoke run: short trials and smaller objects (not for comparing figures)
  --filter NAME   Only metrics whose name contains NAME (repeatable)
  --address HOST:PORT  Run against this cluster instead of an embedded one

Exit code: 0 when every selected metric ran, 1 when one failed.`;

/** The `microbenchmark` command. */
export const command: Command = {
  help: HELP,
  async run(args: string[], globals: GlobalOptions): Promise<number> {
    const parsed = parse(args);
    if (parsed === "help") {
      console.log(HELP);
      return 0;
    }
    const address = parsed.address ?? globals.address;
    if (address !== undefined) process.env.RAYTS_ADDRESS = address;
    const { runMicrobenchmarks, selectMetrics } = await import("../bench/run-microbenchmarks.ts");
    if (selectMetrics(parsed.filters).length === 0) {
      throw new UsageError(`No metric matches --filter ${parsed.filters.join(", ")}`, "microbenchmark");
    }
    const { failed } = await runMicrobenchmarks(parsed);
    return failed > 0 ? 1 : 0;
  },
};

interface Parsed {
  json: boolean;
  quick: boolean;
  filters: string[];
  address?: string;
}

function parse(args: string[]): Parsed | "help" {
  const parsed: Parsed = { json: false, quick: false, filters: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--help" || arg === "-h") return "help";
    if (arg === "--json") parsed.json = true;
    else if (arg === "--quick") parsed.quick = true;
    else if (arg === "--filter" || arg.startsWith("--filter=")) {
      const value = arg === "--filter" ? args[++i] : arg.slice("--filter=".length);
      const msg = "Missing value for --filter: give a metric name";
      parsed.filters.push(flagValue("--filter", value, "microbenchmark", msg));
    } else if (arg === "--address" || arg.startsWith("--address=")) {
      const value = arg === "--address" ? args[++i] : arg.slice("--address=".length);
      const msg = "Missing value for --address: give HOST:PORT or auto";
      parsed.address = flagValue("--address", value, "microbenchmark", msg);
    } else throw new UsageError(`Unknown argument: ${arg}`, "microbenchmark");
  }
  return parsed;
}
