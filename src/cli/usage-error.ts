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

/**
 * The value given to flag `name` as the next argument, checked: a missing one, or one that is itself
 * a flag (`--address --detach`), is a {@link UsageError} saying `name` needs a value. `missing` is the
 * message for a missing or empty value when the caller has a more helpful one.
 */
export function flagValue(
  name: string,
  value: string | undefined,
  command?: string,
  missing?: string,
): string {
  if (value?.startsWith("--")) throw new UsageError(`${name} needs a value, not the flag ${value}`, command);
  if (value === undefined || value === "") throw new UsageError(missing ?? `${name} needs a value`, command);
  return value;
}
