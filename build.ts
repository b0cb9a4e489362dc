/**
 * Builds everything `rayts` needs: the native object store library, the typings of module `rayts`
 * (`dist/rayts.d.ts`) and the single executable `dist/rayts`, which embeds both plus every Worker
 * entry. Run with `bun run build` (or `bun build.ts`); `npm install` runs `bun build.ts --if-stale`
 * from `postinstall`.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { buildNative } from "./native/build.ts";
import { isBuildStale } from "./scripts/build-staleness.ts";
import { generateTypes } from "./scripts/generate-types.ts";

/** The project root (this file's directory). */
export const PROJECT_DIR: string = import.meta.dir;

/** The CLI entry point, relative to the project root. */
export const CLI_ENTRY = "src/cli/main.ts";

/**
 * Every module started with `new Worker(…)`, relative to the project root. Each becomes an extra entry
 * point of the executable, stored at `/$bunfs/root/<path>.js` (see `src/worker/worker-url.ts`).
 */
export const WORKER_ENTRIES: readonly string[] = [
  "src/worker/worker-entry.ts",
  "src/transport/socket-thread.ts",
];

/** The executable built by {@link build}. */
export const BINARY_PATH: string = join(PROJECT_DIR, "dist", "rayts");

/** The typings written (and embedded) by {@link build}. */
export const TYPES_PATH: string = join(PROJECT_DIR, "dist", "rayts.d.ts");

/**
 * Builds the `.so`, the typings and `dist/rayts`. Throws with the bundler's messages on failure.
 *
 * @example
 * import { build } from "./build.ts";
 * await build();
 */
export async function build(): Promise<string> {
  mkdirSync(join(PROJECT_DIR, "dist"), { recursive: true });
  // The store imports the .so `with { type: "file" }`, so it must exist before bundling.
  await buildNative();
  const types = generateTypes(PROJECT_DIR);
  writeFileSync(TYPES_PATH, types);
  const result = await Bun.build({
    entrypoints: [CLI_ENTRY, ...WORKER_ENTRIES].map((entry) => join(PROJECT_DIR, entry)),
    // Pins the layout inside the binary: an entry `src/x.ts` is stored as `/$bunfs/root/src/x.js`.
    root: PROJECT_DIR,
    target: "bun",
    format: "esm",
    minify: { syntax: true, whitespace: true, identifiers: false },
    bytecode: true,
    sourcemap: "none",
    define: { RAYTS_TYPES_DTS: JSON.stringify(types) },
    compile: {
      outfile: BINARY_PATH,
      // Scripts import their own npm packages: honour the package.json beside them.
      autoloadPackageJson: true,
      autoloadTsconfig: true,
      // A cluster binary must not change behaviour with the files of whatever directory it starts in.
      autoloadDotenv: false,
      autoloadBunfig: false,
    },
    throw: false,
  });
  if (!result.success) {
    const messages = result.logs.map((log) => String(log)).join("\n");
    throw new Error(`Cannot build ${relative(PROJECT_DIR, BINARY_PATH)}: the bundler failed\n${messages}`);
  }
  return BINARY_PATH;
}

if (import.meta.main) {
  // `--if-stale` (used by postinstall) skips the build when dist/rayts is newer than its inputs.
  if (process.argv.includes("--if-stale") && !isBuildStale(PROJECT_DIR)) process.exit(0);
  const started = performance.now();
  const binary = await build();
  console.log(`Built ${relative(process.cwd(), binary)} in ${Math.round(performance.now() - started)} ms`);
}
