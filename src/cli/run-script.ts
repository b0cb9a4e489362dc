/** Running a file as the driver: what `rayts FILE` and `rayts run FILE` do once arguments are parsed. */
import "../runtime/driver-start.ts";
import { installRaytsModule } from "../loader/rayts-module.ts";
import { startDriverAsync } from "../runtime/context.ts";
import { STARTUP_CONCURRENCY_ENV, startupConcurrency } from "../worker/boot-gate.ts";
import { prewarmWorkers } from "../worker/warm-workers.ts";
import { setEntryScript } from "./entry-script.ts";
import { failScript, installScriptLifecycle } from "./script-lifecycle.ts";

/**
 * Imports the script at absolute `path` as the main module with `args` as its arguments
 * (`process.argv` = `[execPath, path, ...args]`, `import.meta.main` true). Resolves once the import
 * settled; the process then lives until the script's work is done (see `script-lifecycle.ts`).
 */
export async function runScript(path: string, args: string[]): Promise<void> {
  installRaytsModule();
  const address = process.env.RAYTS_ADDRESS || undefined;
  // Boot two workers while the script loads; the embedded node adopts them if the script uses rayts
  // (never more than the node boots at once; a bad limit is reported when the node starts).
  if (address === undefined) prewarmWorkers(Math.min(2, prewarmLimit()));
  setEntryScript(path);
  // Connecting is asynchronous: done before the script runs, so scripts that never call init work.
  if (address !== undefined) {
    try {
      await startDriverAsync(undefined, true);
    } catch (error) {
      console.error(`rayts: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    }
  }
  process.argv.splice(0, process.argv.length, process.execPath, path, ...args);
  // Bun derives `import.meta.main` from Bun.main, which is writable for exactly this purpose.
  (Bun as { main: string }).main = path;
  installScriptLifecycle();
  try {
    await import(path);
  } catch (error) {
    failScript(error);
  }
}

/** How many Workers the node will boot at once (none when the variable is bad: the node reports it). */
function prewarmLimit(): number {
  try {
    return startupConcurrency(process.env[STARTUP_CONCURRENCY_ENV]);
  } catch {
    return 0;
  }
}
