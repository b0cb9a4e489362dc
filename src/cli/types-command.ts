/** `rayts types`: prints the declarations of module `rayts`. */
import type { Command } from "./command.ts";
import { embeddedTypes } from "./embedded-types.ts";
import { parseLeadingFlags } from "./global-flags.ts";
import { UsageError } from "./usage-error.ts";

const HELP = `Usage: rayts types

Prints the TypeScript declarations of module "rayts". Save them in your project so editors and tsc
know the API without node_modules:

  rayts types > rayts.d.ts`;

/** The `types` command. */
export const command: Command = {
  help: HELP,
  async run(args: string[]): Promise<number> {
    const { help, rest } = parseLeadingFlags(args, "types");
    if (help) {
      console.log(HELP);
      return 0;
    }
    if (rest.length > 0) throw new UsageError(`Unexpected argument: ${rest[0]}`, "types");
    process.stdout.write(embeddedTypes());
    return 0;
  },
};
