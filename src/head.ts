/**
 * The head [Ray's GCS]: cluster membership, named actors and jobs. In the embedded cluster it lives
 * in the driver's process beside its one node; its state sits behind this one class so it can later
 * be served over the network and persisted.
 */
import type { ActorHandleState, NodeInfo } from "./runtime/protocol.ts";

export interface NamedActorEntry {
  readonly actorId: string;
  readonly detached: boolean;
  /**
   * The handle of an actor whose record is on another node (claimed through `claimActorName`;
   * its `home` names that node). Absent for actors of the head's own node.
   */
  readonly state?: ActorHandleState;
}

export class Head {
  readonly #nodes = new Map<string, NodeInfo>();
  readonly #names = new Map<string, NamedActorEntry>();

  registerNode(info: NodeInfo): void {
    this.#nodes.set(info.nodeId, info);
  }

  markNodeDead(nodeId: string): void {
    const n = this.#nodes.get(nodeId);
    if (n !== undefined) this.#nodes.set(nodeId, { ...n, alive: false });
  }

  nodes(): NodeInfo[] {
    return [...this.#nodes.values()];
  }

  /** Claims `name` in `namespace` for an actor; returns the current owner when it is taken. */
  claimName(namespace: string, name: string, entry: NamedActorEntry): NamedActorEntry | undefined {
    const key = `${namespace}\u0000${name}`;
    const existing = this.#names.get(key);
    if (existing !== undefined) return existing;
    this.#names.set(key, entry);
    return undefined;
  }

  lookupName(namespace: string, name: string): NamedActorEntry | undefined {
    return this.#names.get(`${namespace}\u0000${name}`);
  }

  releaseName(namespace: string, name: string, actorId: string): void {
    const key = `${namespace}\u0000${name}`;
    if (this.#names.get(key)?.actorId === actorId) this.#names.delete(key);
  }
}
