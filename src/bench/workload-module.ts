/**
 * Loads `workloads.ts` so that workers can import it too. Workers find remote code by importing the
 * module that called `remote()`, and the runtime skips its own sources (and everything inside the
 * compiled binary) when it looks for that module. So the workload source is embedded as text, written
 * to a temp directory at run time and imported from there; `rayts` inside it resolves to the running
 * runtime on the driver and on every worker.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installRaytsModule } from "../loader/rayts-module.ts";
import * as embedded from "./workloads.ts" with { type: "text" };
import type * as Workloads from "./workloads.ts";

/** The loaded workload module; disposing it removes its temp directory. */
export interface LoadedWorkloads extends Disposable {
  readonly workloads: typeof Workloads;
}

/**
 * Writes the workload module to a fresh temp directory and imports it.
 *
 * @example
 * using loaded = await loadWorkloads();
 * await get(loaded.workloads.small.remote());
 */
export async function loadWorkloads(): Promise<LoadedWorkloads> {
  installRaytsModule();
  // Bun's text loader yields the file's source as the default export; tsc sees the module's own types.
  const source = (embedded as unknown as { default: string }).default;
  const dir = mkdtempSync(join(tmpdir(), "rayts-bench-"));
  const path = join(dir, "workloads.ts");
  writeFileSync(path, source);
  const workloads = (await import(path)) as typeof Workloads;
  return {
    workloads,
    [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }),
  };
}
