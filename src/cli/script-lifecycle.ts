/**
 * How a driver script's process ends. The script decides: the process lives until its event loop is
 * empty (the runtime keeps it alive only while a `get`/`wait`/task is pending), then the runtime is
 * shut down once and the process exits with `process.exitCode`. An uncaught error or unhandled
 * rejection is printed with its stack and ends the process with code 1, after the same shutdown, so
 * a failing script does not leave workers or shared memory behind.
 */
import { isInitialized, shutdown } from "../index.ts";

/** How long a shutdown may take before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 10_000;

let installed = false;
let finishing = false;
let failed = false;

/** Shuts the runtime down (if it started) and exits with `code`; later calls do nothing. */
export async function finishScript(code: number): Promise<void> {
  if (finishing) return;
  finishing = true;
  let exitCode = code;
  if (isInitialized()) {
    const timer = setTimeout(() => {
      console.error(`rayts: Shutdown took over ${SHUTDOWN_GRACE_MS} ms: exiting anyway`);
      process.exit(exitCode || 1);
    }, SHUTDOWN_GRACE_MS);
    timer.unref();
    try {
      await shutdown();
    } catch (error) {
      console.error("rayts: Shutdown failed:", error);
      exitCode ||= 1;
    }
    clearTimeout(timer);
  }
  process.exit(failed ? 1 : exitCode);
}

/** Prints a script's uncaught error the way Bun does (message, source line, stack) and exits 1. */
export function failScript(error: unknown): void {
  console.error(error);
  failed = true;
  void finishScript(1);
}

function currentExitCode(): number {
  const code = Number(process.exitCode ?? 0);
  return Number.isInteger(code) ? code : 1;
}

function onSignal(signal: NodeJS.Signals, code: number): void {
  process.on(signal, () => {
    // A script that listens for the signal itself decides when to end.
    if (process.listenerCount(signal) > 1) return;
    void finishScript(code);
  });
}

/**
 * Installs the process-level handlers of a driver script. Called once, before the script is imported.
 * `process.exit(n)` from the script still exits at once with n (nothing async can run then).
 */
export function installScriptLifecycle(): void {
  if (installed) return;
  installed = true;
  // Bun emits beforeExit before `unhandledRejection` for a promise rejected in the loop's last task:
  // decide one turn later, once that event had its chance to mark the script as failed.
  process.on("beforeExit", () => setImmediate(() => void finishScript(currentExitCode())));
  process.on("uncaughtException", failScript);
  process.on("unhandledRejection", failScript);
  onSignal("SIGINT", 130);
  onSignal("SIGTERM", 143);
}
