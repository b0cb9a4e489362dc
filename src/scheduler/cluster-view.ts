/**
 * What a node's scheduler sees of the other nodes of its cluster: who is alive with which resources,
 * and a link to submit work to one of them. Every node of a running cluster has one
 * (`cluster/node-links.ts`: from the head's node table on the head's node, from the view the head
 * pushes on the others): it answers `nodes()` and the cluster's resources, places tasks and actors
 * on other nodes (`place-task.ts`, `forward-task.ts`, `runtime/remote-actors.ts`); the embedded
 * cluster has none and runs everything locally.
 */
import type { CallerId } from "../runtime/node-api.ts";
import type { PeerLink } from "../runtime/peer-link.ts";
import type { ShmArena } from "../store/shm-arena.ts";

/** Another alive node, as of its last report to the head. */
export interface NodeView {
  readonly nodeId: string;
  /** Where the node listens (`host:port`). */
  readonly address: string;
  readonly hostname: string;
  readonly total: Readonly<Record<string, number>>;
  readonly available: Readonly<Record<string, number>>;
}

/** An open connection to another node's `NodeApi`, under a caller id that node gave this one. */
export interface RemoteLink {
  readonly nodeId: string;
  readonly api: PeerLink;
  readonly caller: CallerId;
  /** Where the other node listens (`host:port`): its `/objects/:id` routes move large objects. */
  readonly address: string;
  /** The cluster token, for those HTTP requests. */
  readonly token: string;
  /** The other node's shm segment, attached in this process (nodes on the same machine). */
  readonly arena: ShmArena | undefined;
  /** True once the connection ended (the node died or is stopping). */
  readonly closed: boolean;
  /**
   * Registers this node's entry scripts on the other node (the ones not sent yet), with their job
   * packages. Resolves once the package holding `module` (a function's module) is ready there;
   * rejects with its RuntimeEnvSetupError when it cannot be set up.
   */
  syncEntryScripts(module?: string): Promise<void>;
  /** Runs `fn` once the connection ends (at once when it already has). */
  onClose(fn: (reason: string) => void): void;
}

export interface ClusterView {
  /** The other nodes believed alive (never this node). */
  others(): NodeView[];
  /** The link to `nodeId`, opened on first use; rejects when the node cannot be reached. */
  link(nodeId: string): Promise<RemoteLink>;
}
