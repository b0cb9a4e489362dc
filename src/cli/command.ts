/** What every `rayts` command module exports (as `command`), so the dispatcher can load it lazily. */

/** Flags accepted before the command or script, shared by every command. */
export interface GlobalOptions {
  /** `--address HOST:PORT`: the cluster to connect to instead of an embedded one. */
  address?: string;
  /** `--token T`: the cluster's token (default: `RAYTS_TOKEN`, else the local head's token file). */
  token?: string;
}

/**
 * One subcommand. `run` returns the exit code, or `undefined` when the process must stay alive and
 * end by itself (a script runs until its event loop is empty).
 */
export interface Command {
  /** Usage line and description printed by `rayts help NAME` (without a trailing newline). */
  readonly help: string;
  run(args: string[], options: GlobalOptions): Promise<number | undefined>;
}
