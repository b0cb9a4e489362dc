/** Parsing of the flags that may precede a command or a script. */
import type { GlobalOptions } from "./command.ts";
import { flagValue, UsageError } from "./usage-error.ts";

/** The result of {@link parseLeadingFlags}: the options, what was asked, and the arguments left. */
export interface LeadingFlags {
  options: GlobalOptions;
  help: boolean;
  version: boolean;
  rest: string[];
}

/**
 * Consumes flags up to the first positional argument (or `--`). Everything after that belongs to
 * the command or the script, so `rayts job.ts --address x` passes `--address x` to the script.
 * `command` names the help page pointed to on errors.
 */
export function parseLeadingFlags(args: string[], command?: string): LeadingFlags {
  const options: GlobalOptions = {};
  let help = false;
  let version = false;
  let i = 0;
  for (; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("-") || arg === "-") break;
    if (arg === "--help" || arg === "-h") help = true;
    else if (arg === "--version" || arg === "-v") version = true;
    else if (arg === "--address" || arg.startsWith("--address=")) {
      const value = arg === "--address" ? args[++i] : arg.slice("--address=".length);
      options.address = parseAddress(
        flagValue("--address", value, command, "Missing value for --address: give HOST:PORT or auto"),
        command,
      );
    } else if (arg === "--token" || arg.startsWith("--token=")) {
      const value = arg === "--token" ? args[++i] : arg.slice("--token=".length);
      options.token = flagValue(
        "--token",
        value,
        command,
        "Missing value for --token: give the token the head printed",
      );
    } else throw new UsageError(`Unknown flag: ${arg}`, command);
  }
  return { options, help, version, rest: args.slice(i) };
}

function parseAddress(value: string, command?: string): string {
  if (value !== "auto" && !/^[^:\s]+:\d{1,5}$/.test(value) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(value)) {
    throw new UsageError(`Invalid --address: ${value}; give HOST:PORT or auto`, command);
  }
  return value;
}
