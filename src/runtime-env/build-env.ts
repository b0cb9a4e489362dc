/**
 * Builds a runtime environment on this node: `workingDir` (a directory, `.zip` or `.tar.gz`) copied
 * or unpacked and `packages` installed with Bun's own installer, into a content-addressed directory
 * of the environment cache. Identical environments are built once: concurrent requests in this
 * process share one build, and a finished directory is reused by every later request (also from
 * other processes: a build happens in a private directory renamed into place at the end).
 * Every failure is a {@link RuntimeEnvSetupError} carrying the failing step's own message.
 */
import {
  appendFileSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import type { Subprocess } from "bun";
import { RuntimeEnvSetupError } from "../errors.ts";
import type { CompiledRuntimeEnv } from "../options/runtime-env.ts";
import { envKey } from "./env-key.ts";
import { compileExcludes, type Excluder } from "./excludes.ts";

/** Setup time allowed when `config.setupTimeoutMs` is not given. */
const DEFAULT_SETUP_TIMEOUT_MS = 10 * 60_000;
/** Most characters of a failing command's output kept in the error. */
const MAX_OUTPUT = 4000;

/** A built environment. */
export interface BuiltEnv {
  /** Content hash: equal for environments with equal files and package specs. */
  readonly hash: string;
  /** The environment's directory in the cache. */
  readonly dir: string;
  /** The working directory of its workers: the unpacked `workingDir`, else the package directory. */
  readonly cwd: string;
  /** `node_modules` directories bare imports resolve from (for `NODE_PATH`). */
  readonly nodePath: readonly string[];
}

/** The cache of built environments: `RAYTS_ENV_CACHE`, else a per-user directory under the temp dir. */
export function envCacheDir(): string {
  const own = process.env.RAYTS_ENV_CACHE;
  if (own !== undefined && own !== "") return resolve(own);
  return join(tmpdir(), `rayts-envs-${process.getuid?.() ?? "user"}`);
}

/** The file every completed build appends one line to (`<hash> <pid>`): how often builds really ran. */
export const BUILD_LOG = "builds.log";

const inflight = new Map<string, Promise<BuiltEnv>>();

/**
 * The built environment for `env` (which must need a host, see `needsHost`), building it if no
 * identical one is cached. Relative paths are resolved against this process's cwd.
 *
 * @example
 * const built = await buildEnv({ workingDir: "./app", packages: ["./vendor/x.tgz"] });
 * built.cwd; // …/<hash>/wd
 */
export function buildEnv(env: CompiledRuntimeEnv): Promise<BuiltEnv> {
  const key = envKey(env) ?? "default";
  let p = inflight.get(key);
  if (p === undefined) {
    p = withSetupTimeout(env.config?.setupTimeoutMs ?? DEFAULT_SETUP_TIMEOUT_MS, (ctl) => build(env, ctl));
    inflight.set(key, p);
    const forget = () => inflight.delete(key);
    p.then(forget, forget);
  }
  return p;
}

/** The processes of one setup, killed when it times out. */
export interface Control {
  readonly procs: Set<Subprocess>;
  cancelled: boolean;
}

/** Setup time allowed when none is given. */
export const SETUP_TIMEOUT_MS = DEFAULT_SETUP_TIMEOUT_MS;

/**
 * Runs one setup (`run`) within `ms`: past it, its processes are killed and it fails; every failure
 * becomes a {@link RuntimeEnvSetupError}.
 */
export function withSetupTimeout<T>(ms: number, run: (ctl: Control) => Promise<T>): Promise<T> {
  const ctl: Control = { procs: new Set(), cancelled: false };
  return new Promise<T>((done, fail) => {
    const timer = setTimeout(() => {
      ctl.cancelled = true;
      for (const proc of ctl.procs) proc.kill();
      fail(
        new RuntimeEnvSetupError(
          `Setting up the runtime environment took longer than ${ms} ms (runtimeEnv.config.setupTimeoutMs); raise it or make the environment smaller`,
        ),
      );
    }, ms);
    run(ctl).then(
      (built) => {
        clearTimeout(timer);
        done(built);
      },
      (err: unknown) => {
        clearTimeout(timer);
        fail(
          err instanceof RuntimeEnvSetupError
            ? err
            : new RuntimeEnvSetupError(
                `Cannot set up the runtime environment: ${err instanceof Error ? err.message : String(err)}`,
              ),
        );
      },
    );
  });
}

type Source =
  | { readonly kind: "dir"; readonly path: string; readonly files: readonly string[] }
  | { readonly kind: "zip" | "tgz"; readonly path: string };

/** Whether a package spec names a local path or tarball (which must be shipped to other nodes). */
export function isLocalSpec(spec: string): boolean {
  return /^(\.{1,2}\/|\/|file:)/.test(spec) || /\.(tgz|tar\.gz)$/.test(spec);
}

/** The spec handed to the installer: local paths made absolute (the installer runs elsewhere). */
function installSpec(spec: string): string {
  if (!isLocalSpec(spec)) return spec;
  return resolve(spec.replace(/^file:/, ""));
}

/** The files under `root` that `excluded` keeps, as sorted `/`-separated relative paths. */
export function listFiles(root: string, excluded: Excluder): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const entries = readdirSync(join(root, rel), { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
    );
    for (const e of entries) {
      const path = rel === "" ? e.name : `${rel}/${e.name}`;
      let isDir = e.isDirectory();
      if (e.isSymbolicLink()) {
        try {
          isDir = statSync(join(root, path)).isDirectory();
        } catch {
          continue; // a dangling link: nothing to copy
        }
      } else if (!isDir && !e.isFile()) continue;
      if (excluded(path, isDir)) continue;
      if (isDir) walk(path);
      else out.push(path);
    }
  };
  walk("");
  return out;
}

function describeSource(env: CompiledRuntimeEnv, excluded: Excluder): Source | undefined {
  if (env.workingDir === undefined) return undefined;
  const path = resolve(env.workingDir);
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(path);
  } catch {
    throw new RuntimeEnvSetupError(
      `runtimeEnv.workingDir ${JSON.stringify(env.workingDir)} does not exist (looked for ${path}); pass an existing directory, .zip or .tar.gz`,
    );
  }
  if (st.isDirectory()) return { kind: "dir", path, files: listFiles(path, excluded) };
  if (/\.zip$/i.test(path)) return { kind: "zip", path };
  if (/\.(tar\.gz|tgz)$/i.test(path)) return { kind: "tgz", path };
  throw new RuntimeEnvSetupError(
    `runtimeEnv.workingDir ${JSON.stringify(env.workingDir)} is neither a directory nor a .zip or .tar.gz archive`,
  );
}

function contentHash(env: CompiledRuntimeEnv, source: Source | undefined, specs: readonly string[]): string {
  const h = new Bun.CryptoHasher("sha256");
  h.update(`rayts-env-v1\0excludes:${JSON.stringify(env.excludes ?? [])}\0`);
  if (source?.kind === "dir") {
    for (const file of source.files) {
      h.update(`file:${file}\0`);
      h.update(readFileSync(join(source.path, file)));
      h.update("\0");
    }
  } else if (source !== undefined) {
    h.update(`${source.kind}:`);
    h.update(readFileSync(source.path));
    h.update("\0");
  }
  for (const spec of specs) {
    h.update(`pkg:${spec}\0`);
    // A local tarball is identified by its bytes, so a rebuilt one makes a new environment.
    if (spec.startsWith("/") && existsSync(spec) && statSync(spec).isFile()) h.update(readFileSync(spec));
  }
  return h.digest("hex").slice(0, 24);
}

/** Runs one setup step; a non-zero exit is a {@link RuntimeEnvSetupError} carrying its output. */
export async function run(
  ctl: Control,
  what: string,
  cmd: string[],
  cwd: string,
  env?: Record<string, string>,
): Promise<void> {
  if (ctl.cancelled) throw new RuntimeEnvSetupError(`${what} was cancelled`);
  let proc: Subprocess<"ignore", "pipe", "pipe">;
  try {
    proc = Bun.spawn(cmd, { cwd, env: env ?? process.env, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
  } catch (err) {
    throw new RuntimeEnvSetupError(`${what} could not start: ${err instanceof Error ? err.message : err}`);
  }
  ctl.procs.add(proc);
  const [out, errText, code] = await Promise.all([
    new Response(proc.stdout).text(),
    new Response(proc.stderr).text(),
    proc.exited,
  ]);
  ctl.procs.delete(proc);
  if (code !== 0) {
    const text = `${errText.trim()}\n${out.trim()}`.trim();
    const shown = text.length > MAX_OUTPUT ? `…${text.slice(-MAX_OUTPUT)}` : text;
    throw new RuntimeEnvSetupError(`${what} failed (exit code ${code}):\n${shown}`);
  }
}

/** The path of `tool` on this node, or a {@link RuntimeEnvSetupError} saying it is missing. */
export function need(tool: string, why: string): string {
  const path = Bun.which(tool);
  if (path === null) {
    throw new RuntimeEnvSetupError(
      `Cannot ${why}: \`${tool}\` is not on this node's PATH; install it there or pass a directory as runtimeEnv.workingDir`,
    );
  }
  return path;
}

/** Removes excluded paths from an unpacked archive. */
function prune(root: string, excluded: Excluder, rel = ""): void {
  for (const e of readdirSync(join(root, rel), { withFileTypes: true })) {
    const path = rel === "" ? e.name : `${rel}/${e.name}`;
    const isDir = e.isDirectory();
    if (excluded(path, isDir)) rmSync(join(root, path), { recursive: true, force: true });
    else if (isDir) prune(root, excluded, path);
  }
}

async function unpack(ctl: Control, source: Source, into: string, excluded: Excluder): Promise<void> {
  if (source.kind === "dir") {
    for (const file of source.files) {
      const to = join(into, file);
      mkdirSync(dirname(to), { recursive: true });
      copyFileSync(join(source.path, file), to);
    }
    mkdirSync(into, { recursive: true });
    return;
  }
  const raw = `${into}.raw`;
  mkdirSync(raw, { recursive: true });
  const name = basename(source.path);
  if (source.kind === "zip") {
    const unzip = need("unzip", `unpack ${name}`);
    await run(ctl, `Unpacking ${name}`, [unzip, "-q", source.path, "-d", raw], raw);
  } else {
    const tar = need("tar", `unpack ${name}`);
    await run(ctl, `Unpacking ${name}`, [tar, "-xzf", source.path, "-C", raw], raw);
  }
  // An archive holding one top-level directory (how most are made) has that directory as its root.
  const top = readdirSync(raw, { withFileTypes: true });
  const only = top.length === 1 && top[0]?.isDirectory() ? join(raw, top[0].name) : raw;
  renameSync(only, into);
  rmSync(raw, { recursive: true, force: true });
  prune(into, excluded);
}

/** Runs Bun's installer: this very executable (the rayts binary becomes Bun with BUN_BE_BUN=1). */
async function install(ctl: Control, specs: readonly string[], into: string): Promise<void> {
  mkdirSync(into, { recursive: true });
  writeFileSync(
    join(into, "package.json"),
    `${JSON.stringify({ name: "rayts-env", private: true }, null, 2)}\n`,
  );
  await runBun(ctl, `Installing ${specs.join(", ")}`, ["add", ...specs], into);
}

/** Runs Bun (this executable with BUN_BE_BUN=1) with `args` in `cwd` as one setup step. */
export function runBun(ctl: Control, what: string, args: readonly string[], cwd: string): Promise<void> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  env.BUN_BE_BUN = "1";
  return run(ctl, what, [process.execPath, ...args], cwd, env);
}

async function build(env: CompiledRuntimeEnv, ctl: Control): Promise<BuiltEnv> {
  const excluded = compileExcludes(env.excludes ?? []);
  const source = describeSource(env, excluded);
  const specs = (env.packages ?? []).map(installSpec);
  const hash = contentHash(env, source, specs);
  const cache = envCacheDir();
  const dir = join(cache, hash);
  const built = (): BuiltEnv => {
    const wd = join(dir, "wd");
    const pkg = join(dir, "pkg");
    const cwd = source !== undefined ? wd : pkg;
    // The working directory is the work's module root: bare specifiers (`import("lib/util.ts")`)
    // resolve in it too, after the installed packages.
    const nodePath = [join(pkg, "node_modules"), join(wd, "node_modules"), wd].filter((p) => existsSync(p));
    return { hash, dir, cwd, nodePath };
  };
  if (existsSync(join(dir, "rayts-env.json"))) return built();
  mkdirSync(cache, { recursive: true });
  const tmp = join(cache, `${hash}.building-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  try {
    mkdirSync(tmp, { recursive: true });
    if (source !== undefined) await unpack(ctl, source, join(tmp, "wd"), excluded);
    if (specs.length > 0) await install(ctl, specs, join(tmp, "pkg"));
    if (ctl.cancelled) throw new RuntimeEnvSetupError("Setting up the runtime environment was cancelled");
    writeFileSync(join(tmp, "rayts-env.json"), `${JSON.stringify({ hash, env, builtBy: process.pid })}\n`);
    try {
      renameSync(tmp, dir);
    } catch (err) {
      // Another process finished the same environment first: use theirs.
      if (!existsSync(join(dir, "rayts-env.json"))) throw err;
      rmSync(tmp, { recursive: true, force: true });
      return built();
    }
    appendFileSync(join(cache, BUILD_LOG), `${hash} ${process.pid}\n`);
    return built();
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    rmSync(`${join(tmp, "wd")}.raw`, { recursive: true, force: true });
    throw err;
  }
}
