// Placeholder: the public API lands with the core runtime. Exports here are the contract the CLI uses.
export { ObjectRef } from "./object-ref.ts";
export * from "./errors.ts";

let initialized = false;
/** True once the runtime has started (by `init` or the first API call). */
export function isInitialized(): boolean {
  return initialized;
}
/** Stops the runtime: terminates workers and releases the object store. */
export async function shutdown(): Promise<void> {
  initialized = false;
}
