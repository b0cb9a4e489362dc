/** Whether a process still runs, and whether it is a rayts head or node (not a reused pid). */
import { readFileSync } from "node:fs";

/** Whether `pid` names a running process (a zombie counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EPERM") return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return true;
  }
}

/**
 * Whether `pid` runs `rayts <role>`. Where `/proc` is unavailable the answer is `isAlive(pid)`, so a
 * reused pid can only be told apart on Linux.
 */
export function isClusterProcess(pid: number, role: string): boolean {
  if (!isAlive(pid)) return false;
  let cmdline: string;
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, "latin1");
  } catch {
    return true;
  }
  return cmdline.split("\0").includes(role);
}
