/**
 * Preloaded by `bun test` (bunfig.toml): rebuilds `dist/rayts` when its sources changed, so tests
 * always run the current code, and fails the suite when it leaked processes or shared memory.
 */
import { afterAll } from "bun:test";
import { readdirSync, readFileSync, unlinkSync } from "node:fs";
import { join, resolve } from "node:path";
import { isBuildStale } from "../scripts/build-staleness.ts";
import { TEST_RUN_ID, TEST_RUN_MARKER } from "./harness.ts";

const PROJECT_DIR = resolve(import.meta.dir, "..");
const SHM_DIR = "/dev/shm";
const SHM_PREFIX = "rayts";

function rebuildIfStale(): void {
  if (!isBuildStale(PROJECT_DIR)) return;
  const build = Bun.spawnSync([process.execPath, join(PROJECT_DIR, "build.ts")], {
    cwd: PROJECT_DIR,
    stdout: "inherit",
    stderr: "inherit",
  });
  if (build.exitCode !== 0)
    throw new Error(`Cannot run the tests: bun build.ts exited with ${build.exitCode}`);
}

function shmSegments(): string[] {
  try {
    return readdirSync(SHM_DIR).filter((name) => name.startsWith(SHM_PREFIX));
  } catch {
    return [];
  }
}

function pids(): number[] {
  return readdirSync("/proc")
    .filter((name) => /^\d+$/.test(name))
    .map(Number)
    .filter((pid) => pid !== process.pid);
}

function readProc(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "latin1");
  } catch {
    return "";
  }
}

/** Processes still alive that were started by this run (they carry its marker variable). */
function strayProcesses(): { pid: number; cmdline: string }[] {
  const marker = `${TEST_RUN_MARKER}=${TEST_RUN_ID}`;
  return pids()
    .filter((pid) => readProc(pid, "environ").split("\0").includes(marker))
    .map((pid) => ({ pid, cmdline: readProc(pid, "cmdline").split("\0").join(" ").trim() }));
}

/** Segments created since the suite started that no live process maps or holds open. */
function leakedSegments(before: ReadonlySet<string>): string[] {
  const fresh = shmSegments().filter((name) => !before.has(name));
  if (fresh.length === 0) return [];
  const maps = pids().map((pid) => readProc(pid, "maps"));
  return fresh.filter((name) => !maps.some((text) => text.includes(`${SHM_DIR}/${name}`)));
}

rebuildIfStale();
const segmentsBefore = new Set(shmSegments());

afterAll(() => {
  const strays = strayProcesses();
  for (const { pid } of strays) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {}
  }
  const leaked = leakedSegments(segmentsBefore);
  for (const name of leaked) {
    try {
      unlinkSync(join(SHM_DIR, name));
    } catch {}
  }
  const problems = [
    ...strays.map(({ pid, cmdline }) => `process ${pid} still running: ${cmdline}`),
    ...leaked.map((name) => `shared-memory segment left behind: ${SHM_DIR}/${name}`),
  ];
  if (problems.length > 0) {
    throw new Error(
      `The test suite leaked (now cleaned up): fix the test or code that left\n  ${problems.join("\n  ")}`,
    );
  }
});
