/**
 * Runtime environments of work sent to another node [Ray's `working_dir` and local package
 * uploads]: before a task or actor with a `workingDir` or local package tarballs goes to another
 * node, the forwarding node ships what those paths name: a directory is scanned with the
 * environment's `excludes`, content-hashed and archived (`job-package.ts`), an archive or tarball is
 * hashed by its bytes; each is uploaded to the other node unless it holds the hash already
 * (`PUT /packages/:hash`), and a `ship` request there unpacks it once per hash into its cache
 * (`package-cache.ts`). The work then travels with its environment rewritten to those paths on the
 * other node, which builds it as any local environment (packages installed there, cached by hash).
 *
 * @example
 * const opts = await shipOptions(link, spec.opts); // same object when nothing needs shipping
 */
import { readFileSync, statSync } from "node:fs";
import { basename, isAbsolute, resolve } from "node:path";
import { RuntimeEnvSetupError } from "../errors.ts";
import type { CompiledRuntimeEnv } from "../options/runtime-env.ts";
import type { ShipRequest } from "../runtime/peer-link.ts";
import { isLocalSpec } from "../runtime-env/build-env.ts";
import { compileExcludes } from "../runtime-env/excludes.ts";
import { holds, putArchive, scanPackage, uploadJobPackage } from "./job-package.ts";

/** Where an environment is shipped: another node's port and its `ship` request (a link, or a driver's). */
export interface ShipTarget {
  readonly nodeId: string;
  readonly address: string;
  readonly token: string;
  readonly api: { ship(what: ShipRequest): Promise<string> };
}

/** Shipped environments per target, by the environment's options (its JSON). */
const shipped = new WeakMap<ShipTarget, Map<string, Promise<CompiledRuntimeEnv>>>();

/**
 * `opts` as the other node behind `link` can run them: the same object when its runtime environment
 * names no local paths, else a copy whose environment names the shipped copies there. Rejects with a
 * RuntimeEnvSetupError when a path cannot be read or shipped.
 */
export async function shipOptions<T extends { readonly runtimeEnv: CompiledRuntimeEnv | undefined }>(
  link: ShipTarget,
  opts: T,
): Promise<T> {
  const env = opts.runtimeEnv;
  if (!needsShipping(env)) return opts;
  let byEnv = shipped.get(link);
  if (byEnv === undefined) {
    byEnv = new Map();
    shipped.set(link, byEnv);
  }
  const key = JSON.stringify(env);
  let p = byEnv.get(key);
  if (p === undefined) {
    p = shipEnv(link, env);
    byEnv.set(key, p);
    // A failure is not cached: the path may be fixed before the next submission.
    p.catch(() => byEnv.delete(key));
  }
  return { ...opts, runtimeEnv: await p };
}

/** Whether `env` names local paths (a working directory, package tarballs) another node needs. */
export function needsShipping(env: CompiledRuntimeEnv | undefined): env is CompiledRuntimeEnv {
  return env !== undefined && (env.workingDir !== undefined || (env.packages ?? []).some(isLocalSpec));
}

async function shipEnv(link: ShipTarget, env: CompiledRuntimeEnv): Promise<CompiledRuntimeEnv> {
  try {
    const workingDir = env.workingDir === undefined ? undefined : await shipWorkingDir(link, env);
    const packages =
      env.packages === undefined
        ? undefined
        : await Promise.all(env.packages.map((spec) => (isLocalSpec(spec) ? shipFile(link, spec) : spec)));
    return { ...env, workingDir, packages };
  } catch (err) {
    if (err instanceof RuntimeEnvSetupError) throw err;
    throw new RuntimeEnvSetupError(
      `Cannot ship the runtime environment to node ${link.nodeId}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

async function shipWorkingDir(link: ShipTarget, env: CompiledRuntimeEnv): Promise<string> {
  const given = env.workingDir as string;
  const path = resolve(given);
  let isDir: boolean;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    throw new RuntimeEnvSetupError(
      `runtimeEnv.workingDir ${JSON.stringify(given)} does not exist (looked for ${path} on the node that sent the work); pass an existing directory, .zip or .tar.gz`,
    );
  }
  if (!isDir) return shipFile(link, given);
  const pkg = scanPackage(
    path,
    (line) => process.stderr.write(`${line}\n`),
    compileExcludes(env.excludes ?? []),
  );
  await uploadJobPackage(link.address, link.token, pkg, `the working directory ${pkg.root}`);
  return link.api.ship({ kind: "dir", hash: pkg.hash, root: pkg.root, size: pkg.size });
}

/** Ships one file (an archive, a package tarball) under its own name; its path on the other node. */
async function shipFile(link: ShipTarget, spec: string): Promise<string> {
  const path = resolve(spec.replace(/^file:/, ""));
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch {
    throw new RuntimeEnvSetupError(
      `Cannot read ${JSON.stringify(spec)} (looked for ${path} on the node that sent the work) to ship it to node ${link.nodeId}; pass an existing file`,
    );
  }
  const hash = new Bun.CryptoHasher("sha256").update(bytes).digest("hex").slice(0, 32);
  if (!(await holds(link.address, link.token, hash))) {
    await putArchive(link.address, link.token, hash, path, `file ${path}`);
  }
  return link.api.ship({ kind: "file", hash, name: basename(path), size: bytes.byteLength });
}

/**
 * `env` with its relative `workingDir` and local package paths resolved against `cwd` (the
 * submitting driver's directory, so they mean what they meant where the job was written); the same
 * object when it has none.
 */
export function absoluteEnv(env: CompiledRuntimeEnv, cwd: string): CompiledRuntimeEnv {
  const wd = env.workingDir;
  const relWd = wd !== undefined && !isAbsolute(wd);
  const relPkg = (spec: string) => isLocalSpec(spec) && !isAbsolute(spec.replace(/^file:/, ""));
  const packages = env.packages;
  if (!relWd && !(packages ?? []).some(relPkg)) return env;
  return {
    ...env,
    workingDir: relWd ? resolve(cwd, wd) : wd,
    packages: packages?.map((spec) => (relPkg(spec) ? resolve(cwd, spec.replace(/^file:/, "")) : spec)),
  };
}
