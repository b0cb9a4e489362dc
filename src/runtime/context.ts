/**
 * The runtime of this thread. On the driver, the first API call (or `init`) starts the embedded
 * cluster: a head and one node in this process, workers as Bun Workers. On a worker, the Worker entry
 * installs a runtime that talks to its node over the message channel.
 */
import { RaytsError } from "../errors.ts";
import type { Head } from "../head.ts";
import type { Node } from "../node.ts";
import type { InitOptions } from "../options/types.ts";
import type { Core } from "./core.ts";

let core: Core | undefined;
let embedded: { readonly head: Head; readonly node: Node } | undefined;

/** Installs the runtime of a worker thread. */
export function setCore(c: Core): void {
  core = c;
}

export function currentCore(): Core | undefined {
  return core;
}

/** This thread's runtime, starting the embedded cluster on the driver when none runs yet. */
export function ensureCore(): Core {
  if (core === undefined) return startDriver(undefined);
  if (startedByCli) usedBeforeInit = true;
  return core;
}

/** The embedded node (driver only), for tests and status. */
export function embeddedNode(): Node | undefined {
  return embedded?.node;
}

/** Starts the driver's runtime (installed by driver-start.ts, which workers never load). */
export function startDriver(options: InitOptions | undefined): Core {
  if (core !== undefined)
    throw new RaytsError("Already initialized: call shutdown() first, or drop the second init()");
  if (starter === undefined) {
    throw new RaytsError(
      "Cannot start a driver here: this thread is a worker; call rayts from a task instead",
    );
  }
  return install(starter(options));
}

function install(started: StartedDriver): Core {
  core = started.core;
  embedded = started.embedded;
  stopStarted = started.stop;
  return started.core;
}

let connecting: Promise<StartedDriver> | undefined;
/** The CLI connected before the script ran: the script's own first `init()` adopts that runtime. */
let startedByCli = false;
/** The script used the CLI's connection before its own `init()`: options can no longer apply. */
let usedBeforeInit = false;

/**
 * Starts the driver's runtime the way `init` does: connected to a running cluster when an address is
 * given (`options.address`, else `RAYTS_ADDRESS`), else the embedded cluster. `byCli` marks the
 * connection `rayts --address` makes before importing the script.
 */
export async function startDriverAsync(options: InitOptions | undefined, byCli = false): Promise<Core> {
  if (core !== undefined && startedByCli && !byCli) {
    startedByCli = false;
    // The script's own init() with options (namespace, runtimeEnv, logToDriver, another address…)
    // applies them: the connection the CLI made with none is replaced by one made with them.
    if (!hasOptions(options)) return core;
    if (usedBeforeInit) {
      throw new RaytsError(
        "Already initialized: the script used rayts before init(), so its options cannot apply any more; call await init({ … }) before any other rayts call",
      );
    }
    stopDriver();
  }
  const address = options?.address ?? (process.env.RAYTS_ADDRESS || undefined);
  if (address === undefined || connector === undefined) return startDriver(options);
  if (core !== undefined || connecting !== undefined)
    throw new RaytsError("Already initialized: call shutdown() first, or drop the second init()");
  connecting = connector(options);
  try {
    const started = install(await connecting);
    startedByCli = byCli;
    return started;
  } finally {
    connecting = undefined;
  }
}

/** True when `options` sets anything (an empty object or only undefined values set nothing). */
function hasOptions(options: InitOptions | undefined): boolean {
  return options !== undefined && Object.values(options).some((v) => v !== undefined);
}

/** What starting a driver makes. */
export interface StartedDriver {
  readonly core: Core;
  readonly embedded: { readonly head: Head; readonly node: Node } | undefined;
  /** Ends what the start made besides the core (a connection to a cluster). */
  readonly stop?: () => void;
}

let starter: ((options: InitOptions | undefined) => StartedDriver) | undefined;

/** Installs how this thread starts a driver runtime. */
export function setDriverStarter(fn: (options: InitOptions | undefined) => StartedDriver): void {
  starter = fn;
}

let connector: ((options: InitOptions | undefined) => Promise<StartedDriver>) | undefined;

/** Installs how this thread connects a driver to a running cluster. */
export function setDriverConnector(fn: (options: InitOptions | undefined) => Promise<StartedDriver>): void {
  connector = fn;
}

let stopStarted: (() => void) | undefined;

/** Stops the driver's runtime and the embedded cluster (or its connection to a cluster). */
export function stopDriver(): void {
  startedByCli = false;
  usedBeforeInit = false;
  const c = core;
  core = undefined;
  c?.close();
  embedded?.node.close();
  embedded = undefined;
  const stop = stopStarted;
  stopStarted = undefined;
  stop?.();
}
