/** The command line a detached child gets: the launcher's, without `--detach`. */
export function forwardArgs(args: readonly string[]): string[] {
  return args.filter((arg) => arg !== "--detach");
}
