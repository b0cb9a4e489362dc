/**
 * The entry scripts of remote drivers a node's workers load (with their driver code blanked out),
 * and the job packages they came with: which copy of a package's root each loads from on this node,
 * and which hash was registered last for each root, so changed job files retire older workers.
 */
import type { JobPackageRef } from "./shipping/job-package.ts";
import type { WorkerPool } from "./worker/worker-pool.ts";

export class EntryScripts {
  /** The node's own entry script (it is not registered again). */
  readonly #own: string | undefined;
  readonly #pool: WorkerPool;
  /**
   * Entry scripts of remote drivers (path on the driver's machine → path workers load here): workers
   * load them with their driver code blanked out.
   */
  readonly #entryScripts = new Map<string, string>();
  /** The job package each entry script came with, passed on with it to other nodes. */
  readonly #entryPackages = new Map<string, JobPackageRef>();
  /** Job packages unpacked on this node: root on the driver's machine → the copy here. */
  readonly #moduleRoots = new Map<string, string>();
  /** The hash of the last job package registered for each root (on its driver's machine). */
  readonly #rootHashes = new Map<string, string>();

  constructor(own: string | undefined, pool: WorkerPool) {
    this.#own = own;
    this.#pool = pool;
  }

  /** The paths a new worker loads (on this node). */
  localPaths(): string[] {
    return [...this.#entryScripts.values()];
  }

  /** Package roots a new worker loads from their copies here: [root on the driver's machine, copy]. */
  moduleRoots(): Array<[string, string]> {
    return [...this.#moduleRoots];
  }

  /** See {@link Node.addEntryScript}. */
  add(path: string, pkg?: JobPackageRef, dir?: string): void {
    let replaced = false;
    if (pkg !== undefined) {
      this.#entryPackages.set(path, pkg);
      const before = this.#rootHashes.get(pkg.root);
      this.#rootHashes.set(pkg.root, pkg.hash);
      replaced = before !== undefined && before !== pkg.hash;
    }
    if (path === this.#own) return;
    let local = path;
    let root: readonly [string, string] | undefined;
    if (pkg !== undefined && dir !== undefined) {
      root = [pkg.root, dir];
      if (path.startsWith(`${pkg.root}/`)) local = dir + path.slice(pkg.root.length);
    }
    if (replaced && root !== undefined) this.#remapEntryScripts(root[0], root[1]);
    const sameRoot = root === undefined || this.#moduleRoots.get(root[0]) === root[1];
    const known = this.#entryScripts.get(path) === local && sameRoot;
    this.#entryScripts.set(path, local);
    if (root !== undefined) this.#moduleRoots.set(root[0], root[1]);
    // Workers import a module once per path: those that may hold the older files are retired (idle
    // ones end now, busy ones after their current work), and fresh ones load the new files.
    if (replaced) this.#pool.retireTaskWorkers();
    if (known) return;
    const m =
      root === undefined
        ? { t: "entry", path: local }
        : { t: "entry", path: local, root: root[0], dir: root[1] };
    for (const w of this.#pool.workers()) if (!w.retired) w.send(m);
  }

  /** Entry scripts that loaded from the older copy of a package's root load from its new copy. */
  #remapEntryScripts(root: string, dir: string): void {
    const old = this.#moduleRoots.get(root);
    if (old === undefined || old === dir) return;
    for (const [path, local] of this.#entryScripts) {
      if (local.startsWith(`${old}/`)) this.#entryScripts.set(path, dir + local.slice(old.length));
    }
  }

  /** Every entry script workers of this node load (paths on their drivers' machines). */
  all(): string[] {
    const own = this.#own;
    return own === undefined ? [...this.#entryScripts.keys()] : [own, ...this.#entryScripts.keys()];
  }

  /** The job package entry script `path` came with, if any. */
  packageOf(path: string): JobPackageRef | undefined {
    return this.#entryPackages.get(path);
  }
}
