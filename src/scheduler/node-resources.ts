import { RaytsError } from "../errors.ts";
import {
  CPU_INDEX,
  GPU_INDEX,
  internedResourceCount,
  ResourceSet,
  resourceIndex,
  resourceName,
  UNITS_PER_RESOURCE,
  unitScale,
} from "./resource-set.ts";

/** Where an {@link Allocation} is in its life: holding everything, lending its CPU while blocked, or done. */
export type AllocationState = "HELD" | "BLOCKED" | "RELEASED";

/** A demand as the scheduler holds it: a compiled set, or a (preferably frozen) `{ name: amount }` record. */
export type Demand = ResourceSet | Readonly<Record<string, number>>;

const NO_IDS: readonly number[] = Object.freeze([]);

let setState: (a: Allocation, s: AllocationState) => void;
let blockDepth: (a: Allocation, delta: number) => number;
let gpuSlots: (a: Allocation) => readonly number[];
let ownerOf: (a: Allocation) => NodeResources;

/**
 * What one task or actor holds on a node: the amounts taken and the GPU ids it was given (distinct ids
 * for whole GPUs; one shared id for a fraction). Hand it back with `NodeResources.release` exactly once.
 */
export class Allocation {
  /** The amounts taken. */
  readonly resources: ResourceSet;
  /** GPU ids assigned, ascending; export them as `CUDA_VISIBLE_DEVICES`. */
  readonly gpuIds: readonly number[];
  #owner: NodeResources;
  #slots: readonly number[];
  #state: AllocationState = "HELD";
  #blocked = 0;

  static {
    setState = (a, s) => {
      a.#state = s;
    };
    blockDepth = (a, delta) => {
      a.#blocked += delta;
      return a.#blocked;
    };
    gpuSlots = (a) => a.#slots;
    ownerOf = (a) => a.#owner;
  }

  /** Made only by `NodeResources.tryAcquire`. */
  constructor(
    owner: NodeResources,
    resources: ResourceSet,
    gpuIds: readonly number[],
    slots: readonly number[],
  ) {
    this.#owner = owner;
    this.resources = resources;
    this.gpuIds = gpuIds;
    this.#slots = slots;
  }

  /** `HELD`, `BLOCKED` (CPU lent back while the task waits) or `RELEASED`. */
  get state(): AllocationState {
    return this.#state;
  }
}

function asSet(demand: Demand): ResourceSet {
  return demand instanceof ResourceSet ? demand : ResourceSet.of(demand);
}

/**
 * One node's resources: the totals and what is free right now, with GPU ids tracked per device. It is
 * pure bookkeeping (no I/O, no timers), mutated only through its methods, so the local scheduler can
 * call `tryAcquire` on its hot path: a `{ CPU: 1 }` demand costs one array compare and one subtract.
 *
 * GPUs are unit-instance resources as in Ray: a whole-GPU demand takes that many fully free devices
 * (lowest ids first); a fractional demand (below 1) is packed onto the busiest device that still has
 * room, so fractions share a device instead of fragmenting all of them. Demands above 1 GPU must be
 * whole (option validation guarantees it).
 *
 * Placement groups plug in by taking a bundle with `tryAcquire` and then publishing
 * `CPU_group_<pg>_<i>`-style resources with `addResources` (and `removeResources` + `release` when the
 * group goes away).
 *
 * @example
 * const node = new NodeResources({ CPU: 4, memory: 8 * 2 ** 30 }, [0, 1]);
 * const alloc = node.tryAcquire({ CPU: 1, GPU: 0.5 }); // alloc.gpuIds = [0]
 * node.release(alloc!);
 */
export class NodeResources {
  #total: Float64Array;
  #avail: Float64Array;
  readonly #gpuIds: readonly number[];
  /** Free units per GPU device, parallel to `#gpuIds`. */
  readonly #gpuFree: number[];
  /** Per device, its frozen one-slot list and one-id list: single-GPU grants allocate nothing. */
  readonly #oneSlot: readonly (readonly number[])[];
  readonly #oneId: readonly (readonly number[])[];

  constructor(total: Readonly<Record<string, number>>, gpuIds?: readonly number[]) {
    const set = ResourceSet.fromRecord(total);
    const gpus = set.get("GPU");
    if (!Number.isInteger(gpus)) {
      throw new RangeError(`A node's GPU total must be a whole number: got ${gpus}`);
    }
    const ids = gpuIds ?? Array.from({ length: gpus }, (_, i) => i);
    if (total.GPU !== undefined && ids.length !== gpus) {
      throw new RangeError(
        `GPU total ${gpus} does not match the ${ids.length} GPU ids given: pass one id per GPU`,
      );
    }
    if (new Set(ids).size !== ids.length || ids.some((id) => !Number.isInteger(id) || id < 0)) {
      throw new RangeError(`GPU ids must be distinct integers ≥ 0: got [${ids.join(", ")}]`);
    }
    this.#gpuIds = Object.freeze([...ids].sort((a, b) => a - b));
    this.#gpuFree = ids.map(() => UNITS_PER_RESOURCE);
    this.#oneSlot = this.#gpuIds.map((_, s) => Object.freeze([s]));
    this.#oneId = this.#gpuIds.map((id) => Object.freeze([id]));
    this.#total = new Float64Array(Math.max(internedResourceCount(), 8));
    this.#avail = new Float64Array(this.#total.length);
    for (let k = 0; k < set.indices.length; k++) {
      const i = set.indices[k] as number;
      this.#total[i] = set.units[k] as number;
      this.#avail[i] = set.units[k] as number;
    }
    this.#total[GPU_INDEX] = ids.length * UNITS_PER_RESOURCE;
    this.#avail[GPU_INDEX] = ids.length * UNITS_PER_RESOURCE;
  }

  /** The node's GPU ids, ascending. */
  get gpuIds(): readonly number[] {
    return this.#gpuIds;
  }

  /**
   * Takes `demand` if it fits in what is free now, else returns `undefined` and changes nothing.
   * Throws a `RangeError` for a GPU demand above 1 that is not whole.
   */
  tryAcquire(demand: Demand): Allocation | undefined {
    const set = asSet(demand);
    const ix = set.indices;
    const un = set.units;
    const avail = this.#avail;
    for (let k = 0; k < ix.length; k++) {
      // `!(a >= b)` also fails for indices interned after this node grew its table (undefined).
      if (!((avail[ix[k] as number] as number) >= (un[k] as number))) return undefined;
    }
    let ids = NO_IDS;
    let slots: readonly number[] = NO_IDS;
    if (ix[0] === GPU_INDEX || ix[1] === GPU_INDEX) {
      const gpu = set.unitsAt(GPU_INDEX);
      slots = this.#pickGpus(gpu) ?? NO_IDS;
      if (slots.length === 0) return undefined;
      const share = Math.min(gpu, UNITS_PER_RESOURCE);
      for (const s of slots) this.#gpuFree[s] = (this.#gpuFree[s] as number) - share;
      ids =
        slots.length === 1
          ? (this.#oneId[slots[0] as number] as readonly number[])
          : Object.freeze(slots.map((s) => this.#gpuIds[s] as number));
    }
    for (let k = 0; k < ix.length; k++)
      avail[ix[k] as number] = (avail[ix[k] as number] as number) - (un[k] as number);
    return new Allocation(this, set, ids, slots);
  }

  /** True when `demand` would be granted by `tryAcquire` right now (GPU fragmentation included). */
  fits(demand: Demand): boolean {
    const set = asSet(demand);
    for (let k = 0; k < set.indices.length; k++) {
      if (!((this.#avail[set.indices[k] as number] as number) >= (set.units[k] as number))) return false;
    }
    const gpu = set.unitsAt(GPU_INDEX);
    return gpu === 0 || this.#pickGpus(gpu) !== undefined;
  }

  /**
   * Gives back everything `alloc` holds (its CPU only if it is not lent out while blocked). Releasing
   * the same allocation twice throws a `RaytsError` and leaves the counts untouched.
   */
  release(alloc: Allocation): void {
    this.#check(alloc, "release");
    if (alloc.state === "RELEASED") {
      throw new RaytsError(
        `Allocation ${alloc.resources} was already released: release each allocation once`,
      );
    }
    const set = alloc.resources;
    const lent = alloc.state === "BLOCKED";
    for (let k = 0; k < set.indices.length; k++) {
      const i = set.indices[k] as number;
      if (lent && i === CPU_INDEX) continue;
      this.#grow(i);
      this.#avail[i] = (this.#avail[i] as number) + (set.units[k] as number);
    }
    const slots = gpuSlots(alloc);
    if (slots.length > 0) {
      const share = Math.min(set.unitsAt(GPU_INDEX), UNITS_PER_RESOURCE);
      for (const s of slots) this.#gpuFree[s] = (this.#gpuFree[s] as number) + share;
    }
    setState(alloc, "RELEASED");
  }

  /**
   * Lends the allocation's CPU back to the node while its task is blocked in `get`/`wait`, so nested
   * tasks can run instead of deadlocking the node. Calls nest (an async task may wait in several
   * places at once): the CPU goes back on the first call and stays lent until the matching last
   * {@link NodeResources.reacquireCpuAfterBlocked}.
   */
  releaseCpuWhileBlocked(alloc: Allocation): void {
    this.#check(alloc, "lend the CPU of");
    if (alloc.state === "RELEASED") {
      throw new RaytsError("Cannot lend the CPU of a released allocation: its task has already finished");
    }
    if (blockDepth(alloc, 1) === 1) {
      setState(alloc, "BLOCKED");
      this.#avail[CPU_INDEX] = (this.#avail[CPU_INDEX] as number) + alloc.resources.unitsAt(CPU_INDEX);
    }
  }

  /**
   * Takes the CPU back when the blocked task resumes. Like Ray, this never waits: if nested work used
   * the CPU meanwhile, the node is overdrawn (available CPU below zero) until enough is released, and
   * `tryAcquire` grants no CPU until then. Throws a `RaytsError` without a matching lend.
   */
  reacquireCpuAfterBlocked(alloc: Allocation): void {
    this.#check(alloc, "take back the CPU of");
    if (alloc.state !== "BLOCKED") {
      throw new RaytsError(
        `Cannot take back the CPU of an allocation that is ${alloc.state}: call releaseCpuWhileBlocked first`,
      );
    }
    if (blockDepth(alloc, -1) === 0) {
      setState(alloc, "HELD");
      this.#avail[CPU_INDEX] = (this.#avail[CPU_INDEX] as number) - alloc.resources.unitsAt(CPU_INDEX);
    }
  }

  /** True when `demand` fits the node's totals at all, i.e. it could run here once the node is idle. */
  isFeasible(demand: Demand): boolean {
    // Checked on every task submission: the same test as `missingResources`, without its list.
    const set = asSet(demand);
    for (let k = 0; k < set.indices.length; k++) {
      if (!((this.#total[set.indices[k] as number] ?? 0) >= (set.units[k] as number))) return false;
    }
    return true;
  }

  /** Names of the resources whose totals are smaller than `demand` asks (empty when feasible). */
  missingResources(demand: Demand): string[] {
    const set = asSet(demand);
    const out: string[] = [];
    for (let k = 0; k < set.indices.length; k++) {
      const i = set.indices[k] as number;
      if (!((this.#total[i] ?? 0) >= (set.units[k] as number))) out.push(resourceName(i));
    }
    return out;
  }

  /** Free amounts now; resources with nothing free (or overdrawn) are left out, like Ray. */
  available(): Record<string, number> {
    return this.#record(this.#avail);
  }

  /** The node's totals. */
  total(): Record<string, number> {
    return this.#record(this.#total);
  }

  /**
   * Free amounts of just `names` now (0 for none or overdrawn): cheap however many resources the
   * node has seen, for callers that ask often (placement groups).
   */
  availableOf(names: readonly string[]): Record<string, number> {
    return this.#some(this.#avail, names);
  }

  /** The totals of just `names` (0 for unknown ones). */
  totalOf(names: readonly string[]): Record<string, number> {
    return this.#some(this.#total, names);
  }

  #some(table: Float64Array, names: readonly string[]): Record<string, number> {
    const out: Record<string, number> = {};
    for (const name of names) {
      const i = resourceIndex(name);
      const u = i < table.length ? (table[i] as number) : 0;
      out[name] = u > 0 ? u / unitScale(i) : 0;
    }
    return out;
  }

  /** Free amounts now as a set (overdrawn resources count as zero). */
  availableSet(): ResourceSet {
    return ResourceSet.fromRecord(this.available());
  }

  /** Adds to the totals (and to what is free), creating custom resources such as placement-group ones. */
  addResources(resources: Readonly<Record<string, number>>): void {
    const set = this.#dynamic(resources, "add");
    for (let k = 0; k < set.indices.length; k++) {
      const i = set.indices[k] as number;
      this.#grow(i);
      this.#total[i] = (this.#total[i] as number) + (set.units[k] as number);
      this.#avail[i] = (this.#avail[i] as number) + (set.units[k] as number);
    }
  }

  /**
   * Removes from the totals and from what is free. Amounts still held by allocations stay accounted:
   * availability may dip below zero until they are released. A resource whose total reaches zero
   * disappears. Removing more than the total throws a `RangeError` and changes nothing.
   */
  removeResources(resources: Readonly<Record<string, number>>): void {
    const set = this.#dynamic(resources, "remove");
    for (let k = 0; k < set.indices.length; k++) {
      const i = set.indices[k] as number;
      if (!((this.#total[i] ?? 0) >= (set.units[k] as number))) {
        const have = (this.#total[i] ?? 0) / unitScale(i);
        throw new RangeError(
          `Cannot remove ${set.get(resourceName(i))} ${resourceName(i)}: the node has ${have}`,
        );
      }
    }
    for (let k = 0; k < set.indices.length; k++) {
      const i = set.indices[k] as number;
      this.#total[i] = (this.#total[i] as number) - (set.units[k] as number);
      this.#avail[i] = (this.#avail[i] as number) - (set.units[k] as number);
    }
  }

  #dynamic(resources: Readonly<Record<string, number>>, verb: string): ResourceSet {
    if (resources.GPU !== undefined) {
      throw new RangeError(`Cannot ${verb} GPUs on a live node: GPU devices are fixed when the node starts`);
    }
    return ResourceSet.fromRecord(resources);
  }

  /** Picks device slots for `units` of GPU, or undefined when they are not free right now. */
  #pickGpus(units: number): readonly number[] | undefined {
    const free = this.#gpuFree;
    if (units >= UNITS_PER_RESOURCE) {
      if (units % UNITS_PER_RESOURCE !== 0) {
        throw new RangeError(`GPU demands above 1 must be whole: got ${units / UNITS_PER_RESOURCE}`);
      }
      const want = units / UNITS_PER_RESOURCE;
      if (want === 1) {
        const s = free.indexOf(UNITS_PER_RESOURCE);
        return s < 0 ? undefined : this.#oneSlot[s];
      }
      const slots: number[] = [];
      for (let s = 0; s < free.length && slots.length < want; s++)
        if (free[s] === UNITS_PER_RESOURCE) slots.push(s);
      return slots.length === want ? slots : undefined;
    }
    let best = -1;
    for (let s = 0; s < free.length; s++) {
      const f = free[s] as number;
      if (f >= units && (best < 0 || f < (free[best] as number))) best = s;
    }
    return best < 0 ? undefined : this.#oneSlot[best];
  }

  #record(table: Float64Array): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < table.length; i++) {
      const u = table[i] as number;
      if (u > 0) out[resourceName(i)] = u / unitScale(i);
    }
    return out;
  }

  #grow(index: number): void {
    if (index < this.#total.length) return;
    const size = Math.max(index + 1, this.#total.length * 2);
    const total = new Float64Array(size);
    const avail = new Float64Array(size);
    total.set(this.#total);
    avail.set(this.#avail);
    this.#total = total;
    this.#avail = avail;
  }

  #check(alloc: Allocation, verb: string): void {
    if (ownerOf(alloc) !== this) {
      throw new RaytsError(
        `Cannot ${verb} an allocation made by another node: release it where it was acquired`,
      );
    }
  }
}
