/**
 * What the node's managers (tasks, actors, streams) share of the node. The node implements it; the
 * managers never reach further into the node than this.
 */
import type { ObjectLostError } from "../errors.ts";
import type { PlacementGroupManager } from "../placement/pg-manager.ts";
import type { CallerId } from "../runtime/node-api.ts";
import type { ObjectValue, Payload } from "../runtime/protocol.ts";
import type { StreamTable } from "../runtime/stream-table.ts";
import type { ObjectDirectory } from "../store/object-directory.ts";
import type { ObjectStore } from "../store/object-store.ts";
import type { WorkerPool } from "../worker/worker-pool.ts";
import type { ClusterView } from "./cluster-view.ts";
import type { NodeResources } from "./node-resources.ts";

export interface NodeContext {
  readonly nodeId: string;
  readonly store: ObjectStore;
  readonly resources: NodeResources;
  readonly pool: WorkerPool;
  readonly streams: StreamTable;
  readonly placementGroups: PlacementGroupManager;
  /** The other nodes work may be forwarded to (none on the embedded cluster). */
  readonly cluster: ClusterView | undefined;
  /** Objects across nodes: owners, locations, borrowers (a node serving a cluster has one). */
  readonly objects: ObjectDirectory | undefined;
  /** Counts one reference to `id` for `caller` (returned refs the caller holds from the start). */
  holdFor(caller: CallerId, id: string): void;
  /** Pins a task's argument objects; returns the id of one that no longer exists, if any. */
  pinArgs(
    argRefs: ReadonlyArray<readonly [number, string]>,
    contained: readonly string[],
  ): string | undefined;
  unpinArgs(argRefs: ReadonlyArray<readonly [number, string]>, contained: readonly string[]): void;
  /** The values of ready argument objects for a worker (pinning shm blocks for it). */
  argValues(caller: CallerId, argRefs: ReadonlyArray<readonly [number, string]>): ObjectValue[];
  lostError(id: string): ObjectLostError;
  /** An error serialized as an inline payload. */
  errorPayload(err: Error): Payload;
  /** Releases a payload that will not be stored (a late or duplicate result). */
  dropPayload(p: Payload): void;
  /** Resources were released: place waiting actors and schedule queued tasks. */
  resourcesFreed(): void;
  /**
   * Prints a warning for the user on the driver's stderr (also relayed, as console output is, to the
   * connected driver of task `taskId` or of actor `actorId`, when given).
   */
  warn(message: string, taskId?: string, actorId?: string): void;
}
