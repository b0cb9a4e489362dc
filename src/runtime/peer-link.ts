/**
 * The {@link NodeApi} as a driver in another process sees it: the same casts and calls as
 * `WorkerLink` (the method table is `RemoteNodeApi`'s), as msgpack messages over a {@link Peer}. Casts are one-way `c` messages; calls are
 * `r` requests whose reply holds `{ v }`, or `{ e }`: the error serialized with rayts' own codec, so
 * `GetTimeoutError`, `TaskError` and the rest arrive as their own classes. Payloads travel as the
 * plain data they are; shm payloads name blocks of the node's segment, which a driver on the same
 * machine has attached (see `driver-connect.ts`).
 *
 * A driver that cannot attach the segment (another machine) gives `http`: shm values it gets are
 * pulled over HTTP (`GET /objects/:id`) into inline payloads, and large values it puts are pushed
 * (`PUT /objects/:id`) and registered as shm payloads; messages after a push wait for it, so the
 * node sees them in the order they were sent.
 */
import { deserialize, readFrame } from "../serialize/codec.ts";
import type { JobPackageRef } from "../shipping/job-package.ts";
import { needsShipping, type ShipTarget, shipOptions } from "../shipping/ship-env.ts";
import type { Message } from "../transport/message.ts";
import { pullObjectBytes, pushObject } from "../transport/object-pull.ts";
import type { Peer } from "../transport/peer.ts";
import { keptAlive } from "./keep-alive.ts";
import type { CallerId } from "./node-api.ts";
import type { ActorSpec, ObjectValue, Payload, TaskSpec } from "./protocol.ts";
import { RemoteNodeApi } from "./remote-node-api.ts";

/** A call's reply: the value, or the error's frame. */
export interface CallReply {
  readonly v?: unknown;
  readonly e?: Uint8Array;
}

/** Message types of the driver protocol (after the `driver` hello). */
export const DRIVER_CAST = "c";
export const DRIVER_CALL = "r";
/**
 * A request registering an entry script on the node (`{ path, pkg?, local? }`): with a job package
 * (`pkg`), the node unpacks it (unless `local`: the driver shares this node's file system) before
 * it answers; see `driver-service.ts`.
 */
export const DRIVER_ENTRY = "entry";
/**
 * One-way, node → driver (or node → the node that forwarded the work): `{ taskId, text, err,
 * actorId? }`, console output of a worker running that task or hosting that actor, prefixed already
 * (see `Node.relayLog`).
 */
export const DRIVER_LOG = "log";

/**
 * A request asking the node to unpack a shipped directory or place a shipped file (`{ kind: "dir",
 * hash, root, size }` or `{ kind: "file", hash, name, size }`, uploaded first); answers its path there.
 */
export const DRIVER_SHIP = "ship";

/** What a `ship` request names. */
export type ShipRequest =
  | { readonly kind: "dir"; readonly hash: string; readonly root: string; readonly size: number }
  | { readonly kind: "file"; readonly hash: string; readonly name: string; readonly size: number };

/** Calls may wait as long as the work they wait for (a `get` of an hours-long task). */
const CALL_TIMEOUT_MS = 2 ** 31 - 1;
/** Inline values at least this large are pushed over HTTP by a driver without the segment. */
const PUSH_BYTES = 1 << 20;

/** Where a driver without the node's segment moves object bytes: the node's HTTP port. */
export interface HttpObjects {
  readonly address: string;
  readonly token: string;
}

export class PeerLink extends RemoteNodeApi {
  override readonly nodeId: string;
  override readonly shmHeaderAddress: number;
  readonly #peer: Peer;
  readonly #http: HttpObjects | undefined;
  #pending = 0;
  /** Pushes in flight: later messages are sent after it settles. */
  #chain: Promise<void> | undefined;
  #target: ShipTarget | undefined;
  #chained = 0;

  constructor(peer: Peer, nodeId: string, shmHeaderAddress: number, http?: HttpObjects) {
    super();
    this.#peer = peer;
    this.nodeId = nodeId;
    this.shmHeaderAddress = shmHeaderAddress;
    this.#http = http;
  }

  override putObject(c: CallerId, id: string, payload: Payload, contained: readonly string[]): void {
    const http = this.#http;
    if (http === undefined || payload.t !== 0 || payload.bytes.byteLength < PUSH_BYTES) {
      super.putObject(c, id, payload, contained);
      return;
    }
    const bytes = payload.bytes;
    const pushed = pushObject(http.address, http.token, id, bytes).then(
      (off): Payload => ({ t: 1, off, size: bytes.byteLength }),
      (err: unknown): Payload => {
        process.stderr.write(
          `rayts: warning: ${err instanceof Error ? err.message : String(err)}; sending object ${id} inline\n`,
        );
        return payload;
      },
    );
    this.#after(pushed, (p) => this.#peer.send({ t: DRIVER_CAST, m: "putObject", a: [id, p, contained] }));
  }

  override submitTask(c: CallerId, spec: TaskSpec): void {
    if (this.#http === undefined || !needsShipping(spec.opts.runtimeEnv)) super.submitTask(c, spec);
    else
      this.#after(this.#shipped(spec), (s) => this.#peer.send({ t: DRIVER_CAST, m: "submitTask", a: [s] }));
  }

  override createActor(c: CallerId, spec: ActorSpec): void {
    if (this.#http === undefined || !needsShipping(spec.opts.runtimeEnv)) super.createActor(c, spec);
    else
      this.#after(this.#shipped(spec), (s) => this.#peer.send({ t: DRIVER_CAST, m: "createActor", a: [s] }));
  }

  /**
   * A driver on another machine ships the paths its work's runtime environment names to the node
   * (see `shipping/ship-env.ts`); when that fails the work goes as it is, and the node's build
   * reports the missing path.
   */
  #shipped<S extends TaskSpec | ActorSpec>(spec: S): Promise<S> {
    const http = this.#http as HttpObjects;
    this.#target ??= { nodeId: this.nodeId, address: http.address, token: http.token, api: this };
    return shipOptions(this.#target, spec.opts).then(
      (opts) => ({ ...spec, opts }),
      (err: unknown) => {
        process.stderr.write(`rayts: warning: ${err instanceof Error ? err.message : String(err)}\n`);
        return spec;
      },
    );
  }

  override async getObjects(
    c: CallerId,
    ids: readonly string[],
    timeoutMs: number | undefined,
  ): Promise<ObjectValue[]> {
    const values = await super.getObjects(c, ids, timeoutMs);
    const http = this.#http;
    if (http === undefined) return values;
    return Promise.all(
      values.map(async (v, i): Promise<ObjectValue> => {
        if (v.payload.t === 0) return v;
        const id = ids[i] as string;
        try {
          const bytes = await pullObjectBytes(http.address, http.token, id, v.payload.size);
          return { payload: { t: 0, bytes }, err: v.err };
        } finally {
          // The node pinned the block for this `get`; the bytes are copied out now.
          this.cast("unpin", [id]);
        }
      }),
    );
  }

  /** Runs `send` with `p`'s value once `p` and every earlier chained step are done. */
  #after<T>(p: Promise<T>, send: (v: T) => void): void {
    const prev = this.#chain ?? Promise.resolve();
    const n = ++this.#chained;
    const next = prev
      .then(() => p)
      .then(send)
      .catch((err: unknown) => {
        process.stderr.write(`rayts: warning: ${err instanceof Error ? err.message : String(err)}\n`);
      });
    this.#chain = next.finally(() => {
      if (this.#chained === n) this.#chain = undefined;
    });
    void keptAlive(this.#chain);
  }

  /** Calls sent and not answered yet. */
  get pending(): number {
    return this.#pending;
  }

  /** Flushes what is queued and closes the connection; the node releases what this driver held. */
  close(reason = "the driver is done"): void {
    this.#peer.close(reason);
  }

  /**
   * Registers `path` as an entry script on the node (see `Node.addEntryScript`), with the job's
   * package; resolves once the node has it ready (its directory there, when unpacked), rejects with
   * the node's error (a RuntimeEnvSetupError when the package cannot be set up).
   */
  async addEntryScript(path: string, pkg?: JobPackageRef, local = false): Promise<string | undefined> {
    const m: Message = pkg === undefined ? { t: DRIVER_ENTRY, path } : { t: DRIVER_ENTRY, path, pkg, local };
    const v = await this.#ask(m);
    return typeof v === "string" ? v : undefined;
  }

  /** Has the node unpack or place something shipped to it (see {@link DRIVER_SHIP}); its path there. */
  async ship(what: ShipRequest): Promise<string> {
    const v = await this.#ask({ t: DRIVER_SHIP, ...what });
    if (typeof v !== "string") throw new Error(`The node answered ship with ${JSON.stringify(v)}`);
    return v;
  }

  async #ask(m: Message): Promise<unknown> {
    const r = await keptAlive(this.#peer.request(m, { timeoutMs: CALL_TIMEOUT_MS }));
    const reply = (r ?? {}) as CallReply;
    if (reply.e !== undefined) throw deserialize(readFrame(reply.e));
    return reply.v;
  }

  protected override cast(m: string, a: unknown[]): void {
    if (this.#chain !== undefined)
      this.#after(Promise.resolve(), () => this.#peer.send({ t: DRIVER_CAST, m, a }));
    else this.#peer.send({ t: DRIVER_CAST, m, a });
  }

  protected override call<T>(m: string, a: unknown[]): Promise<T> {
    this.#pending++;
    const chain = this.#chain;
    const request = () => this.#peer.request({ t: DRIVER_CALL, m, a }, { timeoutMs: CALL_TIMEOUT_MS });
    const p = (chain === undefined ? request() : chain.then(request)).then((r) => {
      const reply = (r ?? {}) as CallReply;
      if (reply.e !== undefined) throw deserialize(readFrame(reply.e));
      return reply.v as T;
    });
    return keptAlive(p).finally(() => this.#pending--);
  }
}
