/**
 * Actors the head's node placed on another node [Ray's actor scheduling by the GCS, simplified]:
 * this node keeps a small record per actor (its spec, the link to its node, the calls not answered
 * yet) and passes creation, calls and `kill` through the link. A call's arguments reach the other
 * node under the same object ids, the call is submitted there unchanged (same task id, so the same
 * return ids), and its returns come back as a forwarded task's do (`scheduler/forward-task.ts`): by
 * memory copy between segments of one machine, else by ownership over HTTP (arguments lent and
 * pulled there, shm returns left there and pulled here when needed), with no size limit. Refs nested
 * in a call's arguments are lent to the actor's node, which borrows them from their owner.
 *
 * The actor's node dying (its link closes) kills the actor: its pending and later calls fail with
 * ActorDiedError. Restarting it on another node is not done yet.
 */
import { ActorDiedError, ActorUnschedulableError, RaytsError, TaskCancelledError } from "../errors.ts";
import { type GroupPlacement, groupActorTarget } from "../placement/pg-demand.ts";
import type { RemoteLink } from "../scheduler/cluster-view.ts";
import { copyBack, leaveThere, lendObjects, overHttp, toRemote } from "../scheduler/forward-task.ts";
import type { NodeContext } from "../scheduler/node-context.ts";
import { ResourceSet } from "../scheduler/resource-set.ts";
import { PeerClosedError } from "../transport/transport-errors.ts";
import { objectIdFor } from "./ids.ts";
import type { CallerId } from "./node-api.ts";
import type { ActorCallSpec, ActorSpec, Payload } from "./protocol.ts";

interface RemoteCall {
  readonly spec: ActorCallSpec;
  readonly returnIds: readonly string[];
  deps: number;
  /** Its returns are sealed here already (an error, or cancelled): late results are dropped. */
  done: boolean;
}

interface RemoteActor {
  readonly spec: ActorSpec;
  readonly nodeId: string;
  state: "PENDING" | "ALIVE" | "DEAD";
  link: RemoteLink | undefined;
  deps: number;
  death: Payload | undefined;
  readonly queue: RemoteCall[];
  readonly inflight: Map<string, RemoteCall>;
}

/**
 * Where an actor is created: another node's id, undefined for this node, or the error that fails
 * its creation. Hard node affinity goes to that node while it is alive; soft affinity falls back to
 * this node; an actor this node can never fit goes to a node whose totals fit (one with the
 * resources free now first). Actors in a placement group or with refs nested in their arguments
 * stay here.
 */
export function actorTarget(
  ctx: NodeContext,
  spec: ActorSpec,
  placementDemand: Readonly<Record<string, number>>,
  group: GroupPlacement | undefined,
): string | undefined | Error {
  const cluster = ctx.cluster;
  if (cluster === undefined) return undefined;
  if (group !== undefined) return groupActorTarget(ctx, spec, group);
  const others = cluster.others();
  const forwardable = group === undefined && spec.contained.length === 0;
  const sched = spec.opts.scheduling as unknown;
  if (typeof sched === "object" && sched !== null && "nodeId" in sched) {
    const { nodeId, soft } = sched as { nodeId: string; soft?: boolean };
    if (nodeId !== ctx.nodeId) {
      const alive = others.some((n) => n.nodeId === nodeId);
      if (alive && forwardable) return nodeId;
      if (soft === true) return undefined;
      return new ActorUnschedulableError(
        alive
          ? `Actor ${spec.cls.name} cannot be scheduled on node ${nodeId}: actors in a placement group or with refs nested in their arguments do not run on another node yet; pin it to this node or set soft: true`
          : `Actor ${spec.cls.name} cannot be scheduled: node ${nodeId} is not alive; pass a live node id from nodes(), or set soft: true`,
      );
    }
  }
  if (!forwardable || others.length === 0 || ctx.resources.isFeasible(placementDemand)) return undefined;
  const want = ResourceSet.of(placementDemand);
  let fits: string | undefined;
  for (const n of others) {
    if (!ResourceSet.of(n.total).covers(want)) continue;
    if (ResourceSet.of(n.available).covers(want)) return n.nodeId;
    fits ??= n.nodeId;
  }
  return fits;
}

export class RemoteActors {
  readonly #ctx: NodeContext;
  readonly #actors = new Map<string, RemoteActor>();
  /** Called once when an actor dies here (to release its name). */
  readonly #onDead: (spec: ActorSpec) => void;

  constructor(ctx: NodeContext, onDead: (spec: ActorSpec) => void) {
    this.#ctx = ctx;
    this.#onDead = onDead;
  }

  has(actorId: string): boolean {
    return this.#actors.has(actorId);
  }

  /** The actor's spec while it is not dead. */
  aliveSpec(actorId: string): ActorSpec | undefined {
    const rec = this.#actors.get(actorId);
    return rec === undefined || rec.state === "DEAD" ? undefined : rec.spec;
  }

  states(): Array<{ actorId: string; className: string; state: string; name: string | undefined }> {
    return [...this.#actors.values()].map((a) => ({
      actorId: a.spec.actorId,
      className: a.spec.cls.name,
      state: a.state,
      name: a.spec.opts.name,
    }));
  }

  /** Creates the actor on `nodeId` once its arguments are ready here. */
  create(spec: ActorSpec, nodeId: string): void {
    const rec: RemoteActor = {
      spec,
      nodeId,
      state: "PENDING",
      link: undefined,
      deps: 0,
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

  async #start(rec: RemoteActor): Promise<void> {
    const ctx = this.#ctx;
    const spec = rec.spec;
    const release = () => ctx.unpinArgs(spec.argRefs, spec.contained);
    if (rec.state === "DEAD") return;
    for (const [, id] of spec.argRefs) {
      const v = ctx.store.peek(id);
      if (v?.err) {
        release();
        this.#die(rec, v.payload);
        return;
      }
    }
    let link: RemoteLink;
    try {
      const cluster = ctx.cluster;
      if (cluster === undefined) throw new RaytsError("this node has no view of the cluster");
      link = await cluster.link(rec.nodeId);
      if (link.closed) throw new RaytsError("its connection closed");
    } catch (err) {
      release();
      this.#die(rec, this.#nodeGone(rec, err instanceof Error ? err.message : String(err)));
      return;
    }
    // (killed while the link was opening)
    if ((rec.state as RemoteActor["state"]) === "DEAD") {
      release();
      return;
    }
    try {
      // The job's package must be ready there before the class can load (its failure kills the actor).
      await link.syncEntryScripts(spec.cls.module);
      if ((rec.state as RemoteActor["state"]) === "DEAD") {
        release();
        return;
      }
      if (link.closed) throw new RaytsError("its connection closed");
      const argIds = this.#putArgs(link, spec.argRefs);
      // The name lives in the head's table (claimed here); the other node's copy stays unnamed.
      const { name: _name, getIfExists: _reuse, ...opts } = spec.opts;
      const args = spec.args.t === 1 ? toRemote(ctx, link, spec.args) : spec.args;
      link.api.createActor(link.caller, { ...spec, args, opts: opts as typeof spec.opts });
      if (argIds.length > 0) link.api.removeRefs(link.caller, argIds);
    } catch (err) {
      release();
      this.#die(rec, ctx.errorPayload(err instanceof Error ? err : new Error(String(err))));
      return;
    }
    release();
    rec.link = link;
    rec.state = "ALIVE";
    link.onClose((reason) => this.#die(rec, this.#nodeGone(rec, reason)));
    this.#pump(rec);
  }

  #nodeGone(rec: RemoteActor, reason: string): Payload {
    return this.#ctx.errorPayload(
      new ActorDiedError(
        `Actor ${rec.spec.cls.name} died: its node ${rec.nodeId} is gone (${reason}); actors are not restarted on another node yet`,
      ),
    );
  }

  /**
   * Puts the ref arguments on the other node under the same ids (by ownership over HTTP, or copied
   * into its attached segment), and lends it the refs nested in the arguments; returns the ids the
   * link's caller now holds there.
   */
  #putArgs(
    link: RemoteLink,
    argRefs: ReadonlyArray<readonly [number, string]>,
    contained: readonly string[] = [],
  ): string[] {
    const ctx = this.#ctx;
    const ids = [...new Set(argRefs.map(([, id]) => id))];
    const dir = ctx.objects;
    if (dir !== undefined && (overHttp(link) || contained.length > 0)) {
      const lent = overHttp(link) ? [...new Set([...ids, ...contained])] : [...new Set(contained)];
      lendObjects(dir, link, lent);
      if (overHttp(link)) return lent;
      for (const id of ids) {
        const v = ctx.store.peek(id);
        if (v === undefined) throw ctx.lostError(id);
        link.api.putObject(link.caller, id, toRemote(ctx, link, v.payload), []);
      }
      return [...new Set([...ids, ...lent])];
    }
    for (const id of ids) {
      const v = ctx.store.peek(id);
      if (v === undefined) throw ctx.lostError(id);
      link.api.putObject(link.caller, id, toRemote(ctx, link, v.payload), []);
    }
    return ids;
  }

  submitCall(caller: CallerId, actorId: string, spec: ActorCallSpec): void {
    const ctx = this.#ctx;
    const rec = this.#actors.get(actorId) as RemoteActor;
    const returnIds: string[] = [];
    for (let i = 1; i <= spec.numReturns; i++) {
      const id = objectIdFor(spec.taskId, i);
      returnIds.push(id);
      ctx.store.expect(id);
      ctx.holdFor(caller, id);
    }
    if (spec.streaming === true) ctx.streams.open(spec.taskId, caller);
    const call: RemoteCall = {
      spec: spec.actorId === actorId ? spec : { ...spec, actorId },
      returnIds,
      deps: 0,
      done: false,
    };
    if (rec.state === "DEAD") {
      this.#seal(call, rec.death as Payload);
      return;
    }
    if (spec.streaming === true || (spec.contained.length > 0 && ctx.objects === undefined)) {
      const what =
        spec.streaming === true ? "generator methods" : "calls with refs nested in their arguments";
      this.#seal(
        call,
        ctx.errorPayload(
          new RaytsError(
            `Actor ${rec.spec.cls.name} runs on node ${rec.nodeId}: ${what} of actors on another node are not supported yet`,
          ),
        ),
      );
      return;
    }
    const lost = ctx.pinArgs(spec.argRefs, spec.contained);
    if (lost !== undefined) {
      this.#seal(call, ctx.errorPayload(ctx.lostError(lost)));
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
      const release = () => ctx.unpinArgs(s.argRefs, s.contained);
      const argErr = s.argRefs.map(([, id]) => ctx.store.peek(id)).find((v) => v?.err);
      if (argErr !== undefined) {
        this.#seal(call, argErr.payload);
        release();
        continue;
      }
      try {
        const argIds = this.#putArgs(link, s.argRefs, s.contained);
        const args = s.args.t === 1 ? toRemote(ctx, link, s.args) : s.args;
        link.api.submitActorCall(link.caller, args === s.args ? s : { ...s, args });
        if (argIds.length > 0) link.api.removeRefs(link.caller, argIds);
      } catch (err) {
        release();
        this.#seal(call, ctx.errorPayload(err instanceof Error ? err : new Error(String(err))));
        continue;
      }
      release();
      rec.inflight.set(s.taskId, call);
      void this.#await(rec, link, call);
    }
  }

  /** Waits for the call's returns on the other node and brings them here. */
  async #await(rec: RemoteActor, link: RemoteLink, call: RemoteCall): Promise<void> {
    const ctx = this.#ctx;
    try {
      const values = await link.api.getObjects(link.caller, call.returnIds, undefined);
      rec.inflight.delete(call.spec.taskId);
      if (link.closed) {
        if (!call.done) this.#seal(call, this.#nodeGone(rec, "its connection closed"));
        return;
      }
      const dir = ctx.objects;
      if (overHttp(link) && dir !== undefined) {
        leaveThere(ctx, dir, link, call.returnIds, values, !call.done);
        call.done = true;
        return;
      }
      try {
        copyBack(ctx, link, call.returnIds, values, !call.done);
        call.done = true;
      } finally {
        link.api.removeRefs(link.caller, call.returnIds);
      }
    } catch (err) {
      rec.inflight.delete(call.spec.taskId);
      if (call.done) return;
      const reason = err instanceof Error ? err.message : String(err);
      if (link.closed || err instanceof PeerClosedError) this.#seal(call, this.#nodeGone(rec, reason));
      else this.#seal(call, ctx.errorPayload(err instanceof Error ? err : new Error(reason)));
    }
  }

  #seal(call: RemoteCall, payload: Payload): void {
    if (call.done) return;
    call.done = true;
    if (call.spec.streaming === true) {
      this.#ctx.streams.fail(call.spec.taskId, payload);
      return;
    }
    for (const id of call.returnIds) this.#ctx.store.seal(id, { payload, err: true }, undefined);
  }

  #die(rec: RemoteActor, death: Payload): void {
    if (rec.state === "DEAD") return;
    rec.state = "DEAD";
    rec.death = death;
    for (const call of rec.inflight.values()) this.#seal(call, death);
    rec.inflight.clear();
    for (const call of rec.queue.splice(0)) {
      this.#seal(call, death);
      this.#ctx.unpinArgs(call.spec.argRefs, call.spec.contained);
    }
    this.#onDead(rec.spec);
  }

  /**
   * Kills the actor on its node. With `noRestart` false the other node restarts it under its own
   * `maxRestarts`; an actor not created there yet dies either way.
   */
  kill(actorId: string, noRestart: boolean): void {
    const rec = this.#actors.get(actorId);
    if (rec === undefined || rec.state === "DEAD") return;
    const link = rec.link;
    if (link !== undefined && !link.closed) link.api.killActor(link.caller, actorId, noRestart);
    if (noRestart || link === undefined) {
      this.#die(
        rec,
        this.#ctx.errorPayload(
          new ActorDiedError(`Actor ${rec.spec.cls.name} died: it was killed with kill()`),
        ),
      );
    }
  }

  /** Cancels a call of one of these actors; false when `taskId` is not one of theirs. */
  cancelCall(taskId: string, force: boolean): boolean {
    for (const rec of this.#actors.values()) {
      const queued = rec.queue.findIndex((c) => c.spec.taskId === taskId);
      const call = queued >= 0 ? rec.queue[queued] : rec.inflight.get(taskId);
      if (call === undefined) continue;
      if (force) {
        throw new TypeError(
          `Cannot force-cancel actor call ${call.spec.name}: a method stopped mid-way would leave the actor's state half-changed; kill the actor instead`,
        );
      }
      this.#seal(
        call,
        this.#ctx.errorPayload(
          new TaskCancelledError(`Actor call ${call.spec.name} was cancelled: cancel() was called on it`),
        ),
      );
      if (queued >= 0) {
        rec.queue.splice(queued, 1);
        this.#ctx.unpinArgs(call.spec.argRefs, call.spec.contained);
      } else if (rec.link !== undefined && !rec.link.closed) {
        const first = call.returnIds[0] ?? objectIdFor(taskId, 1);
        rec.link.api.cancel(rec.link.caller, first, false, false);
      }
      return true;
    }
    return false;
  }

  closeAll(): void {
    this.#actors.clear();
  }
}
