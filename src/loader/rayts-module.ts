/**
 * Module `rayts` for user files: a runtime Bun plugin that answers `import … from "rayts"` with this
 * thread's own instance of `src/index.ts`, so scripts need no `node_modules` and share the runtime's
 * state (one `isInitialized()`, one object store handle, the same `ObjectRef` class for `instanceof`).
 */
import * as rayts from "../public-api.ts";

let installed = false;

/**
 * Registers module `rayts` for every module loaded afterwards on this thread. Idempotent. Plugins are
 * per thread: the CLI calls it before importing the entry script, and the Worker entry calls it before
 * importing user code.
 *
 * @example
 * installRaytsModule();
 * await import("/abs/path/job.ts"); // job.ts may `import { remote, get } from "rayts"`
 */
export function installRaytsModule(): void {
  if (installed) return;
  installed = true;
  Bun.plugin({
    name: "rayts-module",
    target: "bun",
    setup(build) {
      build.module("rayts", () => ({ exports: rayts, loader: "object" }));
    },
  });
}
