/**
 * On a worker, the driver's entry script loads with its driver code blanked out (see
 * `runtime/entry-filter.ts`): its declarations, imports and remote functions are there, its `main()`
 * calls, prints and side effects are not.
 */
import { readFileSync } from "node:fs";
import { driverCodeHolder, stripDriverCode } from "../runtime/entry-filter.ts";

type Loader = "ts" | "tsx" | "js" | "jsx";

function loaderFor(path: string): Loader {
  if (/\.(ts|mts|cts)$/.test(path)) return "ts";
  if (path.endsWith(".tsx")) return "tsx";
  if (path.endsWith(".jsx")) return "jsx";
  return "js";
}

/**
 * Registers an evaluator that runs a direct `eval` inside the module's scope (see `registerScope` in
 * `function-registry.ts`), so closures written in the script are rebuilt with its imports, helpers
 * and top-level constants. It runs first (function declarations are hoisted, imports are already
 * bound), so a later halt of the driver code does not lose it. It goes at the start of line 1 (after
 * a `#!` line), so no other line moves.
 */
const SCOPE_HOOK =
  'globalThis[Symbol.for("rayts.scope")]?.(import.meta.path, (__rayts_src) => eval(__rayts_src));';

function withScopeHook(code: string): string {
  if (!code.startsWith("#!")) return SCOPE_HOOK + code;
  const nl = code.indexOf("\n");
  return nl < 0 ? code : `${code.slice(0, nl + 1)}${SCOPE_HOOK}${code.slice(nl + 1)}`;
}

function parses(code: string, loader: Loader): boolean {
  try {
    new Bun.Transpiler({ loader }).transformSync(code);
    return true;
  } catch {
    return false;
  }
}

const filtered = new Set<string>();

/** True when this thread loads `path` through the entry filter. */
export function isFilteredEntry(path: string): boolean {
  return filtered.has(path);
}

/** Makes this thread load `entryScript` without its top-level driver code (once per path). */
export function installEntryFilter(entryScript: string): void {
  if (filtered.has(entryScript)) return;
  filtered.add(entryScript);
  const exact = new RegExp(`^${entryScript.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}$`);
  Bun.plugin({
    name: "rayts-entry-filter",
    target: "bun",
    setup(build) {
      build.onLoad({ filter: exact }, (args) => {
        const source = readFileSync(args.path, "utf8");
        const loader = loaderFor(args.path);
        const stripped = withScopeHook(stripDriverCode(source));
        // The driver code, blanked in place, is appended as a never-called function (see
        // `driverCodeHolder`), after every line, so no position moves. Should the tokenizer have cut
        // it where it does not parse, the script loads without it (only imports used by driver code
        // alone are then missing).
        const held = stripped + driverCodeHolder(source, "__rayts_driver_code");
        return { contents: parses(held, loader) ? held : stripped, loader };
      });
    },
  });
}
