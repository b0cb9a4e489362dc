/**
 * Columnar batches for the hot path. Structured-cloning an object per task costs ~2 µs; a batch of
 * tasks as a few columns (ids concatenated in one string, one byte buffer with every argument frame,
 * an offsets array) costs ~0.15 µs per task. Used for the common case both ways: tasks without ref
 * arguments, GPUs or environment going to a worker, and single inline results coming back.
 *
 * A batch that is one small columnar message travels as a single string instead
 * ({@link packSmallBatch}): Bun clones a Latin-1 string with one copy, while an object holding three
 * typed arrays costs several microseconds to clone on each side, which is most of a lone task's round
 * trip (measured: an echo of the object form runs at less than half the rate of the string form).
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

/** Largest batch sent as a string; bigger ones amortise the clone and keep the typed arrays. */
const STRING_BATCH_MAX_ITEMS = 16;

/** Kinds of columnar messages, and the letter that names each in the string form. */
const KIND_LETTER: Readonly<Record<string, string>> = { tasks: "t", calls: "c", results: "r" };
const LETTER_KIND: Readonly<Record<string, string>> = { t: "tasks", c: "calls", r: "results" };

/**
 * The string form of a batch that is exactly one small columnar message (`{ t, cols }` with `t` one
 * of tasks, calls, results), or undefined for any other batch. Layout: the kind's letter, then
 * `n,tag0,end0,tag1,end1,…;`, then the ids (n × 20 chars), then the data bytes as Latin-1 chars.
 */
export function packSmallBatch(batch: readonly unknown[]): string | undefined {
  if (batch.length !== 1) return undefined;
  const m = batch[0] as { t?: unknown; cols?: Columns };
  const letter = typeof m.t === "string" ? KIND_LETTER[m.t] : undefined;
  const cols = m.cols;
  if (letter === undefined || cols === undefined) return undefined;
  const n = cols.tags.length;
  if (n > STRING_BATCH_MAX_ITEMS) return undefined;
  let head = `${letter}${n}`;
  for (let i = 0; i < n; i++) head += `,${cols.tags[i]},${cols.offs[i + 1]}`;
  const data = cols.data;
  return `${head};${cols.ids}${Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString("latin1")}`;
}

/** The batch a string from {@link packSmallBatch} stands for; any other value is returned as is. */
export function unpackBatch<T>(data: T[] | string): T[] {
  if (typeof data !== "string") return data;
  const t = LETTER_KIND[data[0] as string];
  const semi = data.indexOf(";");
  if (t === undefined || semi < 0) throw new TypeError("A message batch string without its header");
  const head = data.slice(1, semi).split(",");
  const n = Number(head[0]);
  const tags = new Int32Array(n);
  const offs = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) {
    tags[i] = Number(head[1 + 2 * i]);
    offs[i + 1] = Number(head[2 + 2 * i]);
  }
  const idsEnd = semi + 1 + n * ID_WIDTH;
  const ids = data.slice(semi + 1, idsEnd);
  // A copy of its own, at offset 0 (Buffer.from may hand out a slice of a shared pool).
  const bytes = new Uint8Array(Buffer.from(data.slice(idsEnd), "latin1"));
  if (bytes.byteLength !== offs[n] || ids.length !== n * ID_WIDTH) {
    throw new TypeError("A message batch string whose lengths do not match its header");
  }
  return [{ t, cols: { ids, tags, data: bytes, offs } } as T];
}
