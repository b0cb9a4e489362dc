/**
 * The {@link NodeApi} as a driver in another process sees it: the same casts and calls as
 * `WorkerLink` (the method table is `RemoteNodeApi`'s), as msgpack messages over a {@link Peer}. Casts are one-way `c` messages; calls are
 * `r` requests whose reply holds `{ v }`, or `{ e }`: the error serialized with rayts' own codec, so
 * `GetTimeoutError`, `TaskError` and the rest arrive as their own classes. Payloads travel as the
 * plain data they are; shm payloads name blocks of the node's segment, which a driver on the same
 * machine has attached (see `driver-connect.ts`).
 */
import { deserialize, readFrame } from "../serialize/codec.ts";
import type { Peer } from "../transport/peer.ts";
import { keptAlive } from "./keep-alive.ts";
import { RemoteNodeApi } from "./remote-node-api.ts";

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

export class PeerLink extends RemoteNodeApi {
  override readonly nodeId: string;
  override readonly shmHeaderAddress: number;
  readonly #peer: Peer;
  #pending = 0;

  constructor(peer: Peer, nodeId: string, shmHeaderAddress: number) {
    super();
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

  protected override cast(m: string, a: unknown[]): void {
    this.#peer.send({ t: DRIVER_CAST, m, a });
  }

  protected override call<T>(m: string, a: unknown[]): Promise<T> {
    this.#pending++;
    const p = this.#peer.request({ t: DRIVER_CALL, m, a }, { timeoutMs: CALL_TIMEOUT_MS }).then((r) => {
      const reply = (r ?? {}) as CallReply;
      if (reply.e !== undefined) throw deserialize(readFrame(reply.e));
      return reply.v as T;
    });
    return keptAlive(p).finally(() => this.#pending--);
  }
}
