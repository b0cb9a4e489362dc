/**
 * `rayts stop`: ends the heads and nodes started on this machine (found through the pid records of
 * every session), SIGTERM first and SIGKILL for those still running after the grace period (or at
 * once with `force`), then removes the shared-memory segments and pid records they left behind.
 */
import { readdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { isAlive, isClusterProcess } from "./process-alive.ts";
import { listSessions, type ProcessRecord, readProcessRecords } from "./session-dir.ts";

const SHM_DIR = "/dev/shm";

/** Options of {@link stopLocalProcesses}. */
export interface StopOptions {
  /** SIGKILL at once instead of SIGTERM first. */
  readonly force: boolean;
  /** How long SIGTERM may take before SIGKILL (default 10 s). */
  readonly graceMs?: number;
}

/** What {@link stopLocalProcesses} did. */
export interface StopResult {
  /** Processes that were running, with how they ended. */
  readonly stopped: ReadonlyArray<ProcessRecord & { readonly how: "SIGTERM" | "SIGKILL" }>;
  /** Processes still running afterwards (not ours to kill, e.g. another user's). */
  readonly failed: ReadonlyArray<ProcessRecord & { readonly reason: string }>;
  /** Shared-memory segments removed. */
  readonly segments: readonly string[];
}

/** Stops every head and node recorded on this machine. */
export async function stopLocalProcesses(options: StopOptions): Promise<StopResult> {
  const running: Array<{ path: string; record: ProcessRecord }> = [];
  const gone: number[] = [];
  for (const session of listSessions()) {
    for (const entry of readProcessRecords(session)) {
      if (isClusterProcess(entry.record.pid, entry.record.role)) running.push(entry);
      else {
        rmSync(entry.path, { force: true });
        gone.push(entry.record.pid);
      }
    }
  }
  const stopped: Array<ProcessRecord & { how: "SIGTERM" | "SIGKILL" }> = [];
  const failed: Array<ProcessRecord & { reason: string }> = [];
  const first = options.force ? "SIGKILL" : "SIGTERM";
  const signalled = running.filter(({ record }) => signal(record, first, failed));
  await waitForExit(
    signalled.map(({ record }) => record.pid),
    options.force ? 5_000 : (options.graceMs ?? 10_000),
  );
  for (const { path, record } of signalled) {
    let how: "SIGTERM" | "SIGKILL" = first;
    if (isAlive(record.pid)) {
      how = "SIGKILL";
      if (!signal(record, "SIGKILL", failed)) continue;
      await waitForExit([record.pid], 5_000);
    }
    if (isAlive(record.pid)) {
      failed.push({ ...record, reason: "still running after SIGKILL" });
      continue;
    }
    rmSync(path, { force: true });
    stopped.push({ ...record, how });
    gone.push(record.pid);
  }
  return { stopped, failed, segments: removeSegments(gone) };
}

function signal(
  record: ProcessRecord,
  name: NodeJS.Signals,
  failed: Array<ProcessRecord & { reason: string }>,
): boolean {
  try {
    process.kill(record.pid, name);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ESRCH") return true;
    failed.push({ ...record, reason: `cannot send ${name}: ${code ?? String(err)}` });
    return false;
  }
}

async function waitForExit(pids: readonly number[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (pids.some(isAlive) && Date.now() < deadline) await Bun.sleep(50);
}

/** Removes the shm segments the nodes of `pids` created (`/rayts_<pid>_…`), once those processes are gone. */
export function removeSegments(pids: readonly number[]): string[] {
  if (pids.length === 0) return [];
  let names: string[];
  try {
    names = readdirSync(SHM_DIR);
  } catch {
    return [];
  }
  const prefixes = pids.map((pid) => `rayts_${pid}_`);
  const removed: string[] = [];
  for (const name of names) {
    if (!prefixes.some((prefix) => name.startsWith(prefix))) continue;
    try {
      rmSync(join(SHM_DIR, name));
      removed.push(`${SHM_DIR}/${name}`);
    } catch {}
  }
  return removed;
}
