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
import type { ActorHandleState, ActorSpec } from "./protocol.ts";

/** Who holds a name: the actor's id and the node holding its record. */
export interface NameHolder {
  readonly actorId: string;
  readonly home: string;
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

  /** `headNode`: the head's node id, on the other nodes of a running cluster. */
  constructor(ctx: NodeContext, head: Head, headNode: () => string | undefined) {
    this.#ctx = ctx;
    this.#head = head;
    this.#headNode = headNode;
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

  /** This process's entry for `name`. */
  entry(namespace: string, name: string): NamedActorEntry | undefined {
    return this.#head.lookupName(namespace, name);
  }

  /** Whether `nodeId` is this node or another node alive in this node's view. */
  nodeAlive(nodeId: string): boolean {
    return (
      nodeId === this.#ctx.nodeId || (this.#ctx.cluster?.others().some((n) => n.nodeId === nodeId) ?? false)
    );
  }
}
