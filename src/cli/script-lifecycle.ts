import { RaytsError } from "../errors.ts";
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

/**
 * Prints a script's uncaught error and exits 1. The script's own errors print the way Bun does
 * (message, source line, stack); rayts errors that came back from a worker print their remote stack
 * and causes as text, since their local frames point into the runtime, not the user's code.
 */
export function failScript(error: unknown): void {
  if (error instanceof Error && (error instanceof RaytsError || thrownByRuntime(error))) {
    process.stderr.write(`${describeChain(error)}\n`);
  } else console.error(error);
  failed = true;
  void finishScript(1);
}

/** True when the error's first stack frame is in rayts' own (bundled) code, not the user's. */
function thrownByRuntime(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const frame = (error.stack ?? "").split("\n").find((l) => /^\s+at /.test(l));
  return frame?.includes("/$bunfs/") ?? false;
}

function describeChain(error: Error): string {
  const parts: string[] = [];
  let e: unknown = error;
  for (let depth = 0; e instanceof Error && depth < 8; depth++) {
    const code = (e as { code?: unknown }).code;
    const text = e.stack?.includes(e.message) ? e.stack : `${e.name}: ${e.message}\n${e.stack ?? ""}`;
    parts.push(
      `${depth === 0 ? "" : "Caused by: "}${text}${typeof code === "string" && depth === 0 ? `\n  code: ${code}` : ""}`,
    );
    e = e.cause;
  }
  return parts.join("\n");
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
