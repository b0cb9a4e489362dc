/**
 * What a caller (driver, task, actor) asks of its node. The embedded driver calls a `Node` directly;
 * a Worker thread calls it through a message channel; a remote driver (later) through a socket.
 * Keeping one interface is what lets the node sit unchanged behind any transport.
 */
import type { BundleReply, PlacementGroupInfo, PlacementGroupSpec } from "../placement/pg-types.ts";
import type {
  ActorCallSpec,
  ActorHandleState,
  ActorSpec,
  NodeInfo,
  ObjectValue,
  Payload,
  TaskSpec,
} from "./protocol.ts";

/** Identifies who is calling: 0 is the in-process driver, workers have their own ids. */
export type CallerId = number;

/** The answer to `streamNext`: the id of the next item, or the end of the stream. */
export type StreamStep = { readonly id: string } | { readonly done: true };

export interface NodeApi {
  submitTask(caller: CallerId, spec: TaskSpec): void;
  createActor(caller: CallerId, spec: ActorSpec): void;
  submitActorCall(caller: CallerId, spec: ActorCallSpec): void;
  putObject(caller: CallerId, id: string, payload: Payload, contained: readonly string[]): void;
  /** Resolves when every object is ready; rejects with GetTimeoutError after `timeoutMs`. */
  getObjects(caller: CallerId, ids: readonly string[], timeoutMs: number | undefined): Promise<ObjectValue[]>;
  /** Resolves with the readiness of each id once `numReturns` are ready or the timeout passes. */
  waitObjects(
    caller: CallerId,
    ids: readonly string[],
    numReturns: number,
    timeoutMs: number | undefined,
  ): Promise<boolean[]>;
  addRefs(caller: CallerId, ids: readonly string[]): void;
  /**
   * The caller holds refs to objects owned by the node at `owner` (`host:port`): the node counts one
   * reference for the caller on each, registering an id it does not know as borrowed from that owner
   * and pulling its value when first needed (see `store/object-directory.ts`).
   */
  borrowObjects(caller: CallerId, ids: readonly string[], owner: string): void;
  /** Job `job`'s driver exited: its non-detached actors and placement groups on this node end. */
  jobEnded(caller: CallerId, job: string): void;
  removeRefs(caller: CallerId, ids: readonly string[]): void;
  /** A caller stopped reading a zero-copy view of a shm object. */
  unpin(caller: CallerId, id: string): void;
  /** Cancels a task or actor call; rejects (throws here) when it cannot be, e.g. a forced actor call. */
  cancel(caller: CallerId, objectId: string, force: boolean, recursive: boolean): void | Promise<void>;
  /** `home`: the node holding the actor's record, when the caller's node may not know it. */
  killActor(caller: CallerId, actorId: string, noRestart: boolean, home?: string): void;
  getNamedActor(name: string, namespace: string): Promise<ActorHandleState | undefined>;
  /**
   * Claims `name` in the head's table for an actor whose record is on another node (`state.home`);
   * resolves with the holder when the name is taken. Served by the head's node.
   */
  claimActorName(
    caller: CallerId,
    namespace: string,
    name: string,
    detached: boolean,
    state: ActorHandleState,
  ): Promise<{ actorId: string; home: string } | undefined>;
  /** Releases a name claimed with `claimActorName` (its actor died). */
  releaseActorName(caller: CallerId, namespace: string, name: string, actorId: string): void;
  /**
   * Resolves with an actor's death (its error frame) once it is dead for good: how the node that
   * placed an actor on this one learns that it died by itself.
   */
  actorDeath(caller: CallerId, actorId: string): Promise<Payload>;
  /** The id of stream item `index` (0-based) of a generator task, once it exists. */
  streamNext(caller: CallerId, taskId: string, index: number): Promise<StreamStep>;
  /** The consumer let go of a generator: release the items it never took. */
  dropStream(caller: CallerId, taskId: string): void;
  /** Frees objects everywhere; resolves once every node holding a copy has dropped it. */
  freeObjects(caller: CallerId, ids: readonly string[]): Promise<void>;
  /**
   * The id an actor handle should carry: a `getIfExists` creation that found the named actor answers
   * with that actor's id. Only in-process nodes answer synchronously; others return `actorId`.
   */
  resolveActorId(actorId: string): string;
  /** Creates a placement group; throws when its name is taken. */
  createPlacementGroup(caller: CallerId, spec: PlacementGroupSpec): void;
  removePlacementGroup(caller: CallerId, pgId: string): void;
  /** True once the group is created; false when removed first or after `timeoutMs`. */
  waitPlacementGroup(pgId: string, timeoutMs: number | undefined): Promise<boolean>;
  placementGroupTable(): Promise<PlacementGroupInfo[]>;
  placementGroupByName(name: string, namespace: string): Promise<PlacementGroupInfo | undefined>;
  /** Coordinator → node, phase 1: take bundles `indexes` of a group here, every one or none. */
  prepareBundles(
    caller: CallerId,
    spec: PlacementGroupSpec,
    indexes: readonly number[],
  ): Promise<BundleReply>;
  /** Coordinator → node, phase 2: publish prepared bundles to the group's work. */
  commitBundles(caller: CallerId, pgId: string, indexes: readonly number[]): Promise<BundleReply>;
  /** Coordinator → node: give bundles back (every one of the group here when `indexes` is undefined). */
  releaseBundles(
    caller: CallerId,
    pgId: string,
    indexes: readonly number[] | undefined,
  ): Promise<BundleReply>;
  nodes(): Promise<NodeInfo[]>;
  clusterResources(): Promise<Record<string, number>>;
  availableResources(): Promise<Record<string, number>>;
  /** The address of the node's shm segment header in this process (0 when none). */
  readonly shmHeaderAddress: number;
  readonly nodeId: string;
}
