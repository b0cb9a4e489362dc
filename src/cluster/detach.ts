/**
 * `--detach`: the command starts itself again as a background process (its own session, output to its
 * log file) and returns once that process reports it is ready, or prints why it could not start.
 * Readiness travels over an IPC channel that both sides drop afterwards, so the child outlives the
 * command without any tie to the terminal.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, openSync, readFileSync, renameSync } from "node:fs";
import { join } from "node:path";
import { randomId } from "../runtime/ids.ts";
import { selfCommand } from "./self-command.ts";
import { logPath, type Session } from "./session-dir.ts";

/** Set in a detached child: the session directory its launcher chose. */
export const DETACHED_SESSION_ENV = "RAYTS_DETACHED_SESSION";

/** What a detached child sends its launcher. */
export type LaunchReport =
  | { readonly t: "ready"; readonly banner: string }
  | { readonly t: "failed"; readonly reason: string; readonly exitCode: number };

/**
 * Starts `rayts <role> args…` (with `env` added) detached in `session` and waits for its report. Resolves with the
 * report; a child that exits without one yields `failed` with the end of its log.
 */
export function launchDetached(
  role: string,
  command: { readonly args: readonly string[]; readonly env: Readonly<Record<string, string>> },
  session: Session,
): Promise<LaunchReport> {
  // Named after the child's pid once it is known: `logs/<role>-<pid>.log`, as the child expects.
  let logFile = join(session.dir, "logs", `${role}-starting-${randomId(8)}.log`);
  const fd = openSync(logFile, "a", 0o644);
  const [exe, ...pre] = selfCommand();
  let child: ChildProcess;
  try {
    child = spawn(exe!, [...pre, role, ...command.args], {
      detached: true,
      stdio: ["ignore", fd, fd, "ipc"],
      env: { ...process.env, ...command.env, [DETACHED_SESSION_ENV]: session.dir },
    });
  } finally {
    closeSync(fd);
  }
  if (child.pid !== undefined) {
    const named = logPath(session, role, child.pid);
    renameSync(logFile, named);
    logFile = named;
  }
  return new Promise((resolve) => {
    let settled = false;
    const settle = (report: LaunchReport) => {
      if (settled) return;
      settled = true;
      if (child.connected) child.disconnect();
      child.unref();
      resolve(report);
    };
    child.on("message", (message) => settle(message as LaunchReport));
    child.on("error", (err) => settle({ t: "failed", reason: err.message, exitCode: 1 }));
    child.on("exit", (code, signal) => {
      const why = signal !== null ? `was killed by ${signal}` : `exited with code ${code}`;
      settle({
        t: "failed",
        reason: `The ${role} ${why} before it was ready:\n${tail(logFile)}`,
        exitCode: 1,
      });
    });
  });
}

/** In a detached child: tell the launcher how starting went, then drop the channel. */
export function reportToLauncher(report: LaunchReport): void {
  const send = process.send?.bind(process);
  if (send === undefined) return;
  send(report, undefined, undefined, () => {
    if (process.connected) process.disconnect?.();
  });
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-10).join("\n");
  } catch {
    return "(no log)";
  }
}
