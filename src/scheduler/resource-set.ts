/**
 * Exact resource arithmetic. Amounts are kept as whole numbers of units so that ten tasks of 0.1 CPU
 * add up to exactly one CPU: 1 unit is 0.0001 of a resource (Ray's granularity), except for byte
 * counts (`memory`, `object_store_memory`), whose unit is one byte so that a terabyte still fits in the
 * 2^53 range where doubles count exactly.
 *
 * Resource names are interned once into small integers shared by the whole process, so a demand
 * compiled once can be checked against any node by walking a couple of array slots.
 */

/** Units per 1.0 of a resource: amounts are rounded to this granularity. */
export const UNITS_PER_RESOURCE = 10_000;

const BYTE_RESOURCES = new Set(["memory", "object_store_memory"]);

const indexByName = new Map<string, number>();
const names: string[] = [];
const scales: number[] = [];

/**
 * The process-wide index of a resource name, interning it on first use. Indices are never reused:
 * the table grows with every distinct name seen (placement groups add a few per bundle), which is
 * bounded in practice and keeps every precompiled demand valid forever.
 */
export function resourceIndex(name: string): number {
  let i = indexByName.get(name);
  if (i === undefined) {
    i = names.length;
    indexByName.set(name, i);
    names.push(name);
    scales.push(BYTE_RESOURCES.has(name) ? 1 : UNITS_PER_RESOURCE);
  }
  return i;
}

/** Interned index of `CPU`: always 0, so hot loops can test for it without a look-up. */
export const CPU_INDEX: number = resourceIndex("CPU");
/** Interned index of `GPU`: always 1. */
export const GPU_INDEX: number = resourceIndex("GPU");
resourceIndex("memory");
resourceIndex("object_store_memory");

/** The name interned at `index` by {@link resourceIndex}. */
export function resourceName(index: number): string {
  const name = names[index];
  if (name === undefined) throw new RangeError(`Unknown resource index ${index}: intern names first`);
  return name;
}

/** How many resource names are interned so far (dense per-node tables size themselves by it). */
export function internedResourceCount(): number {
  return names.length;
}

/** Units per 1.0 of the resource at `index` (1 for byte counts, else {@link UNITS_PER_RESOURCE}). */
export function unitScale(index: number): number {
  return scales[index] ?? UNITS_PER_RESOURCE;
}

/**
 * Converts an amount to whole units, rejecting what cannot be an amount of a resource: negative,
 * NaN, infinite, too large to count exactly, or nonzero yet below the granularity.
 */
export function toUnits(name: string, amount: number): number {
  const scale = unitScale(resourceIndex(name));
  if (!Number.isFinite(amount) || amount < 0) {
    throw new RangeError(`Resource "${name}" must be a finite amount ≥ 0: got ${amount}`);
  }
  const units = Math.round(amount * scale);
  if (units === 0 && amount > 0) {
    throw new RangeError(`Resource "${name}" is below the granularity of ${1 / scale}: got ${amount}`);
  }
  if (units > Number.MAX_SAFE_INTEGER) {
    throw new RangeError(`Resource "${name}" is too large to count exactly: got ${amount}`);
  }
  return units;
}

const cache = new WeakMap<object, ResourceSet>();

/**
 * An immutable bag of resource amounts, e.g. `{ CPU: 1.5, GPU: 0.25, accel: 2 }`. Zero amounts are
 * dropped, so a missing name and a zero amount are the same thing. Every operation returns a new set.
 *
 * `indices` and `units` expose the sorted sparse vector (interned index → whole units) for hot loops
 * such as `NodeResources.tryAcquire`; both arrays are frozen.
 *
 * @example
 * const demand = ResourceSet.fromRecord({ CPU: 0.1 });
 * let used = ResourceSet.EMPTY;
 * for (let i = 0; i < 10; i++) used = used.add(demand);
 * used.toRecord(); // { CPU: 1 }
 */
export class ResourceSet {
  /** Interned resource indices, ascending. */
  readonly indices: readonly number[];
  /** Whole units per entry of `indices`, all > 0. */
  readonly units: readonly number[];

  /** The set with nothing in it. */
  static readonly EMPTY: ResourceSet = new ResourceSet([], []);

  private constructor(indices: number[], units: number[]) {
    this.indices = Object.freeze(indices);
    this.units = Object.freeze(units);
    Object.freeze(this);
  }

  /** Builds a set from `{ name: amount }`, rounding each amount to the granularity. */
  static fromRecord(record: Readonly<Record<string, number>>): ResourceSet {
    const entries: [number, number][] = [];
    for (const name of Object.keys(record)) {
      const units = toUnits(name, record[name] as number);
      if (units > 0) entries.push([resourceIndex(name), units]);
    }
    entries.sort((a, b) => a[0] - b[0]);
    return new ResourceSet(
      entries.map((e) => e[0]),
      entries.map((e) => e[1]),
    );
  }

  /**
   * Like {@link ResourceSet.fromRecord}, but remembers the result for frozen records (compiled
   * options hand out frozen `demand` records), so repeated look-ups of the same demand are free.
   */
  static of(record: Readonly<Record<string, number>>): ResourceSet {
    const hit = cache.get(record);
    if (hit !== undefined) return hit;
    const set = ResourceSet.fromRecord(record);
    if (Object.isFrozen(record)) cache.set(record, set);
    return set;
  }

  /** This set `times` over (`times` a whole number > 0). */
  scale(times: number): ResourceSet {
    if (times === 1 || this.units.length === 0) return this;
    return new ResourceSet(
      [...this.indices],
      this.units.map((u) => u * times),
    );
  }

  /** Builds a set straight from whole units; `indices` ascending, every unit count > 0. */
  static fromUnits(indices: readonly number[], units: readonly number[]): ResourceSet {
    if (indices.length !== units.length) throw new RangeError("Indices and units must have one entry each");
    for (let k = 0; k < indices.length; k++) {
      const u = units[k] as number;
      if (
        !(Number.isSafeInteger(u) && u > 0) ||
        (k > 0 && (indices[k] as number) <= (indices[k - 1] as number))
      ) {
        throw new RangeError(
          `Invalid unit vector at entry ${k}: indices must ascend and units be whole and > 0`,
        );
      }
    }
    return new ResourceSet([...indices], [...units]);
  }

  /** Number of resources with a nonzero amount. */
  get size(): number {
    return this.indices.length;
  }

  /** True when every amount is zero. */
  isEmpty(): boolean {
    return this.indices.length === 0;
  }

  /** The amount of `name` (0 when absent). */
  get(name: string): number {
    const i = resourceIndex(name);
    return this.unitsAt(i) / unitScale(i);
  }

  /** Whole units held for the interned index `index` (0 when absent). */
  unitsAt(index: number): number {
    const k = this.#find(index);
    return k < 0 ? 0 : (this.units[k] as number);
  }

  /** Resource names with a nonzero amount, in interning order. */
  names(): string[] {
    return this.indices.map(resourceName);
  }

  /** Back to `{ name: amount }` numbers. */
  toRecord(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let k = 0; k < this.indices.length; k++) {
      const i = this.indices[k] as number;
      out[resourceName(i)] = (this.units[k] as number) / unitScale(i);
    }
    return out;
  }

  /** The sum of both sets. */
  add(other: ResourceSet): ResourceSet {
    return this.#merge(other, 1);
  }

  /**
   * This set minus `other`. Throws a `RangeError` when `other` is not covered, since a set never holds
   * a negative amount: check {@link ResourceSet.covers} first.
   */
  subtract(other: ResourceSet): ResourceSet {
    if (!this.covers(other)) {
      throw new RangeError(
        `Cannot subtract ${other} from ${this}: the result would be negative; check covers() first`,
      );
    }
    return this.#merge(other, -1);
  }

  /** True when this set holds at least the amount of every resource in `demand`. */
  covers(demand: ResourceSet): boolean {
    const di = demand.indices;
    const du = demand.units;
    const ti = this.indices;
    const tu = this.units;
    let t = 0;
    for (let k = 0; k < di.length; k++) {
      const want = di[k] as number;
      while (t < ti.length && (ti[t] as number) < want) t++;
      if (t === ti.length || ti[t] !== want || (tu[t] as number) < (du[k] as number)) return false;
    }
    return true;
  }

  /** Names of the resources in `demand` that this set does not hold enough of. */
  missing(demand: ResourceSet): string[] {
    const out: string[] = [];
    for (let k = 0; k < demand.indices.length; k++) {
      const i = demand.indices[k] as number;
      if (this.unitsAt(i) < (demand.units[k] as number)) out.push(resourceName(i));
    }
    return out;
  }

  /** True when both sets hold the same amounts. */
  equals(other: ResourceSet): boolean {
    if (other.indices.length !== this.indices.length) return false;
    for (let k = 0; k < this.indices.length; k++) {
      if (other.indices[k] !== this.indices[k] || other.units[k] !== this.units[k]) return false;
    }
    return true;
  }

  /** `{CPU: 1, accel: 0.5}`, for messages. */
  toString(): string {
    const parts = Object.entries(this.toRecord()).map(([n, v]) => `${n}: ${v}`);
    return `{${parts.join(", ")}}`;
  }

  #find(index: number): number {
    const ix = this.indices;
    for (let k = 0; k < ix.length; k++) {
      const i = ix[k] as number;
      if (i === index) return k;
      if (i > index) return -1;
    }
    return -1;
  }

  #merge(other: ResourceSet, sign: 1 | -1): ResourceSet {
    const indices: number[] = [];
    const units: number[] = [];
    const ai = this.indices;
    const au = this.units;
    const bi = other.indices;
    const bu = other.units;
    let a = 0;
    let b = 0;
    while (a < ai.length || b < bi.length) {
      const x = a < ai.length ? (ai[a] as number) : Number.POSITIVE_INFINITY;
      const y = b < bi.length ? (bi[b] as number) : Number.POSITIVE_INFINITY;
      let index: number;
      let sum: number;
      if (x === y) {
        index = x;
        sum = (au[a++] as number) + sign * (bu[b++] as number);
      } else if (x < y) {
        index = x;
        sum = au[a++] as number;
      } else {
        index = y;
        sum = sign * (bu[b++] as number);
      }
      if (sum !== 0) {
        indices.push(index);
        units.push(sum);
      }
    }
    return new ResourceSet(indices, units);
  }
}
