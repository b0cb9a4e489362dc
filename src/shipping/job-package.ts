/**
 * The job's package [Ray's `working_dir` upload], the driver's side: how code reaches other nodes.
 * By default it is the directory of the entry script's nearest `package.json` (else the script's own
 * directory), minus `node_modules/`, `.git/` and the paths its `.gitignore` names; `runtimeEnv.workingDir`
 * at `init` overrides the directory. Its files are content-hashed (same files, same hash), archived
 * with `tar` and uploaded once to the head (`PUT /packages/:hash`, see `package-routes.ts`), which
 * already having the hash skips. Nodes fetch and unpack it by hash (`package-cache.ts`).
 *
 * @example
 * const pkg = scanPackage(packageRootOf("/home/me/app/job.ts"));
 * await uploadJobPackage("10.0.0.1:6380", token, pkg);
 */
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { RaytsError } from "../errors.ts";
import { listFiles, need } from "../runtime-env/build-env.ts";
import { compileExcludes, type Excluder } from "../runtime-env/excludes.ts";
import { authHeaders } from "../transport/token.ts";

/** A package larger than this (its files' bytes) is shipped with a warning. */
export const PACKAGE_WARN_BYTES = 100 * 1024 * 1024;
/** A package larger than this is refused. */
export const PACKAGE_MAX_BYTES = 512 * 1024 * 1024;

/** What identifies a job package across the cluster. */
export interface JobPackageRef {
  /** Content hash of its files (hex). */
  readonly hash: string;
  /** Its directory on the driver's machine: module paths under it are mapped to the node's copy. */
  readonly root: string;
  /** Bytes of its files. */
  readonly size: number;
}

/** A scanned package: its ref plus the files it holds. */
export interface ScannedPackage extends JobPackageRef {
  readonly files: readonly string[];
}

/** The directory of the nearest `package.json` above `entryScript`, else the script's directory. */
export function packageRootOf(entryScript: string): string {
  const own = dirname(resolve(entryScript));
  for (let dir = own; ; dir = dirname(dir)) {
    if (existsSync(join(dir, "package.json"))) return dir;
    if (dirname(dir) === dir) return own;
  }
}

/**
 * `node_modules/`, `.git/` and what the package's `.gitignore` files name, left out of the package.
 * A `.gitignore` in a subdirectory applies below it, its patterns relative to it; a path any of
 * them leaves out is out (a `!` re-includes only within its own file).
 */
export function packageExcludes(root: string): Excluder {
  const fixed = compileExcludes(["node_modules/", ".git/"]);
  const byDir = new Map<string, Excluder | undefined>();
  const rulesOf = (dir: string): Excluder | undefined => {
    if (byDir.has(dir)) return byDir.get(dir);
    const file = join(root, dir, ".gitignore");
    const rules = existsSync(file) ? compileExcludes(readFileSync(file, "utf8").split(/\r?\n/)) : undefined;
    byDir.set(dir, rules);
    return rules;
  };
  return (relPath, isDir) => {
    if (fixed(relPath, isDir)) return true;
    const parts = relPath.split("/");
    for (let depth = 0; depth < parts.length; depth++) {
      const dir = parts.slice(0, depth).join("/");
      const rules = rulesOf(dir);
      if (rules?.(parts.slice(depth).join("/"), isDir)) return true;
    }
    return false;
  };
}

function mib(bytes: number): string {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MiB`;
}

/**
 * Lists and hashes the package at `root` (leaving out what `excluded` names, by default
 * {@link packageExcludes}). Over `limits.max` ({@link PACKAGE_MAX_BYTES}) it throws a RaytsError
 * saying how to make it smaller; over `limits.warn` ({@link PACKAGE_WARN_BYTES}) it calls `warn`.
 */
export function scanPackage(
  root: string,
  warn: (line: string) => void = () => {},
  excluded?: Excluder,
  limits: { readonly warn: number; readonly max: number } = {
    warn: PACKAGE_WARN_BYTES,
    max: PACKAGE_MAX_BYTES,
  },
): ScannedPackage {
  const dir = resolve(root);
  const files = listFiles(dir, excluded ?? packageExcludes(dir));
  let size = 0;
  for (const f of files) size += statSync(join(dir, f)).size;
  const fix = `add what the job does not need to ${join(dir, ".gitignore")}, or point init({ runtimeEnv: { workingDir } }) at a smaller directory`;
  if (size > limits.max) {
    throw new RaytsError(
      `The job's package ${dir} holds ${mib(size)} in ${files.length} files, more than the ${mib(limits.max)} limit; ${fix}`,
    );
  }
  if (size > limits.warn) {
    warn(
      `rayts: warning: the job's package ${dir} holds ${mib(size)}; every node fetches it once. To ship less, ${fix}`,
    );
  }
  const h = new Bun.CryptoHasher("sha256");
  h.update("rayts-package-v1\0");
  for (const f of files) {
    h.update(`file:${f}\0`);
    h.update(readFileSync(join(dir, f)));
    h.update("\0");
  }
  return { hash: h.digest("hex").slice(0, 32), root: dir, size, files };
}

/** Writes the package's files into a gzipped tar at `out`. */
export async function archivePackage(pkg: ScannedPackage, out: string): Promise<void> {
  const tar = need("tar", "archive the job's package");
  const list = `${out}.list`;
  writeFileSync(list, pkg.files.map((f) => `${f}\0`).join(""));
  try {
    const proc = Bun.spawn([tar, "-czf", out, "-C", pkg.root, "--null", "-T", list], {
      stdin: "ignore",
      stdout: "ignore",
      stderr: "pipe",
    });
    const [err, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    if (code !== 0) throw new RaytsError(`Cannot archive the job's package ${pkg.root}: ${err.trim()}`);
  } finally {
    rmSync(list, { force: true });
  }
}

/**
 * Makes sure the node at `address` holds `pkg`: asks first (`HEAD /packages/:hash`), archives and
 * streams it up only when missing. Resolves true when it was uploaded.
 */
export async function uploadJobPackage(
  address: string,
  token: string,
  pkg: ScannedPackage,
  what = `the job's package ${pkg.root}`,
): Promise<boolean> {
  if (await holds(address, token, pkg.hash)) return false;
  const out = join(
    tmpdir(),
    `rayts-package-${pkg.hash}-${process.pid}-${Math.random().toString(36).slice(2, 8)}.tgz`,
  );
  try {
    await archivePackage(pkg, out);
    await putArchive(address, token, pkg.hash, out, what);
    return true;
  } finally {
    rmSync(out, { force: true });
  }
}

/** Whether the node at `address` holds the archive of `hash`. */
export async function holds(address: string, token: string, hash: string): Promise<boolean> {
  const res = await fetch(`http://${address}/packages/${hash}`, {
    method: "HEAD",
    headers: authHeaders(token),
  });
  return res.ok;
}

/** Streams the file at `path` up as the archive of `hash` (`what` names it in the node's log and errors). */
export async function putArchive(
  address: string,
  token: string,
  hash: string,
  path: string,
  what: string,
): Promise<void> {
  const file = Bun.file(path);
  const res = await fetch(`http://${address}/packages/${hash}`, {
    method: "PUT",
    headers: {
      ...authHeaders(token),
      "Content-Type": "application/octet-stream",
      "Content-Length": String(file.size),
      "X-Rayts-Package-Root": encodeURIComponent(what),
    },
    body: file,
  });
  if (!res.ok)
    throw new RaytsError(`Cannot upload ${what} to ${address}: HTTP ${res.status} ${await res.text()}`);
}
