/**
 * Actors on a node: placement, a dedicated worker each, calls in submission order, restarts after a
 * crash (`maxRestarts`, `maxTaskRetries`), `kill`, and names per namespace through the head. Calls of
 * generator methods stream their values through the node's stream table, as generator tasks do.
 * On the head's node, an actor that belongs on another node is created there and its calls are
 * passed on (`remote-actors.ts`). Actors waiting for room wait in `actor-waiting.ts` (which sends
 * them on to nodes with room), those waiting for their placement group in `actor-group-waits.ts`.
 */
import { ActorDiedError, RaytsError } from "../errors.ts";
import type { Head } from "../head.ts";
import { groupDemand } from "../placement/pg-demand.ts";
import { needsHost } from "../runtime-env/env-key.ts";
import type { NodeContext } from "../scheduler/node-context.ts";
import type { WorkerProc } from "../worker/worker-proc.ts";
import { callResult, cancelActorCall, pumpCalls, sealCall } from "./actor-calls.ts";
import { ActorDeaths } from "./actor-deaths.ts";
import { GroupWaits } from "./actor-group-waits.ts";
import { ActorNames, type NameHolder, type NameHost } from "./actor-names.ts";
import {
  type ActorRecord,
  type ActorState,
  type CallRecord,
  expectReturns,
  newRecord,
} from "./actor-record.ts";
import { WaitingActors } from "./actor-waiting.ts";
import type { CallerId } from "./node-api.ts";
import { actorPlacement, type Placement } from "./place-actor.ts";
import type { ActorCallSpec, ActorHandleState, ActorSpec, Payload, TaskResult } from "./protocol.ts";
import type { AdoptedCall } from "./remote-actor-record.ts";
import { RemoteActors } from "./remote-actors.ts";

export class ActorManager {
  readonly #ctx: NodeContext;
  readonly #actors = new Map<string, ActorRecord>();
  readonly #remote: RemoteActors;
  readonly #waiting: WaitingActors;
  readonly #deaths: ActorDeaths;
  readonly #names: ActorNames;
  readonly #groupWaits: GroupWaits;

  /** `headNode`: the head's node id, on the other nodes of a running cluster (names live there). */
  constructor(ctx: NodeContext, head: Head, headNode: () => string | undefined = () => undefined) {
    this.#ctx = ctx;
    this.#deaths = new ActorDeaths(ctx);
    const host: NameHost = {
      build: (caller, spec) => this.#build(caller, spec, actorPlacement(this.#ctx, spec)),
      failCreation: (spec, err) => this.failCreation(spec, err),
      submit: (caller, spec, returnIds) => this.#submit(caller, spec, returnIds),
      kill: (actorId, noRestart) => this.kill(actorId, noRestart),
      aliveSpec: (actorId) => {
        const rec = this.#actors.get(actorId);
        if (rec === undefined) return this.#remote.aliveSpec(actorId);
        return rec.state === "DEAD" ? undefined : rec.spec;
      },
    };
    this.#names = new ActorNames(ctx, head, headNode, host);
    this.#groupWaits = new GroupWaits(ctx, this.#names, host);
    this.#remote = new RemoteActors(ctx, {
      dead: (spec, death) => {
        this.#names.release(spec);
        this.#deaths.wake(spec.actorId, death);
      },
      adopt: (spec, creator, restarts, calls) => this.#adopt(spec, creator, restarts, calls),
    });
    this.#waiting = new WaitingActors(ctx, this.#remote, {
      place: (rec) => this.#place(rec),
      moved: (actorId) => this.#actors.delete(actorId),
    });
  }

  get size(): number {
    return this.#actors.size;
  }

  states(): Array<{ actorId: string; className: string; state: ActorState; name: string | undefined }> {
    return [
      ...[...this.#actors.values()].map((a) => ({
        actorId: a.spec.actorId,
        className: a.spec.cls.name,
        state: a.state,
        name: a.spec.opts.name,
      })),
      ...this.#remote.states(),
    ];
  }

  /**
   * Who created actor `actorId` (known here: its record, or the one of an actor placed on another
   * node from here), and the task it was created in: where its console output goes.
   */
  creatorOf(actorId: string): { caller: CallerId; parentTaskId: string | undefined } | undefined {
    const rec = this.#resolve(actorId);
    if (rec !== undefined) return { caller: rec.creator, parentTaskId: rec.spec.parentTaskId };
    return this.#remote.creatorOf(actorId);
  }

  /** The real id behind an alias made by `getIfExists`. */
  resolveId(actorId: string): string {
    return this.#names.resolveId(actorId);
  }

  #resolve(actorId: string): ActorRecord | undefined {
    return this.#actors.get(this.#names.resolveId(actorId));
  }

  /** Creates an actor. Throws when its name is taken (and `getIfExists` is not set). */
  create(caller: CallerId, spec: ActorSpec): void {
    const placed = actorPlacement(this.#ctx, spec);
    if (spec.opts.name !== undefined && !this.#names.claim(caller, spec)) return;
    this.#build(caller, spec, placed);
  }

  /** Claims a name in this process's `Head` for an actor recorded on another node (its `home`). */
  claimFor(
    namespace: string,
    name: string,
    detached: boolean,
    state: ActorHandleState,
  ): NameHolder | undefined {
    return this.#names.claimFor(namespace, name, detached, state);
  }

  /** Releases a name claimed with {@link claimFor} (its actor died on its node). */
  releaseFor(namespace: string, name: string, actorId: string): void {
    this.#names.releaseName(namespace, name, actorId);
  }

  /** Creates the actor (its name claimed already): on another node, or here once placed. */
  #build(caller: CallerId, spec: ActorSpec, placed: Placement): void {
    const { placementDemand, group, target } = placed;
    if (group !== undefined && target === undefined && this.#groupWaits.wait(caller, spec, group)) return;
    if (target !== undefined) {
      this.#remote.create(spec, target, caller);
      return;
    }
    const rec = newRecord(
      spec,
      placementDemand,
      group === undefined ? spec.opts.demand : groupDemand(spec.opts.demand, group),
      group,
      caller,
    );
    this.#actors.set(spec.actorId, rec);
    const lost = this.#ctx.pinArgs(spec.argRefs, spec.contained);
    if (lost !== undefined) {
      this.#die(
        rec,
        this.#ctx.errorPayload(
          new ActorDiedError(`Actor ${spec.cls.name} cannot start: an argument object is lost`, {
            cause: this.#ctx.lostError(lost),
          }),
        ),
      );
      return;
    }
    for (const [, id] of spec.argRefs) {
      if (this.#ctx.store.isReady(id)) continue;
      rec.deps++;
      this.#ctx.store.onReady(id, () => {
        if (--rec.deps === 0) this.#place(rec);
      });
    }
    this.#waiting.warnIfInfeasible(rec, group);
    if (rec.deps === 0) this.#place(rec);
  }

  #place(rec: ActorRecord): void {
    if (rec.state === "DEAD") return;
    for (const [, id] of rec.spec.argRefs) {
      const v = this.#ctx.store.peek(id);
      if (v?.err) {
        this.#die(rec, v.payload);
        return;
      }
    }
    const alloc = this.#ctx.resources.tryAcquire(rec.placementDemand);
    if (alloc === undefined) {
      this.#waiting.add(rec);
      return;
    }
    rec.waitingPlacement = false;
    rec.alloc = alloc;
    // An actor with a `workingDir`/`packages` lives in a worker host of that environment.
    const env = needsHost(rec.spec.opts.runtimeEnv) ? rec.spec.opts.runtimeEnv : undefined;
    const w = this.#ctx.pool.takeForActor(rec.spec.actorId, env);
    rec.worker = w;
    const s = rec.spec;
    w.send({
      t: "actor",
      actorId: s.actorId,
      cls: s.cls,
      args: s.args,
      argRefs: s.argRefs,
      argValues: this.#ctx.argValues(w.id, s.argRefs),
      maxConcurrency: s.opts.maxConcurrency,
      name: s.cls.name,
      namespace: s.namespace,
      gpuIds:
        rec.group === undefined
          ? alloc.gpuIds
          : this.#ctx.placementGroups.gpuIdsFor(rec.group, s.opts.demand),
      resources: s.opts.demand,
      env: s.env,
    });
  }

  /** Creating an actor for a worker failed on the node (a taken name): the actor exists, dead. */
  failCreation(spec: ActorSpec, err: Error): void {
    if (this.#actors.has(spec.actorId)) return;
    const rec = newRecord(spec, spec.opts.placementDemand, spec.opts.demand, undefined, -1);
    this.#actors.set(spec.actorId, rec);
    rec.state = "DEAD";
    rec.death = this.#ctx.errorPayload(
      new ActorDiedError(`Actor ${spec.cls.name} was not created: ${err.message}`, { cause: err }),
    );
  }

  /** Resources were freed: place actors that were waiting for room, in creation order. */
  placeWaiting(): void {
    this.#waiting.placeAll();
  }

  /** Another node reported (or joined): waiting actors go to nodes with room now, if any. */
  respill(): void {
    this.#waiting.respill();
  }

  /** The actor's constructor finished. */
  onReady(actorId: string): void {
    const rec = this.#actors.get(actorId);
    if (rec === undefined || rec.state === "DEAD") return;
    rec.state = "ALIVE";
    const { placementDemand, demand } = rec.spec.opts;
    if (rec.alloc !== undefined && placementDemand !== demand) {
      // (compared on the options: the rewritten records are new objects for grouped actors)
      // Ray's rule: 1 CPU to place the actor, none while it lives (unless asked for explicitly).
      this.#ctx.resources.release(rec.alloc);
      rec.alloc = this.#ctx.resources.tryAcquire(rec.demand);
      this.#ctx.resourcesFreed();
    }
    this.#pump(rec);
  }

  /** The constructor threw: the actor is dead and every call fails with that cause. */
  onCtorFailed(actorId: string, error: Payload): void {
    const rec = this.#actors.get(actorId);
    if (rec === undefined) return;
    const w = rec.worker;
    rec.worker = undefined;
    this.#die(rec, error);
    if (w !== undefined) this.#ctx.pool.terminate(w);
  }

  submitCall(caller: CallerId, spec: ActorCallSpec): void {
    // Expected (and the stream opened) before anything can fail, so every failure below ends the
    // call with its error, and a `get` of its returns waits even while its actor's name is claimed.
    const returnIds = expectReturns(this.#ctx, caller, spec);
    this.#submit(caller, spec, returnIds);
  }

  #submit(caller: CallerId, spec: ActorCallSpec, returnIds: readonly string[]): void {
    const actorId = this.resolveId(spec.actorId);
    const claim = this.#names.pending(actorId) ?? this.#groupWaits.pending(actorId);
    if (claim !== undefined) {
      claim.calls.push([caller, spec, returnIds]);
      return;
    }
    if (this.#viaRemote(caller, actorId, spec.home, spec.name.split(".")[0] as string)) {
      this.#remote.submitCall(actorId, spec, returnIds);
      return;
    }
    const call: CallRecord = { spec, returnIds, deps: 0, attempt: 0 };
    const rec = this.#resolve(spec.actorId);
    if (rec === undefined) {
      const err = new ActorDiedError(
        `Actor ${spec.actorId} does not exist: it was never created here or is gone; check the handle`,
      );
      this.#seal(call, this.#ctx.errorPayload(err));
      return;
    }
    if (rec.state === "DEAD") {
      this.#seal(call, rec.death as Payload);
      return;
    }
    const max = rec.spec.opts.maxPendingCalls;
    if (max > 0 && rec.queue.length + rec.inflight.size >= max) {
      this.#seal(
        call,
        this.#ctx.errorPayload(
          new RaytsError(
            `Actor ${rec.spec.cls.name} has ${max} calls pending (maxPendingCalls): wait for some results before submitting more`,
          ),
        ),
      );
      return;
    }
    const lost = this.#ctx.pinArgs(spec.argRefs, spec.contained);
    if (lost !== undefined) {
      this.#seal(call, this.#ctx.errorPayload(this.#ctx.lostError(lost)));
      return;
    }
    for (const [, id] of spec.argRefs) {
      if (this.#ctx.store.isReady(id)) continue;
      call.deps++;
      this.#ctx.store.onReady(id, () => {
        if (--call.deps === 0) this.#pump(rec);
      });
    }
    rec.queue.push(call);
    this.#pump(rec);
  }

  /**
   * Whether `caller`'s calls to `actorId` go through `RemoteActors`: the actor was placed on another
   * node from here, or this node does not know it and its handle names the node holding its record
   * (`home`), which the calls go to through a proxy. A copy placed here by another node serves that
   * node's calls (even when this node also proxies calls to its home, so each caller's calls stay in
   * order on one path).
   */
  #viaRemote(caller: CallerId, actorId: string, home: string | undefined, className: string): boolean {
    const local = this.#actors.get(actorId);
    if (this.#remote.has(actorId)) return local === undefined || local.creator !== caller;
    if (local !== undefined) return false;
    const at = this.#names.homeOf(actorId) ?? home;
    if (at === undefined || at === this.#ctx.nodeId || this.#ctx.cluster === undefined) return false;
    this.#remote.proxy(actorId, at, className);
    return true;
  }

  /** Sends calls in submission order while the one at the front has its arguments. */
  #pump(rec: ActorRecord): void {
    pumpCalls(this.#ctx, rec);
  }

  onCallResult(w: WorkerProc, r: TaskResult): void {
    callResult(this.#ctx, w.actorId === undefined ? undefined : this.#actors.get(w.actorId), r);
  }

  /** Fails the call: its returns, or its stream after the items it already has. */
  #seal(call: CallRecord, payload: Payload): void {
    sealCall(this.#ctx, call, payload);
  }

  /** The actor's worker exited: restart it if allowed, else the actor is dead. */
  workerDied(w: WorkerProc, code: number, error: string | undefined): void {
    const rec = w.actorId === undefined ? undefined : this.#actors.get(w.actorId);
    if (rec === undefined || rec.worker !== w || rec.state === "DEAD") return;
    rec.worker = undefined;
    const why =
      error !== undefined ? `it threw outside a method: ${error}` : `its worker exited with code ${code}`;
    this.#lost(rec, why);
  }

  #lost(rec: ActorRecord, why: string): void {
    if (rec.alloc !== undefined && rec.alloc.state !== "RELEASED") this.#ctx.resources.release(rec.alloc);
    rec.alloc = undefined;
    const max = rec.spec.opts.maxRestarts;
    const name = rec.spec.cls.name;
    if (max < 0 || rec.restarts < max) {
      rec.restarts++;
      rec.state = "RESTARTING";
      const retryMax = rec.spec.opts.maxTaskRetries;
      const inflight = [...rec.inflight.values()];
      rec.inflight.clear();
      const again: CallRecord[] = [];
      for (const call of inflight) {
        if (retryMax < 0 || call.attempt < retryMax) {
          call.attempt++;
          again.push(call);
        } else {
          this.#seal(
            call,
            this.#ctx.errorPayload(
              new ActorDiedError(
                `Actor ${name} died while running ${call.spec.name} (${why}); it is restarting, but maxTaskRetries does not allow retrying the call`,
              ),
            ),
          );
          this.#ctx.unpinArgs(call.spec.argRefs, call.spec.contained);
        }
      }
      rec.queue.unshift(...again);
      this.#ctx.resourcesFreed();
      this.#place(rec);
      return;
    }
    const restarts = max === 0 ? "" : ` after ${rec.restarts} restarts (maxRestarts ${max})`;
    this.#die(
      rec,
      this.#ctx.errorPayload(
        new ActorDiedError(
          `Actor ${name} died: ${why}${restarts}; ${max === 0 ? "set" : "raise"} maxRestarts to restart it automatically`,
        ),
      ),
    );
  }

  #die(rec: ActorRecord, death: Payload): void {
    if (rec.state === "DEAD") return;
    rec.state = "DEAD";
    rec.death = death;
    for (const call of rec.inflight.values()) {
      this.#seal(call, death);
      this.#ctx.unpinArgs(call.spec.argRefs, call.spec.contained);
    }
    rec.inflight.clear();
    for (const call of rec.queue.splice(0)) {
      this.#seal(call, death);
      this.#ctx.unpinArgs(call.spec.argRefs, call.spec.contained);
    }
    if (rec.alloc !== undefined && rec.alloc.state !== "RELEASED") this.#ctx.resources.release(rec.alloc);
    rec.alloc = undefined;
    this.#names.release(rec.spec);
    this.#ctx.unpinArgs(rec.spec.argRefs, rec.spec.contained);
    this.#deaths.wake(rec.spec.actorId, death);
    this.#ctx.resourcesFreed();
  }

  /**
   * Resolves with the actor's death once it is dead for good (after its restarts): how the node that
   * placed it here learns that it died by itself. An unknown id answers at once.
   */
  deathOf(actorId: string): Promise<Payload> {
    const id = this.resolveId(actorId);
    const rec = this.#actors.get(id);
    const death = rec === undefined ? this.#remote.deathOf(id) : rec.death;
    if (death !== undefined) return Promise.resolve(this.#deaths.inline(death));
    if (rec === undefined && !this.#remote.has(id)) {
      return Promise.resolve(
        this.#ctx.errorPayload(
          new ActorDiedError(`Actor ${actorId} does not exist on node ${this.#ctx.nodeId}`),
        ),
      );
    }
    return this.#deaths.wait(id);
  }

  /**
   * The driver `caller` exited: the non-detached actors it created die (here and on other nodes), as
   * in Ray when a job ends; detached ones live on.
   */
  ownerGone(caller: CallerId): void {
    const why = 'the driver that created it exited (use lifetime: "detached" to keep an actor alive)';
    this.#endWhere((_spec, creator) => creator === caller, why);
    this.#remote.ownerGone(caller, why);
  }

  /**
   * The job of actor `actorId` (known here), if any: none for a detached actor, so what its calls
   * submit (tasks, actors, groups) outlives the driver with it.
   */
  jobOf(actorId: string): string | undefined {
    const spec = this.#resolve(actorId)?.spec;
    return spec?.opts.lifetime === "detached" ? undefined : spec?.job;
  }

  /**
   * Job `job`'s driver exited: the non-detached actors its tasks and actors created die here (those
   * placed from here on other nodes too), as every worker of a job does in Ray.
   */
  jobEnded(job: string): void {
    const why = 'the driver of its job exited (use lifetime: "detached" to keep an actor alive)';
    this.#endWhere((spec) => spec.job === job, why);
    this.#remote.jobEnded(job, why);
  }

  #endWhere(which: (spec: ActorSpec, creator: CallerId) => boolean, why: string): void {
    for (const rec of this.#actors.values()) {
      if (rec.state === "DEAD" || rec.spec.opts.lifetime === "detached" || !which(rec.spec, rec.creator))
        continue;
      const w = rec.worker;
      rec.worker = undefined;
      if (w !== undefined) this.#ctx.pool.terminate(w);
      this.#die(rec, this.#ctx.errorPayload(new ActorDiedError(`Actor ${rec.spec.cls.name} died: ${why}`)));
    }
  }

  /**
   * An actor placed on another node restarts here after that node died: it keeps its pinned
   * constructor arguments, restart count and calls (whose returns are expected here already).
   */
  #adopt(spec: ActorSpec, creator: CallerId, restarts: number, calls: readonly AdoptedCall[]): void {
    const rec = newRecord(spec, spec.opts.placementDemand, spec.opts.demand, undefined, creator);
    rec.restarts = restarts;
    rec.state = "RESTARTING";
    this.#actors.set(spec.actorId, rec);
    for (const c of calls) {
      const call: CallRecord = { spec: c.spec, returnIds: c.returnIds, deps: 0, attempt: c.attempt };
      for (const [, id] of c.spec.argRefs) {
        if (this.#ctx.store.isReady(id)) continue;
        call.deps++;
        this.#ctx.store.onReady(id, () => {
          if (--call.deps === 0) this.#pump(rec);
        });
      }
      rec.queue.push(call);
    }
    this.#place(rec);
  }

  /**
   * Cancels an actor call: a queued one never runs; a running one is answered TaskCancelledError at
   * once and told to stop at its next await. `force` is refused: stopping a method mid-way would
   * leave the actor's state half-changed; kill the actor instead, as in Ray.
   */
  cancelCall(taskId: string, force: boolean): void {
    if (this.#remote.cancelCall(taskId, force)) return;
    cancelActorCall(this.#ctx, this.#actors.values(), taskId, force);
  }

  /** A placement group was removed: the actors placed in it die. */
  evictGroup(pgId: string): void {
    for (const rec of this.#actors.values()) {
      if (rec.group?.pgId !== pgId || rec.state === "DEAD") continue;
      const w = rec.worker;
      rec.worker = undefined;
      if (w !== undefined) this.#ctx.pool.terminate(w);
      this.#die(
        rec,
        this.#ctx.errorPayload(
          new ActorDiedError(`Actor ${rec.spec.cls.name} died: its placement group ${pgId} was removed`),
        ),
      );
    }
  }

  kill(actorId: string, noRestart: boolean, home?: string): void {
    const id = this.resolveId(actorId);
    const claim = this.#names.pending(id) ?? this.#groupWaits.pending(id);
    if (claim !== undefined) {
      claim.kill = noRestart;
      return;
    }
    if (this.#viaRemote(-1, id, home, "Actor")) {
      this.#remote.kill(id, noRestart);
      return;
    }
    const rec = this.#resolve(actorId);
    if (rec === undefined || rec.state === "DEAD") return;
    const w = rec.worker;
    rec.worker = undefined;
    if (w !== undefined) this.#ctx.pool.terminate(w);
    const why = "it was killed with kill()";
    if (noRestart) {
      this.#die(rec, this.#ctx.errorPayload(new ActorDiedError(`Actor ${rec.spec.cls.name} died: ${why}`)));
    } else this.#lost(rec, why);
  }

  /** The handle of the actor named `name`, from the head's table (asked over the link when elsewhere). */
  lookup(name: string, namespace: string): Promise<ActorHandleState | undefined> {
    return this.#names.lookup(name, namespace);
  }

  closeAll(): void {
    this.#actors.clear();
    this.#remote.closeAll();
  }
}
