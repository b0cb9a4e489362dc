/** `rayts help [COMMAND]` and `rayts --help`. */
import type { Command } from "./command.ts";
import { COMMANDS, findCommand } from "./commands.ts";
import { UsageError } from "./usage-error.ts";
import { VERSION_LINE } from "./version.ts";

/** The general help text: usage, the command list, global flags. */
export function generalHelp(): string {
  const shown = COMMANDS.filter((entry) => entry.hidden !== true);
  const width = Math.max(...shown.map((entry) => entry.name.length));
  const lines = shown.map((entry) => `  ${entry.name.padEnd(width)}  ${entry.summary}`);
  return `${VERSION_LINE}: Ray's distributed computing model for TypeScript

Usage: rayts [--address HOST:PORT] FILE [ARGS…]
       rayts COMMAND [ARGS…]

Commands:
${lines.join("\n")}

Flags:
  --address HOST:PORT  Cluster to connect to (default: $RAYTS_ADDRESS, else an embedded cluster)
  -h, --help           Show this help
  -v, --version        Print the version

Run "rayts help COMMAND" for the details of one command.`;
}

/** The `help` command. */
export const command: Command = {
  help: `Usage: rayts help [COMMAND]

Shows the general help, or the help of COMMAND.`,
  async run(args: string[]): Promise<number> {
    const [name, extra] = args;
    if (extra !== undefined) throw new UsageError(`Unexpected argument: ${extra}`, "help");
    if (name === undefined) {
      console.log(generalHelp());
      return 0;
    }
    const entry = findCommand(name);
    if (!entry) throw new UsageError(`Unknown command: ${name}`);
    console.log((await entry.load()).help);
    return 0;
  },
};
