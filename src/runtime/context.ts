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
  return core ?? startDriver(undefined);
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
  const started = starter(options);
  core = started.core;
  embedded = started.embedded;
  return started.core;
}

/** What starting a driver makes. */
export interface StartedDriver {
  readonly core: Core;
  readonly embedded: { readonly head: Head; readonly node: Node } | undefined;
}

let starter: ((options: InitOptions | undefined) => StartedDriver) | undefined;

/** Installs how this thread starts a driver runtime. */
export function setDriverStarter(fn: (options: InitOptions | undefined) => StartedDriver): void {
  starter = fn;
}

/** Stops the driver's runtime and the embedded cluster. */
export function stopDriver(): void {
  const c = core;
  core = undefined;
  c?.close();
  embedded?.node.close();
  embedded = undefined;
}
