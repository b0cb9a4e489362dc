/** `rayts run FILE [args…]` (and the shorthand `rayts FILE [args…]`). */
import type { Command, GlobalOptions } from "./command.ts";
import { parseLeadingFlags } from "./global-flags.ts";
import { resolveScript } from "./resolve-script.ts";
import { runScript } from "./run-script.ts";
import { UsageError } from "./usage-error.ts";

const HELP = `Usage: rayts run [--address HOST:PORT] [--token T] FILE [ARGS…]
       rayts [--address HOST:PORT] [--token T] FILE [ARGS…]

Runs FILE (.ts .tsx .mts .js .mjs …) as the driver. Without an address it starts an embedded local
cluster inside the process and tears it down when the script ends. FILE sees ARGS… in process.argv
and may import module "rayts" and its own npm packages. A script with the shebang
"#!/usr/bin/env rayts" and the run bit runs directly: ./job.ts

Options:
  --address HOST:PORT  Connect to this cluster instead (default: $RAYTS_ADDRESS); auto finds the
                       latest head started on this machine
  --token T            The cluster's token (default: $RAYTS_TOKEN, else the local head's token file)

Exit code: the script's (process.exitCode, process.exit(n)); 1 when it throws.`;

/** The `run` command. */
export const command: Command = {
  help: HELP,
  async run(args: string[], globals: GlobalOptions): Promise<number | undefined> {
    const { options, help, version, rest } = parseLeadingFlags(args, "run");
    if (help) {
      console.log(HELP);
      return 0;
    }
    if (version) throw new UsageError("Unknown flag: --version after run", "run");
    const [file, ...scriptArgs] = rest;
    if (file === undefined) throw new UsageError("Missing script: give the FILE to run", "run");
    const path = resolveScript(file);
    const address = options.address ?? globals.address;
    if (address !== undefined) process.env.RAYTS_ADDRESS = address;
    const token = options.token ?? globals.token;
    if (token !== undefined) process.env.RAYTS_TOKEN = token;
    await runScript(path, scriptArgs);
    return undefined;
  },
};
