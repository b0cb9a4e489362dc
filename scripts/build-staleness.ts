/**
 * Whether `dist/rayts` is older than what it is built from, so tests and `npm install` rebuild only
 * when something changed.
 */
import { readdirSync, statSync } from "node:fs";
import { join } from "node:path";

/** What the binary is built from, relative to the project root. */
const INPUTS = ["src", "native", "build.ts", "scripts", "package.json", "tsconfig.json"];

function newestMtime(path: string): number {
  let stats: ReturnType<typeof statSync>;
  try {
    stats = statSync(path);
  } catch {
    return 0;
  }
  if (!stats.isDirectory()) return stats.mtimeMs;
  let newest = stats.mtimeMs;
  for (const entry of readdirSync(path)) {
    // Build outputs inside an input folder (native/build/) must not make the binary look stale.
    if (entry === "build" || entry === "node_modules") continue;
    newest = Math.max(newest, newestMtime(join(path, entry)));
  }
  return newest;
}

/** True when `dist/rayts` is missing or older than any file under src/, native/, scripts/ or build.ts. */
export function isBuildStale(projectDir: string): boolean {
  let built: number;
  try {
    built = statSync(join(projectDir, "dist", "rayts")).mtimeMs;
  } catch {
    return true;
  }
  return INPUTS.some((input) => newestMtime(join(projectDir, input)) > built);
}
