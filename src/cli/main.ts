/**
 * The `rayts` command: parses the command line and hands over to one command from the table in
 * `commands.ts`. Exit codes: 0 success, 1 the script failed, 2 bad command line.
 */
import type { GlobalOptions } from "./command.ts";
import { findCommand } from "./commands.ts";
import { parseLeadingFlags } from "./global-flags.ts";
import { looksLikeScript } from "./resolve-script.ts";
import { UsageError } from "./usage-error.ts";
import { VERSION_LINE } from "./version.ts";

/**
 * Runs the CLI on `args` (the arguments after the executable). Returns the exit code, or undefined
 * when a script is running and the process must end by itself.
 */
export async function main(args: string[]): Promise<number | undefined> {
  try {
    const { options, help, version, rest } = parseLeadingFlags(args);
    if (version) {
      console.log(VERSION_LINE);
      return 0;
    }
    const [first, ...more] = rest;
    if (help || first === undefined) {
      const { generalHelp } = await import("./help-command.ts");
      if (help) {
        console.log(generalHelp());
        return 0;
      }
      throw new UsageError("Missing script or command");
    }
    return await dispatch(first, more, options);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    console.error(error.toLine());
    return 2;
  }
}

async function dispatch(first: string, more: string[], options: GlobalOptions): Promise<number | undefined> {
  const entry = findCommand(first);
  if (entry) return (await entry.load()).run(more, options);
  const { existsSync } = await import("node:fs");
  if (!looksLikeScript(first) && !existsSync(first)) throw new UsageError(`Unknown command: ${first}`);
  const run = findCommand("run")!;
  return (await run.load()).run(["--", first, ...more], options);
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2));
  if (code !== undefined) process.exit(code);
}
