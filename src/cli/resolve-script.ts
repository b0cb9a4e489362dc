/** Turning the FILE argument of `rayts run` into an absolute path, or a clear usage error. */
import { realpathSync, statSync } from "node:fs";
import { extname, resolve } from "node:path";
import { UsageError } from "./usage-error.ts";

/** Extensions `rayts` runs as scripts. Files without an extension (shebang scripts) run as TypeScript. */
export const SCRIPT_EXTENSIONS: readonly string[] = [
  ".ts",
  ".tsx",
  ".mts",
  ".cts",
  ".js",
  ".jsx",
  ".mjs",
  ".cjs",
];

/** True when `arg` names a script rather than a command: it has a script extension or a slash. */
export function looksLikeScript(arg: string): boolean {
  return arg.includes("/") || SCRIPT_EXTENSIONS.includes(extname(arg));
}

/**
 * The absolute path of the script `file` (relative to the current directory). Throws a
 * {@link UsageError} when it does not exist, is not a file, or has an extension rayts cannot run.
 */
export function resolveScript(file: string): string {
  const path = resolve(file);
  let isFile: boolean;
  try {
    isFile = statSync(path).isFile();
  } catch {
    throw new UsageError(`Script not found: ${file}`, "run");
  }
  if (!isFile) throw new UsageError(`Not a script file: ${file} is a directory`, "run");
  const extension = extname(path);
  if (extension !== "" && !SCRIPT_EXTENSIONS.includes(extension)) {
    throw new UsageError(
      `Cannot run ${file}: ${extension} is not one of ${SCRIPT_EXTENSIONS.join(" ")}`,
      "run",
    );
  }
  // The real path: Bun loads a symlinked script from its target, and import.meta.main, the entry
  // filter on workers and function ids all compare paths.
  return realpathSync(path);
}
