/**
 * Actors this node placed on another node [Ray's actor scheduling by the GCS, simplified]: this node
 * keeps a small record per actor (its spec, the link to its node, the calls not answered yet) and
 * passes creation, calls and `kill` through the link. A call's arguments reach the other node under
 * the same object ids, the call is submitted there unchanged (same task id, so the same return ids),
 * and its returns come back as a forwarded task's do (`scheduler/forward-task.ts`): by memory copy
 * between segments of one machine, else by ownership over HTTP (arguments lent and pulled there, shm
 * returns left there and pulled here when needed), with no size limit. Refs nested in a call's
 * arguments are lent to the actor's node, which borrows them from their owner.
 *
 * The actor's node dying (its link closes) restarts it on another node while `maxRestarts` allows
 * (calls in flight sent again under `maxTaskRetries`), else kills it: its calls fail with
 * ActorDiedError caused by NodeDiedError. An actor that dies by itself there is learnt of through
 * `actorDeath`, so its name is released.
 *
 * A proxy record (`proxy`) stands for an actor this node knows only from a handle: its calls go to
 * the node holding the actor's record (the handle's home) the same way, and that node does the rest.
 */
import { ActorDiedError, NodeDiedError, RaytsError } from "../errors.ts";
import type { RemoteLink } from "../scheduler/cluster-view.ts";
import { toRemote } from "../scheduler/forward-task.ts";
import type { NodeContext } from "../scheduler/node-context.ts";
import { shipOptions } from "../shipping/ship-env.ts";
import { PeerClosedError } from "../transport/transport-errors.ts";
import { callToCancel } from "./actor-calls.ts";
import type { ActorState } from "./actor-record.ts";
import { objectIdFor } from "./ids.ts";
import type { CallerId } from "./node-api.ts";
import { restartTarget } from "./place-actor.ts";
import type { ActorCallSpec, ActorSpec, Payload } from "./protocol.ts";
import { awaitReturns, putArgs, releaseCall, sealCall } from "./remote-actor-calls.ts";
import {
  proxySpec,
  type RemoteActor,
  type RemoteActorHooks,
  type RemoteCall,
} from "./remote-actor-record.ts";

export class RemoteActors {
  readonly #ctx: NodeContext;
  readonly #actors = new Map<string, RemoteActor>();
  readonly #hooks: RemoteActorHooks;

  constructor(ctx: NodeContext, hooks: RemoteActorHooks) {
    this.#ctx = ctx;
    this.#hooks = hooks;
  }

  /** Who created actor `actorId` placed from here, with the task it was created in (if known here). */
  creatorOf(actorId: string): { caller: CallerId; parentTaskId: string | undefined } | undefined {
    const rec = this.#actors.get(actorId);
    return rec === undefined || rec.proxy
      ? undefined
      : { caller: rec.creator, parentTaskId: rec.spec.parentTaskId };
  }

  has(actorId: string): boolean {
    return this.#actors.has(actorId);
  }

  /** The actor's spec while it is not dead. */
  aliveSpec(actorId: string): ActorSpec | undefined {
    const rec = this.#actors.get(actorId);
    return rec === undefined || rec.state === "DEAD" ? undefined : rec.spec;
  }

  /** Its death once it is dead for good; undefined while it lives (or restarts). */
  deathOf(actorId: string): Payload | undefined {
    return this.#actors.get(actorId)?.death;
  }

  states(): Array<{ actorId: string; className: string; state: ActorState; name: string | undefined }> {
    return [...this.#actors.values()].map((a) => ({
      actorId: a.spec.actorId,
      className: a.spec.cls.name,
      // (a moved record is no longer here)
      state: a.state === "MOVED" ? "DEAD" : a.state,
      name: a.spec.opts.name,
    }));
  }

  /**
   * Creates the actor on `nodeId` once its arguments are ready here. Its constructor arguments stay
   * pinned here while it lives, so it can be re-created on another node. `restarts`: the restarts it
   * had here already (an actor that waited here for resources and goes there instead).
   */
  create(spec: ActorSpec, nodeId: string, creator: CallerId, restarts = 0): void {
    const rec: RemoteActor = {
      spec,
      nodeId,
      creator,
      proxy: false,
      state: "PENDING",
      link: undefined,
      deps: 0,
      restarts,
      death: undefined,
      queue: [],
      inflight: new Map(),
    };
    this.#actors.set(spec.actorId, rec);
    const ctx = this.#ctx;
    const lost = ctx.pinArgs(spec.argRefs, spec.contained);
    if (lost !== undefined) {
      this.#die(
        rec,
        ctx.errorPayload(
          new ActorDiedError(`Actor ${spec.cls.name} cannot start: an argument object is lost`, {
            cause: ctx.lostError(lost),
          }),
        ),
      );
      return;
    }
    for (const [, id] of spec.argRefs) {
      if (ctx.store.isReady(id)) continue;
      rec.deps++;
      ctx.store.onReady(id, () => {
        if (--rec.deps === 0) void this.#start(rec);
      });
    }
    if (rec.deps === 0) void this.#start(rec);
  }

  /**
   * Passes calls for `actorId`, which this node does not know, to `home`, the node holding its
   * record (from the caller's handle). The proxy dies when `home` is gone or the actor is killed.
   */
  proxy(actorId: string, home: string, className: string): void {
    if (this.#actors.has(actorId)) return;
    const rec: RemoteActor = {
      spec: proxySpec(actorId, className),
      nodeId: home,
      creator: -1,
      proxy: true,
      state: "PENDING",
      link: undefined,
      deps: 0,
      restarts: 0,
      death: undefined,
      queue: [],
      inflight: new Map(),
    };
    this.#actors.set(actorId, rec);
    void this.#openProxy(rec);
  }

  async #openProxy(rec: RemoteActor): Promise<void> {
    let link: RemoteLink;
    try {
      const cluster = this.#ctx.cluster;
      if (cluster === undefined) throw new RaytsError("this node has no view of the cluster");
      link = await cluster.link(rec.nodeId);
      if (link.closed) throw new RaytsError("its connection closed");
    } catch (err) {
      this.#nodeLost(rec, err instanceof Error ? err.message : String(err));
      return;
    }
    if (rec.state !== "PENDING") return;
    rec.link = link;
    rec.state = "ALIVE";
    link.onClose((reason) => this.#linkLost(rec, link, reason));
    this.#pump(rec);
  }

  async #start(rec: RemoteActor): Promise<void> {
    const ctx = this.#ctx;
    const spec = rec.spec;
    if (rec.state === "DEAD" || rec.state === "MOVED") return;
    for (const [, id] of spec.argRefs) {
      const v = ctx.store.peek(id);
      if (v?.err) {
        this.#die(rec, v.payload);
        return;
      }
    }
    const nodeId = rec.nodeId;
    let link: RemoteLink;
    try {
      const cluster = ctx.cluster;
      if (cluster === undefined) throw new RaytsError("this node has no view of the cluster");
      link = await cluster.link(nodeId);
      if (link.closed) throw new RaytsError("its connection closed");
    } catch (err) {
      if (rec.nodeId === nodeId) this.#nodeLost(rec, err instanceof Error ? err.message : String(err));
      return;
    }
    // (killed, or moved, while the link was opening)
    const now = rec.state as RemoteActor["state"];
    if (now === "DEAD" || now === "MOVED" || rec.nodeId !== nodeId) return;
    let shippedOpts: typeof spec.opts;
    try {
      // The job's package must be ready there before the class can load (its failure kills the actor).
      await link.syncEntryScripts(spec.cls.module);
      // Its runtime environment's working directory and local packages, shipped there.
      shippedOpts = await shipOptions(link, spec.opts);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      if (rec.nodeId !== nodeId) return;
      if (link.closed || err instanceof PeerClosedError) this.#nodeLost(rec, reason);
      else this.#die(rec, ctx.errorPayload(err instanceof Error ? err : new Error(reason)));
      return;
    }
    const later = rec.state as RemoteActor["state"];
    if (later === "DEAD" || later === "MOVED" || rec.nodeId !== nodeId) return;
    if (link.closed) {
      this.#nodeLost(rec, "its connection closed");
      return;
    }
    try {
      const argIds = putArgs(this.#ctx, link, spec.argRefs);
      // The name lives in the head's table (claimed here); the other node's copy stays unnamed and
      // pinned there. Restarts done there count against the copy's own budget.
      const { name: _name, getIfExists: _reuse, ...opts } = shippedOpts;
      const max = spec.opts.maxRestarts;
      const grouped = typeof opts.scheduling === "object" && "placementGroup" in opts.scheduling;
      const copyOpts = {
        ...opts,
        maxRestarts: max < 0 ? -1 : Math.max(0, max - rec.restarts),
        ...(grouped ? {} : { scheduling: { nodeId, soft: false } }),
      };
      const args = spec.args.t === 1 ? toRemote(ctx, link, spec.args) : spec.args;
      link.api.createActor(link.caller, { ...spec, args, opts: copyOpts as typeof spec.opts });
      if (argIds.length > 0) link.api.removeRefs(link.caller, argIds);
    } catch (err) {
      this.#die(rec, ctx.errorPayload(err instanceof Error ? err : new Error(String(err))));
      return;
    }
    rec.link = link;
    rec.state = "ALIVE";
    link.onClose((reason) => this.#linkLost(rec, link, reason));
    void this.#watch(rec, link);
    this.#pump(rec);
  }

  /** Waits for the actor to die by itself on its node (constructor error, crashes beyond its restarts). */
  async #watch(rec: RemoteActor, link: RemoteLink): Promise<void> {
    let death: Payload;
    try {
      death = await link.api.actorDeath(link.caller, rec.spec.actorId);
    } catch {
      return; // the link closed: #linkLost decides
    }
    if (rec.link !== link || rec.state === "DEAD" || rec.state === "MOVED") return;
    this.#die(rec, death.t === 0 ? { t: 0, bytes: death.bytes.slice() } : death);
  }

  #linkLost(rec: RemoteActor, link: RemoteLink, reason: string): void {
    if (rec.link !== link || rec.state === "DEAD" || rec.state === "MOVED") return;
    rec.link = undefined;
    this.#nodeLost(rec, reason);
  }

  /**
   * The actor's node died (or could not be reached): it restarts on another node while
   * `maxRestarts` allows (not when pinned to that node with hard affinity), its calls in flight are
   * sent again while `maxTaskRetries` allows; otherwise it is dead.
   */
  #nodeLost(rec: RemoteActor, reason: string): void {
    const ctx = this.#ctx;
    const spec = rec.spec;
    const name = spec.cls.name;
    const gone = rec.nodeId;
    const cause = new NodeDiedError(`Node ${gone} died: ${reason}`);
    if (rec.proxy) {
      this.#die(
        rec,
        ctx.errorPayload(
          new ActorDiedError(
            `Actor ${name} (${spec.actorId}) cannot be reached: node ${gone}, which holds its record, is gone (${reason})`,
            { cause },
          ),
        ),
      );
      return;
    }
    const max = spec.opts.maxRestarts;
    const sched = spec.opts.scheduling as unknown;
    const pinned =
      typeof sched === "object" &&
      sched !== null &&
      (sched as { nodeId?: unknown }).nodeId === gone &&
      (sched as { soft?: unknown }).soft !== true;
    const grouped = typeof sched === "object" && sched !== null && "placementGroup" in sched;
    if (pinned || grouped || !(max < 0 || rec.restarts < max)) {
      const why = pinned
        ? "it is pinned there with hard node affinity"
        : grouped
          ? "actors in a placement group are not restarted on another node yet"
          : max === 0
            ? "set maxRestarts to restart it on another node"
            : `it restarted ${rec.restarts} times already (maxRestarts ${max})`;
      this.#die(
        rec,
        ctx.errorPayload(
          new ActorDiedError(`Actor ${name} died: its node ${gone} died (${reason}); ${why}`, { cause }),
        ),
      );
      return;
    }
    const target = restartTarget(this.#ctx, spec.opts.placementDemand, gone);
    if (target instanceof Error) {
      this.#die(
        rec,
        ctx.errorPayload(
          new ActorDiedError(`Actor ${name} died: its node ${gone} died (${reason}) and ${target.message}`, {
            cause,
          }),
        ),
      );
      return;
    }
    rec.restarts++;
    rec.state = "RESTARTING";
    const retryMax = spec.opts.maxTaskRetries;
    const again: RemoteCall[] = [];
    for (const call of rec.inflight.values()) {
      if (call.done) {
        releaseCall(this.#ctx, call);
        continue;
      }
      if (retryMax < 0 || call.attempt < retryMax) {
        call.attempt++;
        again.push(call);
        continue;
      }
      sealCall(
        this.#ctx,
        call,
        ctx.errorPayload(
          new ActorDiedError(
            `Actor ${name} died while running ${call.spec.name}: its node ${gone} died (${reason}); it is restarting, but maxTaskRetries does not allow retrying the call`,
            { cause },
          ),
        ),
      );
      releaseCall(this.#ctx, call);
    }
    rec.inflight.clear();
    rec.queue.unshift(...again);
    if (target === undefined) {
      // Restarting here: the actor manager takes it over, with its pins.
      rec.state = "MOVED";
      this.#actors.delete(spec.actorId);
      const calls = rec.queue
        .splice(0)
        .map((c) => ({ spec: c.spec, returnIds: c.returnIds, attempt: c.attempt }));
      this.#hooks.adopt(spec, rec.creator, rec.restarts, calls);
      return;
    }
    rec.nodeId = target;
    void this.#start(rec);
  }

  /**
   * A call of one of these actors; its returns are expected here already (`returnIds`). `attempt`:
   * the times it was sent again already (a call moved here with its actor).
   */
  submitCall(actorId: string, spec: ActorCallSpec, returnIds: readonly string[], attempt = 0): void {
    const ctx = this.#ctx;
    const rec = this.#actors.get(actorId) as RemoteActor;
    const call: RemoteCall = {
      spec: spec.actorId === actorId ? spec : { ...spec, actorId },
      returnIds,
      deps: 0,
      attempt,
      done: false,
      released: true,
    };
    if (rec.state === "DEAD") {
      sealCall(this.#ctx, call, rec.death as Payload);
      return;
    }
    if (spec.contained.length > 0 && ctx.objects === undefined) {
      sealCall(
        this.#ctx,
        call,
        ctx.errorPayload(
          new RaytsError(
            `Actor ${rec.spec.cls.name} runs on node ${rec.nodeId}: calls with refs nested in their arguments of actors on another node need the object directory of a cluster node`,
          ),
        ),
      );
      return;
    }
    const lost = ctx.pinArgs(spec.argRefs, spec.contained);
    call.released = false;
    if (lost !== undefined) {
      sealCall(this.#ctx, call, ctx.errorPayload(ctx.lostError(lost)));
      releaseCall(this.#ctx, call);
      return;
    }
    for (const [, id] of spec.argRefs) {
      if (ctx.store.isReady(id)) continue;
      call.deps++;
      ctx.store.onReady(id, () => {
        if (--call.deps === 0) this.#pump(rec);
      });
    }
    rec.queue.push(call);
    this.#pump(rec);
  }

  /** Sends calls in submission order while the one at the front has its arguments. */
  #pump(rec: RemoteActor): void {
    const link = rec.link;
    if (rec.state !== "ALIVE" || link === undefined) return;
    const ctx = this.#ctx;
    while (rec.queue.length > 0 && (rec.queue[0] as RemoteCall).deps === 0) {
      const call = rec.queue.shift() as RemoteCall;
      const s = call.spec;
      const argErr = s.argRefs.map(([, id]) => ctx.store.peek(id)).find((v) => v?.err);
      if (argErr !== undefined) {
        sealCall(this.#ctx, call, argErr.payload);
        releaseCall(this.#ctx, call);
        continue;
      }
      try {
        const argIds = putArgs(this.#ctx, link, s.argRefs, s.contained);
        const args = s.args.t === 1 ? toRemote(ctx, link, s.args) : s.args;
        link.api.submitActorCall(link.caller, args === s.args ? s : { ...s, args });
        if (argIds.length > 0) link.api.removeRefs(link.caller, argIds);
      } catch (err) {
        sealCall(this.#ctx, call, ctx.errorPayload(err instanceof Error ? err : new Error(String(err))));
        releaseCall(this.#ctx, call);
        continue;
      }
      // The arguments stay pinned here until the call is answered: it may be sent again elsewhere.
      rec.inflight.set(s.taskId, call);
      void awaitReturns(ctx, rec, link, call, (reason) => this.#linkLost(rec, link, reason));
    }
  }

  #die(rec: RemoteActor, death: Payload): void {
    if (rec.state === "DEAD" || rec.state === "MOVED") return;
    rec.state = "DEAD";
    rec.death = death;
    rec.link = undefined;
    for (const call of rec.inflight.values()) {
      sealCall(this.#ctx, call, death);
      releaseCall(this.#ctx, call);
    }
    rec.inflight.clear();
    for (const call of rec.queue.splice(0)) {
      sealCall(this.#ctx, call, death);
      releaseCall(this.#ctx, call);
    }
    this.#ctx.unpinArgs(rec.spec.argRefs, rec.spec.contained);
    this.#hooks.dead(rec.spec, death);
  }

  /**
   * Kills the actor on its node. With `noRestart` false the other node restarts it under its own
   * `maxRestarts`; an actor not created there yet dies either way. `why` says who killed it.
   */
  kill(actorId: string, noRestart: boolean, why = "it was killed with kill()"): void {
    const rec = this.#actors.get(actorId);
    if (rec === undefined || rec.state === "DEAD") return;
    const link = rec.link;
    if (link !== undefined && !link.closed) link.api.killActor(link.caller, actorId, noRestart);
    else if (rec.proxy) {
      // (its link is still opening: the kill goes out once it is open)
      void this.#ctx.cluster
        ?.link(rec.nodeId)
        .then((l) => l.api.killActor(l.caller, actorId, noRestart))
        .catch(() => {});
    }
    if (noRestart || (link === undefined && !rec.proxy)) {
      this.#die(rec, this.#ctx.errorPayload(new ActorDiedError(`Actor ${rec.spec.cls.name} died: ${why}`)));
    }
  }

  /** Kills the non-detached actors `caller` created (its driver exited). */
  ownerGone(caller: CallerId, why: string): void {
    for (const rec of [...this.#actors.values()]) {
      if (rec.creator !== caller || rec.spec.opts.lifetime === "detached") continue;
      this.kill(rec.spec.actorId, true, why);
    }
  }

  /** Job `job` ended: its non-detached actors placed from here die (see `ActorManager.jobEnded`). */
  jobEnded(job: string, why: string): void {
    for (const rec of [...this.#actors.values()]) {
      if (rec.proxy || rec.spec.job !== job || rec.spec.opts.lifetime === "detached") continue;
      this.kill(rec.spec.actorId, true, why);
    }
  }

  /** Cancels a call of one of these actors; false when `taskId` is not one of theirs. */
  cancelCall(taskId: string, force: boolean): boolean {
    for (const rec of this.#actors.values()) {
      const found = callToCancel(rec, taskId, force);
      if (found === undefined) continue;
      const { call, queued, error } = found;
      sealCall(this.#ctx, call, this.#ctx.errorPayload(error));
      if (queued >= 0) {
        rec.queue.splice(queued, 1);
        releaseCall(this.#ctx, call);
      } else if (rec.link !== undefined && !rec.link.closed) {
        const first = call.returnIds[0] ?? objectIdFor(taskId, 1);
        void Promise.resolve(rec.link.api.cancel(rec.link.caller, first, false, false)).catch(() => {});
      }
      return true;
    }
    return false;
  }

  closeAll(): void {
    this.#actors.clear();
  }
}
