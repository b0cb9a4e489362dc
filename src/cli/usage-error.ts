/**
 * A bad command line: the CLI prints the message as one line with a pointer to `rayts help` and
 * exits with code 2.
 *
 * @example
 * throw new UsageError("Unknown flag: --frob", "run");
 * // rayts: Unknown flag: --frob; see `rayts help run`
 */
export class UsageError extends Error {
  override readonly name = "UsageError";
  /** The command whose help the pointer names, or undefined for the general help. */
  readonly command: string | undefined;

  constructor(message: string, command?: string) {
    super(message);
    this.command = command;
  }

  /** The one line printed to stderr. */
  toLine(): string {
    return `rayts: ${this.message}; see \`rayts help${this.command ? ` ${this.command}` : ""}\``;
  }
}
