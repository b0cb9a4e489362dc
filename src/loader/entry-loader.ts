/**
 * On a worker, the driver's entry script loads with its driver code blanked out (see
 * `runtime/entry-filter.ts`): its declarations, imports and remote functions are there, its `main()`
 * calls, prints and side effects are not.
 */
import { readFileSync } from "node:fs";
import { stripDriverCode } from "../runtime/entry-filter.ts";

type Loader = "ts" | "tsx" | "js" | "jsx";

function loaderFor(path: string): Loader {
  if (/\.(ts|mts|cts)$/.test(path)) return "ts";
  if (path.endsWith(".tsx")) return "tsx";
  if (path.endsWith(".jsx")) return "jsx";
  return "js";
}

const filtered = new Set<string>();

/** Makes this thread load `entryScript` without its top-level driver code (once per path). */
export function installEntryFilter(entryScript: string): void {
  if (filtered.has(entryScript)) return;
  filtered.add(entryScript);
  const exact = new RegExp(`^${entryScript.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$`);
  Bun.plugin({
    name: "rayts-entry-filter",
    target: "bun",
    setup(build) {
      build.onLoad({ filter: exact }, (args) => ({
        contents: stripDriverCode(readFileSync(args.path, "utf8")),
        loader: loaderFor(args.path),
      }));
    },
  });
}
