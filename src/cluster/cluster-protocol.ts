/**
 * The messages between a node and the head on the control socket, and the status the head reports.
 * Every field a node sends is checked by the head (see `parseRegister` and `parseHeartbeat`), so a
 * bad message gets an error answer and never corrupts the node table.
 *
 * - `register` (request, node → head): `{ nodeId, address, pid, hostname, report }`; the reply is
 *   {@link RegisterReply}.
 * - `heartbeat` (one-way, node → head, every `heartbeatMs`): `{ nodeId, report }`.
 * - `status` (request, anyone → head): the reply is {@link ClusterStatus}.
 * - `dead` (one-way, head → node): the head declared the node dead; the node exits.
 * - `view` (one-way, head → node): `{ nodes: ViewNode[] }`, every alive node (the head's own and the
 *   receiver included) with its last reported resources; sent to every node each heartbeat period
 *   and at once when a node joins or dies. Each node builds its cluster view from the last one.
 */
import type { PlacementGroupInfo } from "../placement/pg-types.ts";

/** What a node says about itself with each heartbeat. */
export interface NodeReport {
  readonly total: Readonly<Record<string, number>>;
  readonly available: Readonly<Record<string, number>>;
  /** Tasks queued for resources, by shape. */
  readonly pendingDemand: ReadonlyArray<{
    readonly demand: Readonly<Record<string, number>>;
    readonly count: number;
  }>;
  readonly store: { readonly objects: number; readonly usedBytes: number; readonly capacityBytes: number };
}

/** The `register` request. */
export interface RegisterRequest {
  readonly nodeId: string;
  readonly address: string;
  readonly pid: number;
  readonly hostname: string;
  readonly report: NodeReport;
}

/** The head's answer to `register`. */
export interface RegisterReply {
  readonly sessionName: string;
  /** How often the node must send a heartbeat. */
  readonly heartbeatMs: number;
  /** Silence after which the head declares the node dead. */
  readonly deadAfterMs: number;
  /** The alive nodes (this one included), until the first `view` message. */
  readonly view: readonly ViewNode[];
  /**
   * The head's own node, which coordinates the cluster's placement groups and holds the named
   * actors' table.
   */
  readonly headNodeId?: string;
}

/** One alive node as the head tells every node about it (`view`). */
export interface ViewNode {
  readonly nodeId: string;
  /** Where the node listens (`host:port`): its port serves the `NodeApi` and `/objects/:id`. */
  readonly address: string;
  readonly hostname: string;
  readonly total: Readonly<Record<string, number>>;
  readonly available: Readonly<Record<string, number>>;
}

/** `alive` until declared dead; a dead node never comes back (it joins again under a new id). */
export type NodeState = "ALIVE" | "DEAD";

/** One row of {@link ClusterStatus}. */
export interface NodeStatus {
  readonly nodeId: string;
  readonly address: string;
  readonly state: NodeState;
  readonly isHead: boolean;
  readonly pid: number;
  readonly hostname: string;
  readonly report: NodeReport;
  /** Milliseconds since the head last heard from the node. */
  readonly lastSeenMsAgo: number;
  /** Why the node is dead (absent while alive). */
  readonly deathReason?: string;
}

/** The answer to `status` (also `GET /api/status`). */
export interface ClusterStatus {
  readonly sessionName: string;
  readonly address: string;
  readonly nodes: readonly NodeStatus[];
  /** Sums over alive nodes. */
  readonly total: Readonly<Record<string, number>>;
  readonly available: Readonly<Record<string, number>>;
  readonly pendingDemand: ReadonlyArray<{
    readonly demand: Readonly<Record<string, number>>;
    readonly count: number;
  }>;
  readonly store: { readonly objects: number; readonly usedBytes: number; readonly capacityBytes: number };
  /** Every placement group the head's node coordinates, with its bundle → node map. */
  readonly placementGroups?: readonly PlacementGroupInfo[];
}
