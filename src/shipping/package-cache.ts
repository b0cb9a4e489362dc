/**
 * Job packages on a node: the archives uploaded to this node (`packages/<hash>.tgz` in the
 * environment cache) and their unpacked, installed copies (`job-<hash>/`), content-addressed, so
 * every job with the same files reuses one copy. A node missing an archive fetches it by hash from
 * the head (`GET /packages/:hash`). Unpacking uses `tar`; when the package's `package.json` lists
 * dependencies they are installed there with Bun (`install --production`, without the project's
 * own lifecycle scripts), the way runtime environments install theirs. A finished copy appends `<hash> <pid>` to `packages.log` in the
 * cache (what the tests count). Every failure is a {@link RuntimeEnvSetupError} with the step's output.
 *
 * @example
 * const dir = await preparePackage(ref, { address: head, token });
 * // the entry script /home/me/app/job.ts is now dir + "/job.ts"
 */
import {
  appendFileSync,
  copyFileSync,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { join } from "node:path";
import { RuntimeEnvSetupError } from "../errors.ts";
import {
  envCacheDir,
  need,
  run,
  runBun,
  SETUP_TIMEOUT_MS,
  withSetupTimeout,
} from "../runtime-env/build-env.ts";
import { authHeaders } from "../transport/token.ts";
import type { JobPackageRef } from "./job-package.ts";

/** The file every unpacked (and installed) package appends one line to: `<hash> <pid>`. */
export const PACKAGE_LOG = "packages.log";

/** Where a node fetches archives it does not hold. */
export interface PackageSource {
  readonly address: string;
  readonly token: string;
}

/** A package hash as it may appear in a path or URL. */
export function isPackageHash(hash: unknown): hash is string {
  return typeof hash === "string" && /^[0-9a-f]{16,64}$/.test(hash);
}

/** The directory of uploaded archives. */
export function archivesDir(): string {
  return join(envCacheDir(), "packages");
}

/** The archive of package `hash` on this node (it may not exist). */
export function archivePath(hash: string): string {
  return join(archivesDir(), `${hash}.tgz`);
}

/**
 * Streams `body` (`size` bytes, when known) into the archive of `hash`: written beside and renamed, so a reader
 * never sees half an archive. Throws when the body is shorter or longer than `size`.
 */
export async function storeArchive(
  hash: string,
  body: ReadableStream<Uint8Array>,
  size: number | undefined,
): Promise<void> {
  mkdirSync(archivesDir(), { recursive: true });
  const final = archivePath(hash);
  const tmp = `${final}.part-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const out = createWriteStream(tmp);
  let got = 0;
  try {
    for await (const chunk of body) {
      got += chunk.byteLength;
      if (size !== undefined && got > size)
        throw new Error(`the body is longer than its Content-Length ${size}`);
      if (!out.write(chunk)) await new Promise<void>((r) => out.once("drain", () => r()));
    }
    await new Promise<void>((r, f) => out.end((err?: Error | null) => (err ? f(err) : r())));
    if (size !== undefined && got !== size) throw new Error(`the body ended after ${got} of ${size} bytes`);
    renameSync(tmp, final);
  } catch (err) {
    out.destroy();
    rmSync(tmp, { force: true });
    throw err;
  }
}

const inflight = new Map<string, Promise<string>>();

/**
 * The unpacked, installed copy of `ref` on this node (its directory), made once: a cached copy is
 * used as is; otherwise the archive (fetched from `source` when this node does not hold it) is
 * unpacked and, with `install` (a job's package, not a runtime environment's working directory),
 * its dependencies installed. Concurrent requests share one preparation.
 */
export function preparePackage(
  ref: JobPackageRef,
  source: PackageSource | undefined,
  install = true,
): Promise<string> {
  const key = `${install ? "job" : "wd"}-${ref.hash}`;
  let p = inflight.get(key);
  if (p === undefined) {
    p = withSetupTimeout(SETUP_TIMEOUT_MS, (ctl) => prepare(ref, source, ctl, key));
    inflight.set(key, p);
    const forget = () => inflight.delete(key);
    p.then(forget, forget);
  }
  return p;
}

const MARKER = "rayts-package.json";

async function prepare(
  ref: JobPackageRef,
  source: PackageSource | undefined,
  ctl: Parameters<typeof run>[0],
  name: string,
): Promise<string> {
  const cache = envCacheDir();
  const dir = join(cache, name);
  const install = name.startsWith("job-");
  if (existsSync(join(dir, MARKER))) return dir;
  const archive = archivePath(ref.hash);
  if (!existsSync(archive)) await fetchArchive(ref, source);
  mkdirSync(cache, { recursive: true });
  const tmp = `${dir}.building-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  try {
    mkdirSync(tmp, { recursive: true });
    const tar = need("tar", "unpack the job's package");
    await run(ctl, `Unpacking the job's package ${ref.root}`, [tar, "-xzf", archive, "-C", tmp], tmp);
    if (install && hasDependencies(tmp)) {
      dropOwnLifecycleScripts(tmp);
      await runBun(
        ctl,
        `Installing the dependencies of the job's package ${ref.root} (bun install)`,
        ["install", "--production", "--no-progress"],
        tmp,
      );
    }
    writeFileSync(join(tmp, MARKER), `${JSON.stringify({ ...ref, preparedBy: process.pid })}\n`);
    try {
      renameSync(tmp, dir);
    } catch (err) {
      // Another process of this machine finished the same package first: use theirs.
      if (!existsSync(join(dir, MARKER))) throw err;
      rmSync(tmp, { recursive: true, force: true });
      return dir;
    }
    appendFileSync(join(cache, PACKAGE_LOG), `${ref.hash} ${process.pid}\n`);
    return dir;
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The project's own install-time scripts (a `postinstall` that builds it for its developers, often
 * with devDependencies that are not installed here) do not run on nodes: only its dependencies are
 * installed. The dependencies' own scripts run as Bun allows them.
 */
const OWN_LIFECYCLE_SCRIPTS = [
  "preinstall",
  "install",
  "postinstall",
  "preprepare",
  "prepare",
  "postprepare",
];

function dropOwnLifecycleScripts(dir: string): void {
  const file = join(dir, "package.json");
  const pkg = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  const scripts = pkg.scripts;
  if (scripts === null || typeof scripts !== "object") return;
  const kept = { ...(scripts as Record<string, unknown>) };
  let dropped = false;
  for (const name of OWN_LIFECYCLE_SCRIPTS) {
    if (name in kept) {
      delete kept[name];
      dropped = true;
    }
  }
  if (dropped) writeFileSync(file, `${JSON.stringify({ ...pkg, scripts: kept }, null, 2)}\n`);
}

function hasDependencies(dir: string): boolean {
  const file = join(dir, "package.json");
  if (!existsSync(file)) return false;
  let pkg: Record<string, unknown>;
  try {
    pkg = JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>;
  } catch (err) {
    throw new RuntimeEnvSetupError(
      `The job's package.json is not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const deps = [pkg.dependencies, pkg.optionalDependencies];
  return deps.some((d) => d !== null && typeof d === "object" && Object.keys(d).length > 0);
}

async function fetchArchive(ref: JobPackageRef, source: PackageSource | undefined): Promise<void> {
  if (source === undefined) {
    throw new RuntimeEnvSetupError(
      `The job's package ${ref.root} (${ref.hash}) was never uploaded to this node; run the driver again`,
    );
  }
  const what = `Fetching the job's package ${ref.root} (${ref.hash}) from ${source.address}`;
  let res: Response;
  try {
    res = await fetch(`http://${source.address}/packages/${ref.hash}`, {
      headers: authHeaders(source.token),
    });
  } catch (err) {
    throw new RuntimeEnvSetupError(`${what} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!res.ok || res.body === null) {
    throw new RuntimeEnvSetupError(`${what} failed: HTTP ${res.status} ${await res.text().catch(() => "")}`);
  }
  const size = Number(res.headers.get("content-length"));
  try {
    await storeArchive(ref.hash, res.body, Number.isSafeInteger(size) && size > 0 ? size : undefined);
  } catch (err) {
    throw new RuntimeEnvSetupError(`${what} failed: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * A shipped file (an archive given as `workingDir`, a package tarball) under its own name on this
 * node: `files/<hash>/<name>` in the cache, copied once from the uploaded archive of `hash`.
 */
export function placeFile(hash: string, name: string): string {
  if (!/^[\w.@+-]{1,255}$/.test(name) || name.startsWith(".")) {
    throw new RuntimeEnvSetupError(`Invalid shipped file name ${JSON.stringify(name)}`);
  }
  const archive = archivePath(hash);
  if (!existsSync(archive))
    throw new RuntimeEnvSetupError(`This node holds no shipped file ${hash} (${name})`);
  const dir = join(envCacheDir(), "files", hash);
  const path = join(dir, name);
  if (existsSync(path)) return path;
  mkdirSync(dir, { recursive: true });
  const tmp = `${path}.part-${process.pid}`;
  copyFileSync(archive, tmp);
  renameSync(tmp, path);
  return path;
}
