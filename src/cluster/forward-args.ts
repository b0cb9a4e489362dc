/**
 * The command line a detached child gets: the launcher's without `--detach`, and without `--token`,
 * which moves to the environment so the token does not show in the process list.
 */
export function forwardArgs(args: readonly string[]): { args: string[]; env: Record<string, string> } {
  const out: string[] = [];
  const env: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--detach") continue;
    if (arg === "--token") env.RAYTS_TOKEN = args[++i] ?? "";
    else if (arg.startsWith("--token=")) env.RAYTS_TOKEN = arg.slice("--token=".length);
    else out.push(arg);
  }
  return { args: out, env };
}
