/**
 * A node [Ray's raylet]: the worker pool, the local scheduler, the shm object store and the object
 * table. It implements {@link NodeApi} for every caller: the in-process driver calls it directly,
 * Worker threads through their message channel (see `worker-link.ts`), and a network transport can
 * front it unchanged.
 */
import { GetTimeoutError, type ObjectLostError } from "./errors.ts";
import type { Head } from "./head.ts";
import { PlacementGroupManager } from "./placement/pg-manager.ts";
import type { BundleReply, PlacementGroupInfo, PlacementGroupSpec } from "./placement/pg-types.ts";
import { ActorManager } from "./runtime/actor-manager.ts";
import { randomId } from "./runtime/ids.ts";
import { keptAlive } from "./runtime/keep-alive.ts";
import type { CallerId, NodeApi, StreamStep } from "./runtime/node-api.ts";
import { toPayload } from "./runtime/payload.ts";
import type {
  ActorCallSpec,
  ActorHandleState,
  ActorSpec,
  NodeInfo,
  ObjectValue,
  Payload,
  TaskSpec,
} from "./runtime/protocol.ts";
import { StreamTable } from "./runtime/stream-table.ts";
import type { ClusterView } from "./scheduler/cluster-view.ts";
import type { NodeContext } from "./scheduler/node-context.ts";
import { NodeResources } from "./scheduler/node-resources.ts";
import { TaskManager } from "./scheduler/task-manager.ts";
import { serialize } from "./serialize/codec.ts";
import type { JobPackageRef } from "./shipping/job-package.ts";
import { ObjectDirectory } from "./store/object-directory.ts";
import { ObjectStore, objectLostError } from "./store/object-store.ts";
import { ShmArena } from "./store/shm-arena.ts";
import { sweepStaleSegments } from "./store/stale-segments.ts";
import { handleWorkerBatch } from "./worker/worker-messages.ts";
import { WorkerPool } from "./worker/worker-pool.ts";
import type { WorkerInit, WorkerProc } from "./worker/worker-proc.ts";

export interface NodeConfig {
  readonly resources: Readonly<Record<string, number>>;
  readonly gpuIds: readonly number[];
  readonly objectStoreMemory: number;
  readonly jobId: string;
  readonly namespace: string;
  readonly logToDriver: boolean;
  /** Workers send console output here to relay to the work's driver (see {@link Node.relayLog}). */
  readonly relayLogs?: boolean;
  readonly entryScript: string | undefined;
  readonly jobEnv: Readonly<Record<string, string>> | undefined;
}

type NodeState = "RUNNING" | "STOPPED";

/** Callers from this id up are drivers in other processes (`cluster/driver-service.ts`). */
const FIRST_DRIVER_CALLER = 1_000_000;

/** Per-caller counts of references and pins, so a dead worker's share can be released. */
class CallerBook {
  readonly refs = new Map<string, number>();
  readonly pins = new Map<string, number>();
}

function bump(m: Map<string, number>, id: string, d: number): void {
  const n = (m.get(id) ?? 0) + d;
  if (n <= 0) m.delete(id);
  else m.set(id, n);
}

export class Node implements NodeApi, NodeContext {
  readonly nodeId: string = randomId(16);
  readonly store: ObjectStore;
  readonly resources: NodeResources;
  readonly pool: WorkerPool;
  readonly streams: StreamTable;
  readonly tasks: TaskManager;
  readonly actors: ActorManager;
  readonly placementGroups: PlacementGroupManager;
  readonly #head: Head;
  readonly #config: NodeConfig;
  readonly #arena: ShmArena | undefined;
  readonly #books = new Map<CallerId, CallerBook>();
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
  #state: NodeState = "RUNNING";
  #gcRound = 0;
  readonly #gcWaiters = new Map<number, { waiting: Set<number>; done: () => void }>();
  /** Sweeps the node thread's own dead refs and views (set by the driver runtime). */
  reclaimLocal: () => void = () => {};
  /** The head's node, on the other nodes of a running cluster: named actors live in its table. */
  headNodeId: string | undefined = undefined;
  /** The other nodes tasks may be forwarded to (set by the head process). */
  cluster: ClusterView | undefined = undefined;
  /**
   * Sends console output of task `taskId` to `caller` when that caller is a connection of another
   * process (a driver, or a node that forwarded the task); false when it is not.
   */
  logRelay:
    | ((caller: CallerId, taskId: string, text: string, err: boolean, actorId?: string) => boolean)
    | undefined = undefined;
  /** Where this node listens (`host:port`), once it serves a cluster; "" on the embedded cluster. */
  #address = "";
  /** Objects across nodes: owner-side locations and borrowers, pulls (once the node has an address). */
  objects: ObjectDirectory | undefined = undefined;

  constructor(head: Head, config: NodeConfig) {
    this.#head = head;
    this.#config = config;
    if (config.objectStoreMemory > 0) sweepStaleSegments();
    this.#arena =
      config.objectStoreMemory > 0
        ? ShmArena.create(`/rayts_${process.pid}_${randomId(8)}`, config.objectStoreMemory)
        : undefined;
    this.store = new ObjectStore(this.#arena);
    this.resources = new NodeResources(config.resources, config.gpuIds);
    this.streams = new StreamTable(this.store);
    this.tasks = new TaskManager(this);
    this.actors = new ActorManager(this, head, () => this.headNodeId);
    this.placementGroups = new PlacementGroupManager(this.nodeId, this.resources);
    this.placementGroups.wire(
      {
        evictGroup: (pgId) => {
          this.tasks.evictGroup(pgId);
          this.actors.evictGroup(pgId);
        },
      },
      () => {
        this.actors.placeWaiting();
        this.tasks.schedule();
      },
      () => this.resourcesFreed(),
    );
    this.pool = new WorkerPool(
      {
        onMessages: (w, batch) => handleWorkerBatch(this, w, batch),
        onExit: (w, code, err) => this.#onWorkerExit(w, code, err),
        init: (callerId) => this.#workerInit(callerId),
      },
      Math.max(1, Math.ceil(config.resources.CPU ?? 1)),
    );
    head.registerNode(this.info());
    this.pool.prestart(Math.min(2, Math.max(1, Math.ceil(config.resources.CPU ?? 1))));
  }

  get state(): NodeState {
    return this.#state;
  }

  get shmHeaderAddress(): number {
    return this.#arena?.headerAddress ?? 0;
  }

  /** The shm segment's name, for callers in other processes of this machine to attach. */
  get shmName(): string | undefined {
    return this.#arena?.name;
  }

  get arena(): ShmArena | undefined {
    return this.#arena;
  }

  /** Where this node listens (`host:port`); "" on the embedded cluster. */
  get address(): string {
    return this.#address;
  }

  /**
   * The node serves a cluster at `address`: objects get this node as their owner's address and move
   * between nodes through its object directory.
   */
  serveObjectsAt(address: string, token: string, log: (line: string) => void): void {
    this.#address = address;
    this.objects = new ObjectDirectory({
      store: this.store,
      token,
      address,
      errorPayload: (err) => this.errorPayload(err),
      log,
      reclaim: () => this.reclaimForWorker(),
    });
    this.objects.watchNodes(() => this.cluster?.others().map((n) => n.address));
    for (const w of this.pool.workers()) w.send({ t: "owner", address });
  }

  info(): NodeInfo {
    return {
      nodeId: this.nodeId,
      address: this.#address,
      alive: this.#state === "RUNNING",
      resources: this.resources.total(),
      labels: {},
    };
  }

  #workerInit(callerId: number): WorkerInit {
    const c = this.#config;
    return {
      t: "init",
      callerId,
      nodeId: this.nodeId,
      jobId: c.jobId,
      namespace: c.namespace,
      shmHeader: this.shmHeaderAddress,
      logToDriver: c.logToDriver,
      relayLogs: c.relayLogs === true,
      entryScript: c.entryScript,
      entryScripts: [...this.#entryScripts.values()],
      moduleRoots: [...this.#moduleRoots],
      jobEnv: c.jobEnv,
      argv: process.argv,
      owner: this.#address,
    };
  }

  /**
   * A driver in another process runs `path` as its entry script: every worker, now and later, loads
   * that module with its driver code blanked out, as it does the node's own entry script. With `pkg`
   * (the job's package) and `dir` (its unpacked copy on this node), modules under the package's root
   * load from the copy instead (see `shipping/package-cache.ts`); `pkg` alone is only remembered, to
   * be passed on with the script to other nodes. A package with another hash under a root seen
   * before (the job's files changed) retires the task workers that may hold the older modules.
   */
  addEntryScript(path: string, pkg?: JobPackageRef, dir?: string): void {
    let replaced = false;
    if (pkg !== undefined) {
      this.#entryPackages.set(path, pkg);
      const before = this.#rootHashes.get(pkg.root);
      this.#rootHashes.set(pkg.root, pkg.hash);
      replaced = before !== undefined && before !== pkg.hash;
    }
    if (path === this.#config.entryScript) return;
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
    if (replaced) this.pool.retireTaskWorkers();
    if (known) return;
    const m =
      root === undefined
        ? { t: "entry", path: local }
        : { t: "entry", path: local, root: root[0], dir: root[1] };
    for (const w of this.pool.workers()) if (!w.retired) w.send(m);
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
  entryScripts(): string[] {
    const own = this.#config.entryScript;
    return own === undefined ? [...this.#entryScripts.keys()] : [own, ...this.#entryScripts.keys()];
  }

  /** The job package entry script `path` came with, if any. */
  entryPackage(path: string): JobPackageRef | undefined {
    return this.#entryPackages.get(path);
  }

  // ---- NodeContext ---------------------------------------------------------------------------

  #book(caller: CallerId): CallerBook | undefined {
    if (caller === 0) return undefined;
    let b = this.#books.get(caller);
    if (b === undefined) {
      b = new CallerBook();
      this.#books.set(caller, b);
    }
    return b;
  }

  holdFor(caller: CallerId, id: string): void {
    if (this.store.addRef(id)) {
      const b = this.#book(caller);
      if (b !== undefined) bump(b.refs, id, 1);
    }
  }

  pinArgs(
    argRefs: ReadonlyArray<readonly [number, string]>,
    contained: readonly string[],
  ): string | undefined {
    let lost: string | undefined;
    for (const [, id] of argRefs) if (!this.store.addRef(id)) lost ??= id;
    for (const id of contained) if (!this.store.addRef(id)) lost ??= id;
    return lost;
  }

  unpinArgs(argRefs: ReadonlyArray<readonly [number, string]>, contained: readonly string[]): void {
    for (const [, id] of argRefs) this.store.removeRef(id);
    for (const id of contained) this.store.removeRef(id);
  }

  argValues(caller: CallerId, argRefs: ReadonlyArray<readonly [number, string]>): ObjectValue[] {
    const out: ObjectValue[] = [];
    for (const [, id] of argRefs) out.push(this.#handOut(caller, id, this.store.peek(id) as ObjectValue));
    return out;
  }

  /** Gives a caller an object's value, pinning its shm block until the caller unpins it. */
  #handOut(caller: CallerId, id: string, v: ObjectValue): ObjectValue {
    const p = v.payload;
    const dir = this.objects;
    if (dir !== undefined) {
      // In a cluster the value may be copied to another node: name its nested refs' owners.
      const c = this.store.containedOf(id);
      if (c !== undefined && c.length > 0)
        v = { ...v, contained: c.map((cid) => [cid, dir.ownerOf(cid)] as const) };
    }
    if (caller !== 0 && p.t === 0 && p.bytes.byteLength !== p.bytes.buffer.byteLength) {
      // A view into a result batch: posting it would clone the whole batch buffer.
      return { payload: { t: 0, bytes: p.bytes.slice() }, err: v.err };
    }
    if (p.t === 1) {
      this.store.pin(id);
      const b = this.#book(caller);
      if (b !== undefined) bump(b.pins, id, 1);
    }
    return v;
  }

  lostError(id: string): ObjectLostError {
    return objectLostError(id);
  }

  errorPayload(err: Error): Payload {
    return toPayload(serialize(err, "error"), undefined, () => -1);
  }

  dropPayload(p: Payload): void {
    if (p.t === 1) this.store.freeShm(p.off);
  }

  warn(message: string, taskId?: string, actorId?: string): void {
    const line = `rayts: warning: ${message}\n`;
    process.stderr.write(line);
    // A connected driver sees its work's warnings as it sees its output.
    const about = taskId ?? actorId;
    if (about !== undefined && this.logRelay !== undefined) this.relayLog(about, line, true, actorId);
  }

  resourcesFreed(): void {
    this.placementGroups.placePending();
    this.actors.placeWaiting();
    this.tasks.schedule();
  }

  // ---- NodeApi -------------------------------------------------------------------------------

  submitTask(caller: CallerId, spec: TaskSpec): void {
    if (this.cluster !== undefined && spec.job === undefined)
      spec.job = this.#jobOf(caller, spec.parentTaskId);
    this.tasks.submit(caller, spec);
  }

  createActor(caller: CallerId, spec: ActorSpec): void {
    if (this.cluster !== undefined && spec.job === undefined)
      spec.job = this.#jobOf(caller, spec.parentTaskId);
    this.actors.create(caller, spec);
  }

  /**
   * The job of work `caller` submits (on a cluster): a driver's own job (`<node id>/<caller>`), else
   * the job of the task or actor the submitting worker runs; undefined when none is known here.
   */
  #jobOf(caller: CallerId, parentTaskId: string | undefined): string | undefined {
    if (caller >= FIRST_DRIVER_CALLER) return `${this.nodeId}/${caller}`;
    if (parentTaskId !== undefined) {
      const parent = this.tasks.get(parentTaskId);
      if (parent !== undefined) return parent.spec.job;
    }
    const actorId = caller === 0 ? undefined : this.pool.get(caller)?.actorId;
    return actorId === undefined ? undefined : this.actors.jobOf(actorId);
  }

  jobEnded(_caller: CallerId, job: string): void {
    this.tasks.jobEnded(job);
    this.actors.jobEnded(job);
    this.placementGroups.dropJob(job);
  }

  submitActorCall(caller: CallerId, spec: ActorCallSpec): void {
    this.actors.submitCall(caller, spec);
  }

  putObject(caller: CallerId, id: string, payload: Payload, contained: readonly string[]): void {
    if (payload.t === 1) this.store.claimPushed(payload.off);
    this.store.expect(id);
    this.holdFor(caller, id);
    this.store.seal(id, { payload, err: false }, contained);
  }

  getObjects(
    caller: CallerId,
    ids: readonly string[],
    timeoutMs: number | undefined,
  ): Promise<ObjectValue[]> {
    const store = this.store;
    let missing = 0;
    for (const id of ids) {
      if (store.isReady(id)) continue;
      if (!store.has(id)) return Promise.reject(objectLostError(id));
      missing++;
    }
    if (missing === 0)
      return Promise.resolve(ids.map((id) => this.#handOut(caller, id, store.peek(id) as ObjectValue)));
    const worker = caller === 0 ? undefined : this.pool.get(caller);
    const p = new Promise<ObjectValue[]>((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiting = new Set<string>();
      const settle = () => {
        if (timer !== undefined) clearTimeout(timer);
        if (worker !== undefined) this.tasks.unblocked(worker);
      };
      const onOne = () => {
        missing--;
        if (missing > 0) return;
        settle();
        const out: ObjectValue[] = [];
        for (const id of ids) {
          const v = store.peek(id);
          if (v === undefined) {
            reject(objectLostError(id));
            return;
          }
          out.push(this.#handOut(caller, id, v));
        }
        resolve(out);
      };
      for (const id of ids) {
        if (store.isReady(id) || waiting.has(id)) {
          if (waiting.has(id)) missing--;
          continue;
        }
        waiting.add(id);
        store.onReady(id, onOne);
      }
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          for (const id of waiting) store.offReady(id, onOne);
          missing = -1;
          settle();
          reject(
            new GetTimeoutError(
              `Get timed out: ${ids.length === 1 ? `object ${ids[0]} was` : `${waiting.size} of ${ids.length} objects were`} not ready after ${timeoutMs} ms; raise timeoutMs or check that the task can run (nothing infeasible, no deadlock)`,
            ),
          );
        }, timeoutMs);
      }
      if (worker !== undefined) this.tasks.blocked(worker);
    });
    return caller === 0 ? keptAlive(p) : p;
  }

  waitObjects(
    caller: CallerId,
    ids: readonly string[],
    numReturns: number,
    timeoutMs: number | undefined,
  ): Promise<boolean[]> {
    const store = this.store;
    // Ready means sealed somewhere: an object on another node counts without being pulled here.
    const flags = () => ids.map((id) => store.isAvailable(id) || !store.has(id));
    const readyCount = () => {
      let n = 0;
      for (const id of ids) if (store.isAvailable(id) || !store.has(id)) n++;
      return n;
    };
    if (readyCount() >= numReturns || timeoutMs === 0) return Promise.resolve(flags());
    const worker = caller === 0 ? undefined : this.pool.get(caller);
    const p = new Promise<boolean[]>((resolve) => {
      let done = false;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const pending = ids.filter((id) => !store.isAvailable(id) && store.has(id));
      const finish = () => {
        if (done) return;
        done = true;
        if (timer !== undefined) clearTimeout(timer);
        for (const id of pending) store.offAvailable(id, check);
        if (worker !== undefined) this.tasks.unblocked(worker);
        resolve(flags());
      };
      const check = () => {
        if (readyCount() >= numReturns) queueMicrotask(finish);
      };
      for (const id of new Set(pending)) store.onAvailable(id, check);
      if (timeoutMs !== undefined) timer = setTimeout(finish, timeoutMs);
      if (worker !== undefined) this.tasks.blocked(worker);
    });
    return caller === 0 ? keptAlive(p) : p;
  }

  addRefs(caller: CallerId, ids: readonly string[]): void {
    const b = this.#book(caller);
    for (const id of ids) if (this.store.addRef(id) && b !== undefined) bump(b.refs, id, 1);
  }

  borrowObjects(caller: CallerId, ids: readonly string[], owner: string): void {
    const remote = owner !== "" && owner !== this.#address && this.objects !== undefined;
    for (const id of ids) {
      if (remote) this.store.expectBorrowed(id, owner);
      this.holdFor(caller, id);
    }
  }

  removeRefs(caller: CallerId, ids: readonly string[]): void {
    const b = this.#book(caller);
    for (const id of ids) {
      if (b !== undefined) {
        if (!b.refs.has(id)) continue;
        bump(b.refs, id, -1);
      }
      this.store.removeRef(id);
    }
  }

  unpin(caller: CallerId, id: string): void {
    const b = this.#book(caller);
    if (b !== undefined) {
      if (!b.pins.has(id)) return;
      bump(b.pins, id, -1);
    }
    this.store.unpin(id);
  }

  cancel(_caller: CallerId, objectId: string, force: boolean, recursive: boolean): void {
    const taskId = objectId.slice(0, 20);
    if (this.tasks.get(taskId) !== undefined) this.tasks.cancel(taskId, force, recursive);
    else this.actors.cancelCall(taskId, force);
  }

  killActor(_caller: CallerId, actorId: string, noRestart: boolean, home?: string): void {
    this.actors.kill(actorId, noRestart, home);
  }

  async getNamedActor(name: string, namespace: string): Promise<ActorHandleState | undefined> {
    return this.actors.lookup(name, namespace);
  }

  async claimActorName(
    _caller: CallerId,
    namespace: string,
    name: string,
    detached: boolean,
    state: ActorHandleState,
  ): Promise<{ actorId: string; home: string } | undefined> {
    return this.actors.claimFor(namespace, name, detached, state);
  }

  releaseActorName(_caller: CallerId, namespace: string, name: string, actorId: string): void {
    this.actors.releaseFor(namespace, name, actorId);
  }

  actorDeath(_caller: CallerId, actorId: string): Promise<Payload> {
    return this.actors.deathOf(actorId);
  }

  streamNext(_caller: CallerId, taskId: string, index: number): Promise<StreamStep> {
    const step = this.streams.next(taskId, index);
    return step instanceof Promise ? (_caller === 0 ? keptAlive(step) : step) : Promise.resolve(step);
  }

  dropStream(_caller: CallerId, taskId: string): void {
    this.streams.drop(taskId);
  }

  resolveActorId(actorId: string): string {
    return this.actors.resolveId(actorId);
  }

  freeObjects(_caller: CallerId, ids: readonly string[]): void {
    for (const id of ids) this.store.free(id);
  }

  createPlacementGroup(caller: CallerId, spec: PlacementGroupSpec): void {
    // A driver's groups (not detached) go when it disconnects; workers' when their job's driver does.
    if (this.cluster !== undefined && !spec.detached && spec.job === undefined)
      spec.job = this.#jobOf(caller, spec.parentTaskId);
    this.placementGroups.create(spec, caller >= FIRST_DRIVER_CALLER ? caller : undefined);
  }

  removePlacementGroup(_caller: CallerId, pgId: string): void {
    this.placementGroups.remove(pgId);
  }

  waitPlacementGroup(pgId: string, timeoutMs: number | undefined): Promise<boolean> {
    return this.placementGroups.wait(pgId, timeoutMs);
  }

  async placementGroupTable(): Promise<PlacementGroupInfo[]> {
    return this.placementGroups.tableAll();
  }

  async prepareBundles(
    _caller: CallerId,
    spec: PlacementGroupSpec,
    indexes: readonly number[],
  ): Promise<BundleReply> {
    return this.placementGroups.prepareBundles(spec, indexes);
  }

  async commitBundles(_caller: CallerId, pgId: string, indexes: readonly number[]): Promise<BundleReply> {
    return this.placementGroups.commitBundles(pgId, indexes);
  }

  async releaseBundles(
    _caller: CallerId,
    pgId: string,
    indexes: readonly number[] | undefined,
  ): Promise<BundleReply> {
    return this.placementGroups.releaseBundles(pgId, indexes);
  }

  async placementGroupByName(name: string, namespace: string): Promise<PlacementGroupInfo | undefined> {
    return this.placementGroups.lookup(name, namespace);
  }

  /** This node and, on the head's node, the other alive nodes with their last reported resources. */
  async nodes(): Promise<NodeInfo[]> {
    this.#head.registerNode(this.info());
    const others = this.cluster?.others() ?? [];
    const known = new Set(others.map((n) => n.nodeId));
    return [
      ...this.#head.nodes().filter((n) => !known.has(n.nodeId)),
      ...others.map((n) => ({
        nodeId: n.nodeId,
        address: n.address,
        alive: true,
        resources: n.total,
        labels: {},
      })),
    ];
  }

  async clusterResources(): Promise<Record<string, number>> {
    return sumResources(
      this.resources.total(),
      this.cluster?.others().map((n) => n.total),
    );
  }

  async availableResources(): Promise<Record<string, number>> {
    return sumResources(
      this.resources.available(),
      this.cluster?.others().map((n) => n.available),
    );
  }

  // ---- workers -------------------------------------------------------------------------------

  /**
   * Console output of a worker running task `taskId` (prefixed already): relayed to the process that
   * submitted the task or its first ancestor submitted from another process; an actor's output
   * (`actorId`) goes to the process that created it (or up the task that did); dropped when none is
   * known here (a finished parent).
   */
  relayLog(taskId: string, text: string, err: boolean, actorId?: string): void {
    // Up the chain of parent tasks to the first one submitted over a connection (Ray: the job's driver).
    let id: string | undefined = taskId;
    for (let hops = 0; id !== undefined && hops < 1000; hops++) {
      const at = this.tasks.callerOf(id);
      if (at === undefined) break;
      if (this.logRelay?.(at.caller, id, text, err) === true) return;
      id = at.parentTaskId;
    }
    // An actor's output (its calls are not tasks here) goes to its creator, then up its tasks.
    if (actorId === undefined) return;
    const creator = this.actors.creatorOf(actorId);
    if (creator === undefined) return;
    if (this.logRelay?.(creator.caller, taskId, text, err, actorId) === true) return;
    if (creator.parentTaskId !== undefined) this.relayLog(creator.parentTaskId, text, err);
  }

  /**
   * A caller's cast failed on the node (`who` names the caller in the warning): a submission's
   * results, or an actor's creation, become that error instead of waiting forever.
   */
  castFailed(who: string, method: string, args: readonly unknown[], err: unknown): void {
    const error = err instanceof Error ? err : new Error(String(err));
    if (method === "submitTask" || method === "submitActorCall") {
      const spec = args[0] as {
        taskId: string;
        numReturns?: number;
        opts?: { numReturns: number };
      };
      const n = spec.numReturns ?? spec.opts?.numReturns ?? 1;
      const payload = this.errorPayload(error);
      for (let i = 1; i <= n; i++)
        this.store.seal(spec.taskId + i.toString(16).padStart(8, "0"), { payload, err: true }, undefined);
      return;
    }
    if (method === "createActor") {
      const spec = args[0] as ActorSpec;
      this.actors.failCreation(spec, error);
      return;
    }
    this.warn(`A request from ${who} failed: ${error.message}`);
  }

  /**
   * A caller is gone (a worker exited, a remote driver disconnected): release every reference and
   * pin it held, so its objects do not leak.
   */
  dropCaller(caller: CallerId): void {
    if (caller >= FIRST_DRIVER_CALLER) this.placementGroups.dropOwner(caller);
    const b = this.#books.get(caller);
    this.#books.delete(caller);
    if (b === undefined) return;
    for (const [id, n] of b.refs) this.store.removeRef(id, n);
    for (const [id, n] of b.pins) for (let i = 0; i < n; i++) this.store.unpin(id);
  }

  /**
   * A driver connected over the network is gone: what it held is released and the non-detached
   * actors it created die (`ActorManager.ownerGone`).
   */
  driverGone(caller: CallerId): void {
    this.dropCaller(caller);
    this.actors.ownerGone(caller);
    // What its tasks and actors started, here and on every other node, ends with it too.
    const job = `${this.nodeId}/${caller}`;
    this.jobEnded(caller, job);
    for (const n of this.cluster?.others() ?? [])
      void this.cluster
        ?.link(n.nodeId)
        .then((l) => l.api.jobEnded(l.caller, job))
        .catch(() => {});
  }

  #onWorkerExit(w: WorkerProc, code: number, error: string | undefined): void {
    if (this.#state !== "RUNNING") return;
    this.dropCaller(w.id);
    if (w.actorId !== undefined) this.actors.workerDied(w, code, error);
    else this.tasks.workerDied(w, code, error);
    this.resourcesFreed();
  }

  /**
   * Asks every worker to collect garbage and release what its dead refs and views held; resolves
   * once each has answered (their releases arrive before their answers) or after a second.
   */
  collectWorkers(): Promise<void> {
    const id = ++this.#gcRound;
    const waiting = new Set<number>();
    for (const w of this.pool.workers()) {
      waiting.add(w.id);
      w.send({ t: "gc", id });
    }
    if (waiting.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, 1000);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.#gcWaiters.set(id, { waiting, done });
    });
  }

  /** A worker answered a garbage-collection round (see collectWorkers). */
  gcAck(w: WorkerProc, id: number): void {
    const round = this.#gcWaiters.get(id);
    if (round === undefined) return;
    round.waiting.delete(w.id);
    if (round.waiting.size === 0) {
      this.#gcWaiters.delete(id);
      round.done();
    }
  }

  /** A worker's store allocation failed: reclaim everywhere, then let it retry. */
  async reclaimForWorker(): Promise<void> {
    Bun.gc(true);
    this.reclaimLocal();
    await this.collectWorkers();
  }

  /** Stops every worker and releases the shm segment. */
  close(): void {
    if (this.#state === "STOPPED") return;
    this.#state = "STOPPED";
    this.pool.close();
    this.tasks.closeAll();
    this.actors.closeAll();
    this.objects?.close();
    this.store.clear();
    if (this.#arena !== undefined) {
      this.#arena.unlink();
      this.#arena.close();
    }
  }
}

/** `own` plus every record of `more`, resource by resource. */
function sumResources(
  own: Readonly<Record<string, number>>,
  more: ReadonlyArray<Readonly<Record<string, number>>> | undefined,
): Record<string, number> {
  const out: Record<string, number> = { ...own };
  for (const r of more ?? []) for (const [k, v] of Object.entries(r)) out[k] = (out[k] ?? 0) + v;
  return out;
}
