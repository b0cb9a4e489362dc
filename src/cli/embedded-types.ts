/** The typings of module `rayts` that `build.ts` embeds into the binary. */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

// Replaced by the text of dist/rayts.d.ts at build time (the `define` option of the bundler).
declare const RAYTS_TYPES_DTS: string | undefined;

/** Where the build writes the typings, for runs from sources. */
const BUILT_TYPES = join(import.meta.dir, "..", "..", "dist", "rayts.d.ts");

/**
 * The `.d.ts` text of module `rayts`: embedded in the binary, or read from the last build when
 * running from sources. Throws when running from sources that were never built.
 */
export function embeddedTypes(): string {
  if (typeof RAYTS_TYPES_DTS === "string") return RAYTS_TYPES_DTS;
  if (existsSync(BUILT_TYPES)) return readFileSync(BUILT_TYPES, "utf8");
  throw new Error(`Typings not built: ${BUILT_TYPES} is missing; run \`bun run build\``);
}
