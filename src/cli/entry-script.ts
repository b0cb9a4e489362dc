/**
 * The driver's entry script, recorded by `rayts run` before the script is imported, so the runtime
 * can tell workers which module to load remote functions from (and build the job's code package).
 */

let entryScript: string | undefined;

/** Records the absolute path of the script `rayts` is running as the driver. */
export function setEntryScript(path: string): void {
  entryScript = path;
}

/**
 * The absolute path of the driver's entry script, or `undefined` when no script runs through the
 * CLI (tests importing `src/index.ts` directly, workers).
 */
export function getEntryScript(): string | undefined {
  return entryScript;
}
