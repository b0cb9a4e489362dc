/**
 * Shared-memory segments left by processes that died without cleaning up (`kill -9`, a crash): a
 * segment lives in `/dev/shm` until someone unlinks it, holding its memory. Segments are named
 * `rayts_<pid>_<random>`; any whose process is gone is removed when a new node starts.
 */
import { readdirSync, unlinkSync } from "node:fs";

const SHM_DIR = "/dev/shm";
const NAME = /^rayts_(\d+)_[0-9a-f]+$/;

/** Removes segments of processes that no longer exist; returns how many. Never throws. */
export function sweepStaleSegments(): number {
  let names: string[];
  try {
    names = readdirSync(SHM_DIR);
  } catch {
    return 0;
  }
  let removed = 0;
  for (const name of names) {
    const m = NAME.exec(name);
    if (m === null) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || alive(pid)) continue;
    try {
      unlinkSync(`${SHM_DIR}/${name}`);
      removed++;
    } catch {
      // Someone else's, or already gone.
    }
  }
  return removed;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to another user.
    return (err as { code?: string }).code === "EPERM";
  }
}
