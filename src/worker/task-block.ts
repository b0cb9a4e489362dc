/**
 * Columnar batches for the hot path. Structured-cloning an object per task costs ~2 µs; a batch of
 * tasks as a few columns (ids concatenated in one string, one byte buffer with every argument frame,
 * an offsets array) costs ~0.15 µs per task. Used for the common case both ways: tasks without ref
 * arguments, GPUs or environment going to a worker, and single inline results coming back.
 *
 * A batch that is one small columnar message travels as a single string instead
 * ({@link packSmallBatch}, {@link BlockBuilder.takeString}): Bun clones a Latin-1 string with one
 * copy, while an object holding three typed arrays costs several microseconds to clone on each side,
 * which is most of a lone task's round trip (measured: an echo of the object form runs at less than
 * half the rate of the string form). The string is written byte by byte into one reused buffer and
 * made in one step, and read back with `charCodeAt`: every string or buffer JSC makes is a malloc,
 * and a lone round trip made about a dozen of them on each side before (numbers turned to text,
 * `split`, slices, `Buffer` views), most of the native time of the driver's thread.
 */

/** Ids are fixed-width (task ids are 20 hex chars), so one string carries them all. */
const ID_WIDTH = 20;

/** One batch on the wire: `ids` has `n * 20` chars; bytes of item i are `data[offs[i]..offs[i+1]]`. */
export interface Columns {
  readonly ids: string;
  readonly tags: Int32Array;
  readonly data: Uint8Array;
  readonly offs: Uint32Array;
  /**
   * Each item's bytes as an array of its own instead of a view of `data` (which is then empty): how
   * the string form is read back, since a view of a small typed array moves its bytes out first.
   */
  readonly parts?: readonly Uint8Array[];
}

/** Collects (id, tag, bytes) items and turns them into {@link Columns}. */
export class BlockBuilder {
  readonly #ids: string[] = [];
  readonly #tags: number[] = [];
  readonly #chunks: Uint8Array[] = [];
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
    // Over an ArrayBuffer of its own: JSC keeps a small typed array made with a length inside its
    // object, and the first `.buffer` or `subarray` on it moves the bytes out to a new buffer.
    const data = new Uint8Array(new ArrayBuffer(this.#size));
    const offs = new Uint32Array(n + 1);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const c = this.#chunks[i] as Uint8Array;
      data.set(c, at);
      at += c.byteLength;
      offs[i + 1] = at;
    }
    const cols: Columns = { ids: this.#ids.join(""), tags: Int32Array.from(this.#tags), data, offs };
    this.#ids.length = 0;
    this.#tags.length = 0;
    this.#chunks.length = 0;
    this.#size = 0;
    return cols;
  }

  /**
   * The collected items as the string form of one `kind` message (see {@link packSmallBatch}) when
   * there are 1 to 16 of them (the builder then starts over); otherwise undefined, nothing taken.
   */
  takeString(kind: "tasks" | "calls" | "results"): string | undefined {
    const n = this.#ids.length;
    if (n === 0 || n > STRING_BATCH_MAX_ITEMS) return undefined;
    const ids = this.#ids;
    const tags = this.#tags;
    const chunks = this.#chunks;
    const w = writer(n, this.#size);
    w[0] = KIND_CODE[kind] as number;
    let pos = writeUint(w, 1, n);
    let end = 0;
    for (let i = 0; i < n; i++) {
      end += (chunks[i] as Uint8Array).byteLength;
      w[pos++] = COMMA;
      pos = writeInt(w, pos, tags[i] as number);
      w[pos++] = COMMA;
      pos = writeUint(w, pos, end);
    }
    w[pos++] = SEMI;
    for (let i = 0; i < n; i++) pos = writeId(w, pos, ids[i] as string, 0);
    for (let i = 0; i < n; i++) {
      const c = chunks[i] as Uint8Array;
      w.set(c, pos);
      pos += c.byteLength;
    }
    this.#ids.length = 0;
    this.#tags.length = 0;
    this.#chunks.length = 0;
    this.#size = 0;
    return w.toString("latin1", 0, pos);
  }
}

/** Calls `each` for every item of a batch (bytes are its own part, or views into the batch buffer). */
export function forEachItem(cols: Columns, each: (id: string, tag: number, bytes: Uint8Array) => void): void {
  const n = cols.tags.length;
  const parts = cols.parts;
  for (let i = 0; i < n; i++) {
    each(
      cols.ids.slice(i * ID_WIDTH, (i + 1) * ID_WIDTH),
      cols.tags[i] as number,
      parts !== undefined
        ? (parts[i] as Uint8Array)
        : cols.data.subarray(cols.offs[i] as number, cols.offs[i + 1] as number),
    );
  }
}

/** Largest batch sent as a string; bigger ones amortise the clone and keep the typed arrays. */
const STRING_BATCH_MAX_ITEMS = 16;

/** Kinds of columnar messages, and the letter (char code) that names each in the string form. */
const KIND_CODE: Readonly<Record<string, number>> = { tasks: 0x74, calls: 0x63, results: 0x72 }; // t c r
const CODE_KIND: Readonly<Record<number, string>> = { 116: "tasks", 99: "calls", 114: "results" };
const COMMA = 0x2c;
const SEMI = 0x3b;
const MINUS = 0x2d;
const ZERO = 0x30;

/** Room for the header of `n` items (sign and 10 digits per number) before ids and data. */
function headerRoom(n: number): number {
  return 1 + 11 + n * 24;
}

/** The buffer strings are written into (one per thread, grown on demand up to SCRATCH_MAX). */
let scratch = Buffer.allocUnsafeSlow(4096);
const SCRATCH_MAX = 1 << 20;

/** A buffer to write the string form of `n` items with `size` data bytes into. */
function writer(n: number, size: number): Buffer {
  const need = headerRoom(n) + n * ID_WIDTH + size;
  if (scratch.byteLength >= need) return scratch;
  // A rare large batch gets a buffer of its own rather than keeping the thread's one that large.
  if (need > SCRATCH_MAX) return Buffer.allocUnsafeSlow(need);
  scratch = Buffer.allocUnsafeSlow(Math.min(SCRATCH_MAX, Math.max(need, scratch.byteLength * 2)));
  return scratch;
}

/** Writes `v` (a whole number ≥ 0) in decimal at `pos`; returns the position after it. */
function writeUint(w: Uint8Array, pos: number, v: number): number {
  if (v < 10) {
    w[pos] = ZERO + v;
    return pos + 1;
  }
  let digits = 1;
  for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
  let at = pos + digits;
  for (let t = v; at > pos; t = Math.floor(t / 10)) w[--at] = ZERO + (t % 10);
  return pos + digits;
}

function writeInt(w: Uint8Array, pos: number, v: number): number {
  if (v >= 0) return writeUint(w, pos, v);
  w[pos] = MINUS;
  return writeUint(w, pos + 1, -v);
}

/** Writes the id at `from` in `ids` (ids are hex: one byte per char). */
function writeId(w: Uint8Array, pos: number, ids: string, from: number): number {
  for (let k = 0; k < ID_WIDTH; k++) w[pos + k] = ids.charCodeAt(from + k);
  return pos + ID_WIDTH;
}

/**
 * The string form of a batch that is exactly one small columnar message (`{ t, cols }` with `t` one
 * of tasks, calls, results), or undefined for any other batch. Layout: the kind's letter, then
 * `n,tag0,end0,tag1,end1,…;`, then the ids (n × 20 chars), then the data bytes as Latin-1 chars.
 */
export function packSmallBatch(batch: readonly unknown[]): string | undefined {
  if (batch.length !== 1) return undefined;
  const m = batch[0] as { t?: unknown; cols?: Columns };
  const code = typeof m.t === "string" ? KIND_CODE[m.t] : undefined;
  const cols = m.cols;
  if (code === undefined || cols === undefined) return undefined;
  const n = cols.tags.length;
  if (n > STRING_BATCH_MAX_ITEMS) return undefined;
  const data = cols.data;
  const w = writer(n, data.byteLength);
  w[0] = code;
  let pos = writeUint(w, 1, n);
  for (let i = 0; i < n; i++) {
    w[pos++] = COMMA;
    pos = writeInt(w, pos, cols.tags[i] as number);
    w[pos++] = COMMA;
    pos = writeUint(w, pos, cols.offs[i + 1] as number);
  }
  w[pos++] = SEMI;
  for (let i = 0; i < n; i++) pos = writeId(w, pos, cols.ids, i * ID_WIDTH);
  w.set(data, pos);
  return w.toString("latin1", 0, pos + data.byteLength);
}

/** Where {@link readInt} and {@link expectChar} read the header being unpacked (one thread, no reentry). */
let cursor = 0;

/** Reads the decimal number (optionally negative) at `cursor` in `s`, moving `cursor` past it. */
function readInt(s: string): number {
  let p = cursor;
  const negative = s.charCodeAt(p) === MINUS;
  if (negative) p++;
  const first = p;
  let v = 0;
  for (;;) {
    const d = s.charCodeAt(p) - ZERO;
    if (!(d >= 0 && d <= 9)) break;
    v = v * 10 + d;
    p++;
  }
  if (p === first) throw new TypeError("A message batch string without its header");
  cursor = p;
  return negative ? -v : v;
}

/** Skips the separator `code` at `cursor`; a header without it is damaged. */
function expectChar(s: string, code: number): void {
  if (s.charCodeAt(cursor) !== code) throw new TypeError("A message batch string without its header");
  cursor++;
}

/** The batch a string from {@link packSmallBatch} stands for; any other value is returned as is. */
export function unpackBatch<T>(data: T[] | string): T[] {
  if (typeof data !== "string") return data;
  const t = CODE_KIND[data.charCodeAt(0)];
  if (t === undefined) throw new TypeError("A message batch string without its header");
  cursor = 1;
  const n = readInt(data);
  if (n < 0 || n > STRING_BATCH_MAX_ITEMS) throw new TypeError("A message batch string without its header");
  const tags = new Int32Array(n);
  const offs = new Uint32Array(n + 1);
  for (let i = 0; i < n; i++) {
    expectChar(data, COMMA);
    tags[i] = readInt(data);
    expectChar(data, COMMA);
    offs[i + 1] = readInt(data);
  }
  expectChar(data, SEMI);
  const idsStart = cursor;
  const idsEnd = idsStart + n * ID_WIDTH;
  const size = data.length - idsEnd;
  if (size < 0 || size !== offs[n]) {
    throw new TypeError("A message batch string whose lengths do not match its header");
  }
  const ids = data.slice(idsStart, idsEnd);
  const parts = new Array<Uint8Array>(n);
  for (let i = 0; i < n; i++) {
    const from = offs[i] as number;
    const to = offs[i + 1] as number;
    if (to < from) throw new TypeError("A message batch string whose lengths do not match its header");
    parts[i] = latin1Bytes(data, idsEnd + from, to - from);
  }
  return [{ t, cols: { ids, tags, data: NO_BYTES, offs, parts } } as T];
}

const NO_BYTES = new Uint8Array(0);

/** Strings up to this long are copied char by char: cheaper than going through a Buffer. */
const SHORT_LATIN1 = 256;

/**
 * The `size` chars of `s` from `start` on as bytes (each a Latin-1 char), in an array of their own
 * (a Buffer may be a slice of a shared pool).
 */
function latin1Bytes(s: string, start: number, size: number): Uint8Array {
  if (size <= SHORT_LATIN1) {
    const bytes = new Uint8Array(size);
    for (let i = 0; i < size; i++) bytes[i] = s.charCodeAt(start + i);
    return bytes;
  }
  const bytes = new Uint8Array(new ArrayBuffer(size));
  Buffer.from(bytes.buffer).write(s.slice(start, start + size), 0, size, "latin1");
  return bytes;
}
