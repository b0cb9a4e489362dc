/**
 * Named actors, cluster-wide [Ray's GCS actor table, names only]: the names live in the head's
 * `Head`. On the head's node (and the embedded cluster) they are claimed, released and looked up
 * there directly; every other node asks the head's node over its link (`claimActorName`,
 * `releaseActorName`, `getNamedActor`), so `getActor` from any driver, task or actor finds an actor
 * created anywhere. A name claimed by a node that died since is free again.
 */
import { RaytsError } from "../errors.ts";
import type { Head, NamedActorEntry } from "../head.ts";
import type { NodeContext } from "../scheduler/node-context.ts";
import type { CallerId } from "./node-api.ts";
import type { ActorCallSpec, ActorHandleState, ActorSpec } from "./protocol.ts";

/** Who holds a name: the actor's id and the node holding its record. */
export interface NameHolder {
  readonly actorId: string;
  readonly home: string;
}

/** Calls (and a kill) for a named actor whose name the head's table has not granted yet. */
export interface PendingClaim {
  readonly calls: Array<[CallerId, ActorCallSpec, readonly string[]]>;
  kill: boolean | undefined;
}

/** What the names need of the actor manager. */
export interface NameHost {
  /** Creates the actor now that its name is its own (throws when it cannot be scheduled). */
  build(caller: CallerId, spec: ActorSpec): void;
  /** The actor exists, dead with `err` as the cause. */
  failCreation(spec: ActorSpec, err: Error): void;
  /** Submits a call whose returns are expected already. */
  submit(caller: CallerId, spec: ActorCallSpec, returnIds: readonly string[]): void;
  kill(actorId: string, noRestart: boolean): void;
  /** The spec of an actor of this node (run here or placed from here) while it is not dead. */
  aliveSpec(actorId: string): ActorSpec | undefined;
}

function nameTaken(spec: ActorSpec): RaytsError {
  return new RaytsError(
    `Actor name "${spec.opts.name}" is already taken in namespace "${spec.namespace}": pick another name, kill the existing actor, or pass getIfExists: true to reuse it`,
  );
}

/** The handle state of an actor whose record is on `home`. */
export function handleState(spec: ActorSpec, home: string): ActorHandleState {
  return {
    actorId: spec.actorId,
    className: spec.cls.name,
    methods: spec.methods,
    generators: spec.generators,
    ...(spec.opts.name === undefined ? {} : { name: spec.opts.name }),
    namespace: spec.namespace,
    home,
  };
}

export class ActorNames {
  readonly #ctx: NodeContext;
  readonly #head: Head;
  readonly #headNode: () => string | undefined;
  readonly #host: NameHost;
  /** `getIfExists` creations that found their name taken: their id → the holder's. */
  readonly #aliases = new Map<string, string>();
  /** Nodes holding the records of actors this node knows only by an alias. */
  readonly #homes = new Map<string, string>();
  /** Named actors created here while the head's table answers whether their name is free. */
  readonly #claims = new Map<string, PendingClaim>();

  /** `headNode`: the head's node id, on the other nodes of a running cluster. */
  constructor(ctx: NodeContext, head: Head, headNode: () => string | undefined, host: NameHost) {
    this.#ctx = ctx;
    this.#head = head;
    this.#headNode = headNode;
    this.#host = host;
  }

  /** The real id behind an alias made by `getIfExists`. */
  resolveId(actorId: string): string {
    return this.#aliases.get(actorId) ?? actorId;
  }

  /** The node holding the record of an actor known here by an alias only. */
  homeOf(actorId: string): string | undefined {
    return this.#homes.get(actorId);
  }

  /** The calls waiting for `actorId`'s name to be granted, while they wait. */
  pending(actorId: string): PendingClaim | undefined {
    return this.#claims.get(actorId);
  }

  /**
   * Claims a new actor's name; true when the actor is to be built now. Throws when the name is
   * taken here (and `getIfExists` is not set). On a node whose names live in the head's table the
   * claim is asked there: its calls and a `kill` wait until the answer, which builds it, aliases the
   * holder, or fails it.
   */
  claim(caller: CallerId, spec: ActorSpec): boolean {
    const at = this.elsewhere();
    if (at !== undefined) {
      const pending: PendingClaim = { calls: [], kill: undefined };
      this.#claims.set(spec.actorId, pending);
      void this.claimThere(spec, at).then(
        (holder) => this.#claimed(caller, spec, pending, holder, undefined),
        (err: unknown) => this.#claimed(caller, spec, pending, undefined, err),
      );
      return false;
    }
    const entry = { actorId: spec.actorId, detached: spec.opts.lifetime === "detached" };
    const taken = this.claimHere(spec.namespace, spec.opts.name as string, entry, (e) =>
      this.#holderAlive(e),
    );
    if (taken === undefined) return true;
    if (!spec.opts.getIfExists) throw nameTaken(spec);
    this.#alias(spec.actorId, taken);
    return false;
  }

  #claimed(
    caller: CallerId,
    spec: ActorSpec,
    pending: PendingClaim,
    holder: NameHolder | undefined,
    err: unknown,
  ): void {
    this.#claims.delete(spec.actorId);
    const host = this.#host;
    if (err !== undefined) {
      const why = err instanceof Error ? err.message : String(err);
      host.failCreation(spec, new RaytsError(`its name could not be claimed in the head's table: ${why}`));
    } else if (holder !== undefined) {
      if (spec.opts.getIfExists) this.#alias(spec.actorId, holder);
      else host.failCreation(spec, nameTaken(spec));
    } else {
      try {
        host.build(caller, spec);
      } catch (e) {
        this.release(spec);
        host.failCreation(spec, e instanceof Error ? e : new Error(String(e)));
      }
    }
    for (const [c, call, returnIds] of pending.calls) host.submit(c, call, returnIds);
    if (pending.kill !== undefined) host.kill(spec.actorId, pending.kill);
  }

  /** `actorId` names the actor `holder` (a `getIfExists` creation that found it). */
  #alias(actorId: string, holder: NameHolder): void {
    this.#aliases.set(actorId, holder.actorId);
    if (holder.home !== this.#ctx.nodeId) this.#homes.set(holder.actorId, holder.home);
  }

  /** A name's holder is alive unless the node holding its record died. */
  #holderAlive(entry: NamedActorEntry): boolean {
    const home = entry.state?.home;
    return home === undefined || this.nodeAlive(home);
  }

  /** Claims a name in this process's `Head` for an actor recorded on another node (its `home`). */
  claimFor(
    namespace: string,
    name: string,
    detached: boolean,
    state: ActorHandleState,
  ): NameHolder | undefined {
    const entry = { actorId: state.actorId, detached, state };
    return this.claimHere(namespace, name, entry, (e) => this.#holderAlive(e));
  }

  /** The handle of the actor named `name`, from the head's table (asked over the link when elsewhere). */
  async lookup(name: string, namespace: string): Promise<ActorHandleState | undefined> {
    const at = this.elsewhere();
    if (at !== undefined) return this.lookupThere(at, name, namespace);
    const entry = this.#head.lookupName(namespace, name);
    if (entry === undefined) return undefined;
    if (entry.state !== undefined) {
      return this.#holderAlive(entry) ? { ...entry.state, name, namespace } : undefined;
    }
    const spec = this.#host.aliveSpec(entry.actorId);
    if (spec === undefined) return undefined;
    return { ...handleState(spec, this.#ctx.nodeId), name, namespace };
  }

  /** The head's node, when the names live there and not in this process. */
  elsewhere(): string | undefined {
    const at = this.#headNode();
    return at === undefined || at === this.#ctx.nodeId || this.#ctx.cluster === undefined ? undefined : at;
  }

  /**
   * Claims `spec`'s name in this process's `Head` for an actor recorded on `home` (`state` set when
   * that is another node); returns the holder when the name is taken.
   */
  claimHere(
    namespace: string,
    name: string,
    entry: NamedActorEntry,
    alive: (holder: NamedActorEntry) => boolean,
  ): NameHolder | undefined {
    let taken = this.#head.claimName(namespace, name, entry);
    if (taken !== undefined && !alive(taken)) {
      // Its node died without releasing it: the name is free.
      this.#head.releaseName(namespace, name, taken.actorId);
      taken = this.#head.claimName(namespace, name, entry);
    }
    if (taken === undefined) return undefined;
    return { actorId: taken.actorId, home: taken.state?.home ?? this.#ctx.nodeId };
  }

  /** Claims `spec`'s name in the head's table over the link to the head's node. */
  async claimThere(spec: ActorSpec, at: string): Promise<NameHolder | undefined> {
    const cluster = this.#ctx.cluster;
    if (cluster === undefined) throw new RaytsError("this node has no view of the cluster");
    const link = await cluster.link(at);
    const holder = await link.api.claimActorName(
      link.caller,
      spec.namespace,
      spec.opts.name as string,
      spec.opts.lifetime === "detached",
      handleState(spec, this.#ctx.nodeId),
    );
    return holder ?? undefined;
  }

  /** Releases `spec`'s name if `spec`'s actor still holds it (here or in the head's table). */
  release(spec: ActorSpec): void {
    if (spec.opts.name !== undefined) this.releaseName(spec.namespace, spec.opts.name, spec.actorId);
  }

  /** Releases `name` if actor `actorId` still holds it. */
  releaseName(namespace: string, name: string, actorId: string): void {
    const at = this.elsewhere();
    if (at === undefined) {
      this.#head.releaseName(namespace, name, actorId);
      return;
    }
    void this.#ctx.cluster
      ?.link(at)
      .then((l) => l.api.releaseActorName(l.caller, namespace, name, actorId))
      .catch(() => {
        // The head's node is gone: so is the table.
      });
  }

  /** Looks `name` up in the head's table over the link (only when {@link elsewhere} is set). */
  async lookupThere(at: string, name: string, namespace: string): Promise<ActorHandleState | undefined> {
    const cluster = this.#ctx.cluster;
    if (cluster === undefined) return undefined;
    const link = await cluster.link(at);
    return link.api.getNamedActor(name, namespace);
  }

  /** Whether `nodeId` is this node or another node alive in this node's view. */
  nodeAlive(nodeId: string): boolean {
    return (
      nodeId === this.#ctx.nodeId || (this.#ctx.cluster?.others().some((n) => n.nodeId === nodeId) ?? false)
    );
  }
}
