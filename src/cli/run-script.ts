/** Running a file as the driver: what `rayts FILE` and `rayts run FILE` do once arguments are parsed. */
import "../runtime/driver-start.ts";
import { installRaytsModule } from "../loader/rayts-module.ts";
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
  // Boot two workers while the script loads; the embedded node adopts them if the script uses rayts.
  prewarmWorkers(2);
  setEntryScript(path);
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
