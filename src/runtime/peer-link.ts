/**
 * The {@link NodeApi} as a driver in another process sees it: the same casts and calls as
 * `WorkerLink`, as msgpack messages over a {@link Peer}. Casts are one-way `c` messages; calls are
 * `r` requests whose reply holds `{ v }`, or `{ e }`: the error serialized with rayts' own codec, so
 * `GetTimeoutError`, `TaskError` and the rest arrive as their own classes. Payloads travel as the
 * plain data they are; shm payloads name blocks of the node's segment, which a driver on the same
 * machine has attached (see `driver-connect.ts`).
 */
import type { PlacementGroupInfo, PlacementGroupSpec } from "../placement/pg-types.ts";
import { deserialize, readFrame } from "../serialize/codec.ts";
import type { Peer } from "../transport/peer.ts";
import { keptAlive } from "./keep-alive.ts";
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

/** A call's reply: the value, or the error's frame. */
export interface CallReply {
  readonly v?: unknown;
  readonly e?: Uint8Array;
}

/** Message types of the driver protocol (after the `driver` hello). */
export const DRIVER_CAST = "c";
export const DRIVER_CALL = "r";
/** A one-way message registering an entry script on the node (`{ path }`). */
export const DRIVER_ENTRY = "entry";

/** Calls may wait as long as the work they wait for (a `get` of an hours-long task). */
const CALL_TIMEOUT_MS = 2 ** 31 - 1;

export class PeerLink implements NodeApi {
  readonly nodeId: string;
  readonly shmHeaderAddress: number;
  readonly #peer: Peer;
  #pending = 0;

  constructor(peer: Peer, nodeId: string, shmHeaderAddress: number) {
    this.#peer = peer;
    this.nodeId = nodeId;
    this.shmHeaderAddress = shmHeaderAddress;
  }

  /** Calls sent and not answered yet. */
  get pending(): number {
    return this.#pending;
  }

  /** Flushes what is queued and closes the connection; the node releases what this driver held. */
  close(reason = "the driver is done"): void {
    this.#peer.close(reason);
  }

  /** Registers `path` as an entry script on the node (see `Node.addEntryScript`). */
  addEntryScript(path: string): void {
    this.#peer.send({ t: DRIVER_ENTRY, path });
  }

  #cast(m: string, a: unknown[]): void {
    this.#peer.send({ t: DRIVER_CAST, m, a });
  }

  #call<T>(m: string, a: unknown[]): Promise<T> {
    this.#pending++;
    const p = this.#peer.request({ t: DRIVER_CALL, m, a }, { timeoutMs: CALL_TIMEOUT_MS }).then((r) => {
      const reply = (r ?? {}) as CallReply;
      if (reply.e !== undefined) throw deserialize(readFrame(reply.e));
      return reply.v as T;
    });
    return keptAlive(p).finally(() => this.#pending--);
  }

  submitTask(_c: CallerId, spec: TaskSpec): void {
    this.#cast("submitTask", [spec]);
  }
  createActor(_c: CallerId, spec: ActorSpec): void {
    this.#cast("createActor", [spec]);
  }
  submitActorCall(_c: CallerId, spec: ActorCallSpec): void {
    this.#cast("submitActorCall", [spec]);
  }
  putObject(_c: CallerId, id: string, payload: Payload, contained: readonly string[]): void {
    this.#cast("putObject", [id, payload, contained]);
  }
  getObjects(_c: CallerId, ids: readonly string[], timeoutMs: number | undefined): Promise<ObjectValue[]> {
    return this.#call("getObjects", [ids, timeoutMs]);
  }
  waitObjects(
    _c: CallerId,
    ids: readonly string[],
    numReturns: number,
    timeoutMs: number | undefined,
  ): Promise<boolean[]> {
    return this.#call("waitObjects", [ids, numReturns, timeoutMs]);
  }
  addRefs(_c: CallerId, ids: readonly string[]): void {
    this.#cast("addRefs", [ids]);
  }
  removeRefs(_c: CallerId, ids: readonly string[]): void {
    this.#cast("removeRefs", [ids]);
  }
  unpin(_c: CallerId, id: string): void {
    this.#cast("unpin", [id]);
  }
  cancel(_c: CallerId, objectId: string, force: boolean, recursive: boolean): void {
    this.#cast("cancel", [objectId, force, recursive]);
  }
  killActor(_c: CallerId, actorId: string, noRestart: boolean): void {
    this.#cast("killActor", [actorId, noRestart]);
  }
  async getNamedActor(name: string, namespace: string): Promise<ActorHandleState | undefined> {
    return (await this.#call<ActorHandleState | null>("getNamedActor", [name, namespace])) ?? undefined;
  }
  streamNext(_c: CallerId, taskId: string, index: number): Promise<StreamStep> {
    return this.#call("streamNext", [taskId, index]);
  }
  dropStream(_c: CallerId, taskId: string): void {
    this.#cast("dropStream", [taskId]);
  }
  resolveActorId(actorId: string): string {
    return actorId;
  }
  freeObjects(_c: CallerId, ids: readonly string[]): void {
    this.#cast("freeObjects", [ids]);
  }
  createPlacementGroup(_c: CallerId, spec: PlacementGroupSpec): void {
    this.#cast("createPlacementGroup", [spec]);
  }
  removePlacementGroup(_c: CallerId, pgId: string): void {
    this.#cast("removePlacementGroup", [pgId]);
  }
  waitPlacementGroup(pgId: string, timeoutMs: number | undefined): Promise<boolean> {
    return this.#call("waitPlacementGroup", [pgId, timeoutMs]);
  }
  async placementGroupTable(): Promise<PlacementGroupInfo[]> {
    return this.#call("placementGroupTable", []);
  }
  async placementGroupByName(name: string, namespace: string): Promise<PlacementGroupInfo | undefined> {
    return (
      (await this.#call<PlacementGroupInfo | null>("placementGroupByName", [name, namespace])) ?? undefined
    );
  }
  nodes(): Promise<NodeInfo[]> {
    return this.#call("nodes", []);
  }
  clusterResources(): Promise<Record<string, number>> {
    return this.#call("clusterResources", []);
  }
  availableResources(): Promise<Record<string, number>> {
    return this.#call("availableResources", []);
  }
}
