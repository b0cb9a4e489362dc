/**
 * The {@link NodeApi} as a Worker thread sees it: calls become messages to the node, batched per turn
 * of the event loop; requests that answer (get, wait, lookups) are matched to replies by id. The
 * method table itself is `RemoteNodeApi`'s.
 */
import type { Payload } from "../runtime/protocol.ts";
import { RemoteNodeApi } from "../runtime/remote-node-api.ts";
import { deserialize, readFrame } from "../serialize/codec.ts";
import { BlockBuilder, packSmallBatch } from "./task-block.ts";

declare const self: Worker;

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

export class WorkerLink extends RemoteNodeApi {
  override readonly nodeId: string;
  override readonly shmHeaderAddress: number;
  #out: unknown[] = [];
  readonly #results = new BlockBuilder();
  #scheduled = false;
  #lastFlush = 0;
  #nextId = 1;
  readonly #pending = new Map<number, Pending>();

  constructor(nodeId: string, shmHeaderAddress: number) {
    super();
    this.nodeId = nodeId;
    this.shmHeaderAddress = shmHeaderAddress;
  }

  /** Queues a message for the node; everything queued in one turn goes out as one batch. */
  post(msg: unknown): void {
    if (this.#results.length > 0) this.#out.push({ t: "results", cols: this.#results.take() });
    this.#out.push(msg);
    // Send at once unless a batch went out just now: a synchronous task that calls an actor and
    // then computes for a while must not hold the call until it returns (the microtask flush would
    // only run then). Bursts still batch: 64 messages or one microtask at a time.
    if (this.#out.length >= 64 || performance.now() - this.#lastFlush > 0.2) this.flush();
    else this.#schedule();
  }

  /** While true, results wait for an explicit `flush()` (the executor batches quick tasks). */
  holdResults = false;

  get heldResults(): number {
    return this.#results.length;
  }

  /** Reports a task's single inline result through the columnar batch. */
  postResult(taskId: string, bytes: Uint8Array): void {
    this.#results.add(taskId, 0, bytes);
    if (!this.holdResults) this.#schedule();
  }

  #schedule(): void {
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(() => this.flush());
    }
  }

  flush(): void {
    this.#scheduled = false;
    this.#lastFlush = performance.now();
    if (this.#out.length === 0) {
      // The common lone message: the results block alone, written straight into its string form.
      const s = this.#results.takeString("results");
      if (s !== undefined) {
        self.postMessage(s);
        return;
      }
    }
    if (this.#results.length > 0) this.#out.push({ t: "results", cols: this.#results.take() });
    if (this.#out.length === 0) return;
    const batch = this.#out;
    this.#out = [];
    self.postMessage(packSmallBatch(batch) ?? batch);
  }

  onReply(id: number, ok: boolean, v: unknown, e: Payload | undefined): void {
    const p = this.#pending.get(id);
    if (p === undefined) return;
    this.#pending.delete(id);
    if (ok) p.resolve(v);
    else
      p.reject(
        e === undefined
          ? new Error("Request failed on the node")
          : deserialize(readFrame((e as { bytes: Uint8Array }).bytes)),
      );
  }

  protected override cast(m: string, a: unknown[]): void {
    this.post({ t: "cast", m, a });
  }

  protected override call<T>(m: string, a: unknown[]): Promise<T> {
    const id = this.#nextId++;
    return new Promise<T>((resolve, reject) => {
      this.#pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.post({ t: "rpc", id, m, a });
    });
  }

  /** Asks the node to free unreferenced memory everywhere (the store was full). */
  reclaim(): Promise<void> {
    return this.call("reclaim", []);
  }
}
