/**
 * A node [Ray's raylet]: the worker pool, the local scheduler, the shm object store and the object
 * table. It implements {@link NodeApi} for every caller: the in-process driver calls it directly,
 * Worker threads through their message channel (see `worker-link.ts`), and a network transport can
 * front it unchanged.
 */
import type { ObjectLostError } from "./errors.ts";
import type { Head } from "./head.ts";
import { clusterNodes, clusterResources } from "./node-cluster-info.ts";
import { EntryScripts } from "./node-entry-scripts.ts";
import { GcRounds } from "./node-gc.ts";
import { type LogRelay, relayLog, warn } from "./node-log-relay.ts";
import { CallerObjects } from "./node-objects.ts";
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
import { STARTUP_CONCURRENCY_ENV, startupConcurrency } from "./worker/boot-gate.ts";
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
  /** Per-caller books of references and pins, hand-outs, blocking gets and waits. */
  readonly #callers = new CallerObjects(this);
  /** Entry scripts of remote drivers and their job packages. */
  readonly #entries: EntryScripts;
  #state: NodeState = "RUNNING";
  /** Garbage-collection rounds across the workers (see {@link collectWorkers}). */
  readonly #gc: GcRounds;
  /** Sweeps the node thread's own dead refs and views (set by the driver runtime). */
  reclaimLocal: () => void = () => {};
  /** The head's node, on the other nodes of a running cluster: named actors live in its table. */
  headNodeId: string | undefined = undefined;
  /** The other nodes tasks may be forwarded to (set by the head process). */
  cluster: ClusterView | undefined = undefined;
  /** Sends a task's console output to a caller in another process (see {@link LogRelay}). */
  logRelay: LogRelay | undefined = undefined;
  /** Where this node listens (`host:port`), once it serves a cluster; "" on the embedded cluster. */
  #address = "";
  /** Objects across nodes: owner-side locations and borrowers, pulls (once the node has an address). */
  objects: ObjectDirectory | undefined = undefined;

  constructor(head: Head, config: NodeConfig) {
    // First: a bad value fails the node with a clear error before it creates anything.
    const startup = startupConcurrency(process.env[STARTUP_CONCURRENCY_ENV]);
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
      { keepIdle: Math.max(1, Math.ceil(config.resources.CPU ?? 1)), startupConcurrency: startup },
    );
    this.#entries = new EntryScripts(config.entryScript, this.pool);
    this.#gc = new GcRounds(this.pool);
    this.store.heldHook = () => this.#gc.collectSoon(() => this.store.holdsReleasedLarge());
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
      entryScripts: this.#entries.localPaths(),
      moduleRoots: this.#entries.moduleRoots(),
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
    this.#entries.add(path, pkg, dir);
  }

  /** Every entry script workers of this node load (paths on their drivers' machines). */
  entryScripts(): string[] {
    return this.#entries.all();
  }

  /** The job package entry script `path` came with, if any. */
  entryPackage(path: string): JobPackageRef | undefined {
    return this.#entries.packageOf(path);
  }

  // ---- NodeContext ---------------------------------------------------------------------------

  holdFor(caller: CallerId, id: string): void {
    this.#callers.holdFor(caller, id);
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
    return this.#callers.argValues(caller, argRefs);
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
    warn(this, message, taskId, actorId);
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
    return this.#callers.get(caller, ids, timeoutMs);
  }

  waitObjects(
    caller: CallerId,
    ids: readonly string[],
    numReturns: number,
    timeoutMs: number | undefined,
  ): Promise<boolean[]> {
    return this.#callers.wait(caller, ids, numReturns, timeoutMs);
  }

  addRefs(caller: CallerId, ids: readonly string[]): void {
    this.#callers.addRefs(caller, ids);
  }

  borrowObjects(caller: CallerId, ids: readonly string[], owner: string): void {
    const remote = owner !== "" && owner !== this.#address && this.objects !== undefined;
    for (const id of ids) {
      if (remote) this.store.expectBorrowed(id, owner);
      this.holdFor(caller, id);
    }
  }

  removeRefs(caller: CallerId, ids: readonly string[]): void {
    this.#callers.removeRefs(caller, ids);
  }

  unpin(caller: CallerId, id: string): void {
    this.#callers.unpin(caller, id);
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

  /** Frees the objects here and resolves once the other nodes holding copies have dropped them. */
  async freeObjects(_caller: CallerId, ids: readonly string[]): Promise<void> {
    for (const id of ids) this.store.free(id);
    await this.objects?.settled();
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
    return clusterNodes(this.#head, this.info(), this.cluster);
  }

  async clusterResources(): Promise<Record<string, number>> {
    return clusterResources(this.resources, this.cluster, "total");
  }

  async availableResources(): Promise<Record<string, number>> {
    return clusterResources(this.resources, this.cluster, "available");
  }

  // ---- workers -------------------------------------------------------------------------------

  /**
   * Console output of a worker running task `taskId` (prefixed already): relayed to the process that
   * submitted the task or its first ancestor submitted from another process; an actor's output
   * (`actorId`) goes to the process that created it (or up the task that did); dropped when none is
   * known here (a finished parent).
   */
  relayLog(taskId: string, text: string, err: boolean, actorId?: string): void {
    relayLog(this, taskId, text, err, actorId);
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
    this.#callers.dropCaller(caller);
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
    return this.#gc.collect();
  }

  /** Garbage-collection rounds started so far (`GET /objects` shows it). */
  get gcRounds(): number {
    return this.#gc.rounds;
  }

  /** A worker answered a garbage-collection round (see collectWorkers). */
  gcAck(w: WorkerProc, id: number): void {
    this.#gc.ack(w, id);
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
    this.#gc.close();
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
