/**
 * Columnar batches for the hot path. Structured-cloning an object per task costs ~2 µs; a batch of
 * tasks as a few columns (ids concatenated in one string, one byte buffer with every argument frame,
 * an offsets array) costs ~0.15 µs per task. Used for the common case both ways: tasks without ref
 * arguments, GPUs or environment going to a worker, and single inline results coming back.
 */

/** Ids are fixed-width (task ids are 20 hex chars), so one string carries them all. */
const ID_WIDTH = 20;

/** One batch on the wire: `ids` has `n * 20` chars; bytes of item i are `data[offs[i]..offs[i+1]]`. */
export interface Columns {
  readonly ids: string;
  readonly tags: Int32Array;
  readonly data: Uint8Array;
  readonly offs: Uint32Array;
}

/** Collects (id, tag, bytes) items and turns them into {@link Columns}. */
export class BlockBuilder {
  #ids: string[] = [];
  #tags: number[] = [];
  #chunks: Uint8Array[] = [];
  #size = 0;

  get length(): number {
    return this.#ids.length;
  }

  add(id: string, tag: number, bytes: Uint8Array): void {
    this.#ids.push(id);
    this.#tags.push(tag);
    this.#chunks.push(bytes);
    this.#size += bytes.byteLength;
  }

  /** The collected items as columns; the builder starts over. */
  take(): Columns {
    const n = this.#ids.length;
    const data = new Uint8Array(this.#size);
    const offs = new Uint32Array(n + 1);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const c = this.#chunks[i] as Uint8Array;
      data.set(c, at);
      at += c.byteLength;
      offs[i + 1] = at;
    }
    const cols: Columns = { ids: this.#ids.join(""), tags: Int32Array.from(this.#tags), data, offs };
    this.#ids = [];
    this.#tags = [];
    this.#chunks = [];
    this.#size = 0;
    return cols;
  }
}

/** Calls `each` for every item of a batch (bytes are views into the batch buffer). */
export function forEachItem(cols: Columns, each: (id: string, tag: number, bytes: Uint8Array) => void): void {
  const n = cols.tags.length;
  for (let i = 0; i < n; i++) {
    each(
      cols.ids.slice(i * ID_WIDTH, (i + 1) * ID_WIDTH),
      cols.tags[i] as number,
      cols.data.subarray(cols.offs[i] as number, cols.offs[i + 1] as number),
    );
  }
}
