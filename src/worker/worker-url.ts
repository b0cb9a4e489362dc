/**
 * Where the Worker entry lives, in development and inside the compiled binary.
 *
 * From sources (`bun src/cli/main.ts`, `bun test`) the entry is the `.ts` file beside this one.
 * In the binary, `bun build --compile` stores every extra entry point under `/$bunfs/root/` at its
 * path relative to the project root with a `.js` extension (`build.ts` pins that root), while this
 * module's own `import.meta.url` is the binary's, so a relative URL would point nowhere.
 */

const EMBEDDED_ROOT = "/$bunfs/root/";

/**
 * The specifier `new Worker()` needs for the entry at `projectPath` (relative to the project root,
 * e.g. `src/worker/worker-entry.ts`), from sources or from the compiled binary.
 */
export function workerEntrySpecifier(projectPath: string): string {
  if (Bun.isStandaloneExecutable) return EMBEDDED_ROOT + projectPath.replace(/\.[cm]?tsx?$/, ".js");
  return new URL(`../../${projectPath}`, import.meta.url).href;
}

/**
 * The specifier to pass to `new Worker()` for `src/worker/worker-entry.ts`.
 *
 * @example
 * const worker = new Worker(WORKER_ENTRY_URL, { env: taskEnv });
 */
export const WORKER_ENTRY_URL: string = workerEntrySpecifier("src/worker/worker-entry.ts");
