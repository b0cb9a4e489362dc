/**
 * The {@link NodeApi} of a node reached through messages: every method becomes a one-way cast or a
 * call that answers. A Worker thread (`WorkerLink`) and a driver in another process (`PeerLink`)
 * differ only in how a cast and a call travel, so each supplies those two and inherits the rest.
 */
import type { BundleReply, PlacementGroupInfo, PlacementGroupSpec } from "../placement/pg-types.ts";
import type { CallerId, NodeApi, StreamStep } from "./node-api.ts";
import type {
  ActorCallSpec,
  ActorHandleState,
  ActorSpec,
  NodeInfo,
  ObjectValue,
  Payload,
  TaskSpec,
} from "./protocol.ts";

export abstract class RemoteNodeApi implements NodeApi {
  abstract readonly nodeId: string;
  abstract readonly shmHeaderAddress: number;

  /** Sends a method call that answers nothing. */
  protected abstract cast(method: string, args: unknown[]): void;
  /** Sends a method call and resolves with its answer (or rejects with its error). */
  protected abstract call<T>(method: string, args: unknown[]): Promise<T>;

  submitTask(_c: CallerId, spec: TaskSpec): void {
    this.cast("submitTask", [spec]);
  }
  createActor(_c: CallerId, spec: ActorSpec): void {
    this.cast("createActor", [spec]);
  }
  submitActorCall(_c: CallerId, spec: ActorCallSpec): void {
    this.cast("submitActorCall", [spec]);
  }
  putObject(_c: CallerId, id: string, payload: Payload, contained: readonly string[]): void {
    this.cast("putObject", [id, payload, contained]);
  }
  getObjects(_c: CallerId, ids: readonly string[], timeoutMs: number | undefined): Promise<ObjectValue[]> {
    return this.call("getObjects", [ids, timeoutMs]);
  }
  waitObjects(
    _c: CallerId,
    ids: readonly string[],
    numReturns: number,
    timeoutMs: number | undefined,
  ): Promise<boolean[]> {
    return this.call("waitObjects", [ids, numReturns, timeoutMs]);
  }
  addRefs(_c: CallerId, ids: readonly string[]): void {
    this.cast("addRefs", [ids]);
  }
  jobEnded(_c: CallerId, job: string): void {
    this.cast("jobEnded", [job]);
  }

  borrowObjects(_c: CallerId, ids: readonly string[], owner: string): void {
    this.cast("borrowObjects", [ids, owner]);
  }
  removeRefs(_c: CallerId, ids: readonly string[]): void {
    this.cast("removeRefs", [ids]);
  }
  unpin(_c: CallerId, id: string): void {
    this.cast("unpin", [id]);
  }
  cancel(_c: CallerId, objectId: string, force: boolean, recursive: boolean): Promise<void> {
    return this.call("cancel", [objectId, force, recursive]);
  }
  killActor(_c: CallerId, actorId: string, noRestart: boolean, home?: string): void {
    this.cast("killActor", home === undefined ? [actorId, noRestart] : [actorId, noRestart, home]);
  }
  /** `undefined` may arrive as `null` through msgpack. */
  async getNamedActor(name: string, namespace: string): Promise<ActorHandleState | undefined> {
    return (await this.call<ActorHandleState | null>("getNamedActor", [name, namespace])) ?? undefined;
  }
  async claimActorName(
    _c: CallerId,
    namespace: string,
    name: string,
    detached: boolean,
    state: ActorHandleState,
  ): Promise<{ actorId: string; home: string } | undefined> {
    return (
      (await this.call<{ actorId: string; home: string } | null>("claimActorName", [
        namespace,
        name,
        detached,
        state,
      ])) ?? undefined
    );
  }
  releaseActorName(_c: CallerId, namespace: string, name: string, actorId: string): void {
    this.cast("releaseActorName", [namespace, name, actorId]);
  }
  actorDeath(_c: CallerId, actorId: string): Promise<Payload> {
    return this.call("actorDeath", [actorId]);
  }
  streamNext(_c: CallerId, taskId: string, index: number): Promise<StreamStep> {
    return this.call("streamNext", [taskId, index]);
  }
  dropStream(_c: CallerId, taskId: string): void {
    this.cast("dropStream", [taskId]);
  }
  /** Only an in-process node resolves `getIfExists` aliases synchronously. */
  resolveActorId(actorId: string): string {
    return actorId;
  }
  freeObjects(_c: CallerId, ids: readonly string[]): Promise<void> {
    return this.call("freeObjects", [ids]);
  }
  createPlacementGroup(_c: CallerId, spec: PlacementGroupSpec): void {
    this.cast("createPlacementGroup", [spec]);
  }
  removePlacementGroup(_c: CallerId, pgId: string): void {
    this.cast("removePlacementGroup", [pgId]);
  }
  waitPlacementGroup(pgId: string, timeoutMs: number | undefined): Promise<boolean> {
    return this.call("waitPlacementGroup", [pgId, timeoutMs]);
  }
  placementGroupTable(): Promise<PlacementGroupInfo[]> {
    return this.call("placementGroupTable", []);
  }
  async placementGroupByName(name: string, namespace: string): Promise<PlacementGroupInfo | undefined> {
    return (
      (await this.call<PlacementGroupInfo | null>("placementGroupByName", [name, namespace])) ?? undefined
    );
  }
  prepareBundles(_c: CallerId, spec: PlacementGroupSpec, indexes: readonly number[]): Promise<BundleReply> {
    return this.call("prepareBundles", [spec, indexes]);
  }
  commitBundles(_c: CallerId, pgId: string, indexes: readonly number[]): Promise<BundleReply> {
    return this.call("commitBundles", [pgId, indexes]);
  }
  releaseBundles(_c: CallerId, pgId: string, indexes: readonly number[] | undefined): Promise<BundleReply> {
    return this.call("releaseBundles", [pgId, indexes ?? null]);
  }
  nodes(): Promise<NodeInfo[]> {
    return this.call("nodes", []);
  }
  clusterResources(): Promise<Record<string, number>> {
    return this.call("clusterResources", []);
  }
  availableResources(): Promise<Record<string, number>> {
    return this.call("availableResources", []);
  }
}
