/**
 * The command line that starts this same program again: the binary alone when compiled, the runtime
 * plus the CLI entry file when run from source (`bun src/cli/main.ts`).
 */

/** `[executable, …]` to which a subcommand and its arguments are appended. */
export function selfCommand(): string[] {
  const entry = process.argv[1];
  const compiled =
    entry === undefined || entry.startsWith("/$bunfs/") || import.meta.path.startsWith("/$bunfs/");
  return compiled ? [process.execPath] : [process.execPath, entry];
}
