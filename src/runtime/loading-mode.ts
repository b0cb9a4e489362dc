/**
 * Driver code never runs twice. A worker imports user modules to find their remote functions, which
 * also evaluates what the entry filter keeps of their top level. On a worker, every legitimate API
 * call comes from a task or actor method (which run inside a task context); a call from outside any
 * task is that driver code, so `.remote()`, `put` and actor creation submit nothing and return refs
 * and handles that lead nowhere (the module evaluates on, so later definitions register), and
 * `get`/`wait` never settle. `init` stays a no-op.
 */
let worker = false;
let inTask: () => boolean = () => true;
let onHalt: () => void = () => {};

/** Thrown (and swallowed) to stop a module's driver code on a worker. */
export class DriverCodeHalted extends Error {
  constructor() {
    super("Driver code does not run on workers");
    this.name = "DriverCodeHalted";
  }
}

/** Called once by the Worker entry. */
export function markWorkerThread(isInTask: () => boolean, halted: () => void): void {
  worker = true;
  inTask = isInTask;
  onHalt = halted;
}

/** True when the calling code is a module's driver code re-evaluated on a worker. */
export function isDriverCodeOnWorker(): boolean {
  return worker && !inTask();
}

/** For `.remote()` and `put`: throws when called from driver code on a worker. */
export function haltIfLoading(): void {
  if (!worker || inTask()) return;
  onHalt();
  throw new DriverCodeHalted();
}

/** For `get`/`wait`: a promise that never settles when called from driver code on a worker. */
export function haltedPromise<T>(): Promise<T> | undefined {
  if (!worker || inTask()) return undefined;
  onHalt();
  return new Promise<T>(() => {});
}
