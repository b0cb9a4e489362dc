/**
 * The session directory: where the processes of a cluster started on this machine leave their logs,
 * pids, the head's address and the token, so that `rayts status` and `rayts stop` find them.
 *
 * ```
 * <tmp>/rayts/session_latest -> session_2025-01-31_12-00-00_123_4567
 * <tmp>/rayts/session_2025-01-31_12-00-00_123_4567/
 *   head.json            the head's address and pid
 *   token                the cluster token (mode 0600)
 *   logs/head-<pid>.log  logs/node-<pid>.log …
 *   pids/head-<pid>.json pids/node-<pid>.json …   one per running process
 * ```
 * `<tmp>` is the OS temp directory (`TMPDIR`, else `/tmp`).
 */
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";

/** A session directory. */
export interface Session {
  readonly dir: string;
  /** `session_<time>_<pid>`. */
  readonly name: string;
}

/** What the head writes to `head.json`. */
export interface HeadRecord {
  readonly address: string;
  readonly pid: number;
  readonly sessionName: string;
  readonly startedAt: string;
}

/** What each process writes to `pids/<role>-<pid>.json` while it runs. */
export interface ProcessRecord {
  readonly role: "head" | "node";
  readonly pid: number;
  readonly address: string;
  readonly nodeId: string;
  readonly logFile: string;
  readonly startedAt: string;
}

/** The folder holding every session of this machine. */
export function sessionRoot(): string {
  return join(tmpdir(), "rayts");
}

/** Creates a new session directory and points `session_latest` at it. */
export function createSession(): Session {
  const root = sessionRoot();
  const stamp = new Date().toISOString().replace("T", "_").replace(/[:.]/g, "-").replace("Z", "");
  const name = `session_${stamp}_${process.pid}`;
  const dir = join(root, name);
  mkdirSync(join(dir, "logs"), { recursive: true });
  mkdirSync(join(dir, "pids"), { recursive: true });
  // Replace the link atomically: a reader never sees it missing.
  const link = join(root, "session_latest");
  const temp = `${link}.${process.pid}`;
  rmSync(temp, { force: true });
  symlinkSync(name, temp);
  renameSync(temp, link);
  return { dir, name };
}

/** The session named `name` on this machine, when it exists here. */
export function findSession(name: string): Session | undefined {
  if (!/^session_[\w-]+$/.test(name)) return undefined;
  const dir = join(sessionRoot(), name);
  return existsSync(dir) ? { dir, name } : undefined;
}

/** The session whose directory is `dir`. */
export function sessionAt(dir: string): Session {
  mkdirSync(join(dir, "logs"), { recursive: true });
  mkdirSync(join(dir, "pids"), { recursive: true });
  return { dir, name: basename(dir) };
}

/** Every session directory on this machine, newest first. */
export function listSessions(): Session[] {
  const root = sessionRoot();
  let names: string[];
  try {
    names = readdirSync(root).filter((name) => name.startsWith("session_") && name !== "session_latest");
  } catch {
    return [];
  }
  return names
    .sort()
    .reverse()
    .map((name) => ({ dir: join(root, name), name }));
}

/** Writes the token readable by its owner only. */
export function writeToken(session: Session, token: string): string {
  const path = join(session.dir, "token");
  writeFileSync(path, `${token}\n`, { mode: 0o600 });
  chmodSync(path, 0o600);
  return path;
}

/** The token a head wrote in `session`, if any. */
export function readToken(session: Session): string | undefined {
  try {
    return readFileSync(join(session.dir, "token"), "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

export function writeHeadRecord(session: Session, record: HeadRecord): void {
  writeJson(join(session.dir, "head.json"), record);
}

export function readHeadRecord(session: Session): HeadRecord | undefined {
  return readJson<HeadRecord>(join(session.dir, "head.json"));
}

/** Writes this process's record; returns its path (remove it on exit). */
export function writeProcessRecord(session: Session, record: ProcessRecord): string {
  const path = join(session.dir, "pids", `${record.role}-${record.pid}.json`);
  writeJson(path, record);
  return path;
}

/** The records of every process of `session`, alive or not. */
export function readProcessRecords(session: Session): Array<{ path: string; record: ProcessRecord }> {
  const dir = join(session.dir, "pids");
  let names: string[];
  try {
    names = readdirSync(dir).filter((name) => name.endsWith(".json"));
  } catch {
    return [];
  }
  const out: Array<{ path: string; record: ProcessRecord }> = [];
  for (const name of names) {
    const path = join(dir, name);
    const record = readJson<ProcessRecord>(path);
    if (record !== undefined && Number.isSafeInteger(record.pid)) out.push({ path, record });
  }
  return out;
}

/** Where a process of `role` logs in `session`. */
export function logPath(session: Session, role: string, pid: number): string {
  return join(session.dir, "logs", `${role}-${pid}.log`);
}

function writeJson(path: string, value: unknown): void {
  const temp = `${path}.tmp`;
  writeFileSync(temp, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(temp, path);
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}
