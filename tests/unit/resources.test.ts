import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { RaytsError } from "../../src/errors.ts";
import { detectGpus } from "../../src/scheduler/gpu-detect.ts";
import { describeInfeasible } from "../../src/scheduler/infeasible.ts";
import { NodeResources } from "../../src/scheduler/node-resources.ts";
import { ResourceSet } from "../../src/scheduler/resource-set.ts";

const fixtures = join(import.meta.dir, "..", "fixtures");

describe("ResourceSet", () => {
  test("ten tenths of a CPU add up to exactly one CPU", () => {
    const tenth = ResourceSet.fromRecord({ CPU: 0.1 });
    let sum = ResourceSet.EMPTY;
    for (let i = 0; i < 10; i++) sum = sum.add(tenth);
    expect(sum.toRecord()).toEqual({ CPU: 1 });
    expect(sum.equals(ResourceSet.fromRecord({ CPU: 1 }))).toBe(true);
  });

  test("subtracting what was added gives back an empty set", () => {
    const a = ResourceSet.fromRecord({ CPU: 0.3, accel: 2 });
    const b = ResourceSet.fromRecord({ CPU: 0.1, accel: 2 });
    expect(a.subtract(b).toRecord()).toEqual({ CPU: 0.2 });
    expect(a.subtract(a).isEmpty()).toBe(true);
  });

  test("subtract refuses to go negative and says to check covers first", () => {
    const a = ResourceSet.fromRecord({ CPU: 1 });
    expect(() => a.subtract(ResourceSet.fromRecord({ CPU: 2 }))).toThrow(/covers/);
  });

  test("covers treats a missing resource as zero", () => {
    const have = ResourceSet.fromRecord({ CPU: 2, accel: 1 });
    expect(have.covers(ResourceSet.fromRecord({ CPU: 2 }))).toBe(true);
    expect(have.covers(ResourceSet.fromRecord({ CPU: 1, accel: 1 }))).toBe(true);
    expect(have.covers(ResourceSet.fromRecord({ GPU: 1 }))).toBe(false);
    expect(have.covers(ResourceSet.fromRecord({ CPU: 2.0001 }))).toBe(false);
    expect(ResourceSet.EMPTY.covers(ResourceSet.fromRecord({ zeroes: 0 }))).toBe(true);
  });

  test("zero amounts are dropped and amounts round to the 0.0001 granularity", () => {
    const set = ResourceSet.fromRecord({ CPU: 0.30004, GPU: 0, memory: 1024.4 });
    expect(set.toRecord()).toEqual({ CPU: 0.3, memory: 1024 });
    expect(set.size).toBe(2);
  });

  test("negative, NaN, infinite and sub-granularity amounts are rejected", () => {
    expect(() => ResourceSet.fromRecord({ CPU: -1 })).toThrow(RangeError);
    expect(() => ResourceSet.fromRecord({ CPU: Number.NaN })).toThrow(RangeError);
    expect(() => ResourceSet.fromRecord({ CPU: Number.POSITIVE_INFINITY })).toThrow(RangeError);
    expect(() => ResourceSet.fromRecord({ CPU: 0.00001 })).toThrow(/granularity/);
  });

  test("missing names the resources a set lacks", () => {
    const have = ResourceSet.fromRecord({ CPU: 1 });
    expect(have.missing(ResourceSet.fromRecord({ CPU: 2, accel: 1 }))).toEqual(["CPU", "accel"]);
  });

  test("scale multiplies every amount, fractions included", () => {
    const set = ResourceSet.fromRecord({ CPU: 0.5, GPU: 1, disk: 2 });
    expect(set.scale(3).toRecord()).toEqual({ CPU: 1.5, GPU: 3, disk: 6 });
    expect(set.scale(1)).toBe(set);
    expect(ResourceSet.EMPTY.scale(4).isEmpty()).toBe(true);
  });

  test("ResourceSet.of memoises frozen records", () => {
    const demand = Object.freeze({ CPU: 1 });
    expect(ResourceSet.of(demand)).toBe(ResourceSet.of(demand));
  });
});

describe("NodeResources", () => {
  test("tryAcquire takes resources and release gives them back", () => {
    const node = new NodeResources({ CPU: 2, accel: 1 });
    const a = node.tryAcquire({ CPU: 1, accel: 1 });
    expect(a).toBeDefined();
    expect(node.available()).toEqual({ CPU: 1 });
    expect(node.tryAcquire({ accel: 1 })).toBeUndefined();
    node.release(a!);
    expect(node.available()).toEqual({ CPU: 2, accel: 1 });
    expect(a!.state).toBe("RELEASED");
  });

  test("fractional CPU allocations fill a node exactly", () => {
    const node = new NodeResources({ CPU: 1 });
    const allocs = Array.from({ length: 10 }, () => node.tryAcquire({ CPU: 0.1 }));
    expect(allocs.every((a) => a !== undefined)).toBe(true);
    expect(node.tryAcquire({ CPU: 0.1 })).toBeUndefined();
    for (const a of allocs) node.release(a!);
    expect(node.available()).toEqual({ CPU: 1 });
  });

  test("a failed tryAcquire changes nothing", () => {
    const node = new NodeResources({ CPU: 4, GPU: 1 });
    expect(node.tryAcquire({ CPU: 1, GPU: 2 })).toBeUndefined();
    expect(node.available()).toEqual({ CPU: 4, GPU: 1 });
  });

  test("releasing twice throws and leaves the counts intact", () => {
    const node = new NodeResources({ CPU: 2 });
    const a = node.tryAcquire({ CPU: 1 })!;
    const b = node.tryAcquire({ CPU: 1 })!;
    node.release(a);
    expect(() => node.release(a)).toThrow(RaytsError);
    expect(() => node.release(a)).toThrow(/already released/);
    expect(node.available()).toEqual({ CPU: 1 });
    node.release(b);
    expect(node.available()).toEqual({ CPU: 2 });
  });

  test("an allocation cannot be released on another node", () => {
    const one = new NodeResources({ CPU: 1 });
    const two = new NodeResources({ CPU: 1 });
    const a = one.tryAcquire({ CPU: 1 })!;
    expect(() => two.release(a)).toThrow(/another node/);
    expect(two.available()).toEqual({ CPU: 1 });
  });

  test("infeasible demands name the missing resources", () => {
    const node = new NodeResources({ CPU: 2, memory: 1000 });
    expect(node.isFeasible({ CPU: 2 })).toBe(true);
    expect(node.isFeasible({ CPU: 3 })).toBe(false);
    expect(node.missingResources({ CPU: 3, GPU: 1, memory: 500, accel: 1 })).toEqual(["CPU", "GPU", "accel"]);
  });

  test("feasibility looks at totals, not at what is free now", () => {
    const node = new NodeResources({ CPU: 1 });
    const a = node.tryAcquire({ CPU: 1 })!;
    expect(node.isFeasible({ CPU: 1 })).toBe(true);
    expect(node.fits({ CPU: 1 })).toBe(false);
    node.release(a);
    expect(node.fits({ CPU: 1 })).toBe(true);
  });

  test("whole GPUs get distinct ids, lowest first", () => {
    const node = new NodeResources({ CPU: 8, GPU: 4 }, [0, 1, 2, 3]);
    const a = node.tryAcquire({ GPU: 2 })!;
    const b = node.tryAcquire({ GPU: 1 })!;
    expect(a.gpuIds).toEqual([0, 1]);
    expect(b.gpuIds).toEqual([2]);
    expect(node.tryAcquire({ GPU: 2 })).toBeUndefined();
    node.release(a);
    expect(node.tryAcquire({ GPU: 2 })!.gpuIds).toEqual([0, 1]);
  });

  test("fractional GPUs are packed onto one device", () => {
    const node = new NodeResources({ GPU: 2 });
    const a = node.tryAcquire({ GPU: 0.5 })!;
    const b = node.tryAcquire({ GPU: 0.25 })!;
    const c = node.tryAcquire({ GPU: 0.25 })!;
    expect([a.gpuIds, b.gpuIds, c.gpuIds]).toEqual([[0], [0], [0]]);
    const d = node.tryAcquire({ GPU: 0.5 })!;
    expect(d.gpuIds).toEqual([1]);
    expect(node.available()).toEqual({ GPU: 0.5 });
  });

  test("a whole GPU is not carved out of two half-free devices", () => {
    const node = new NodeResources({ GPU: 2 });
    const half = node.tryAcquire({ GPU: 0.5 })!;
    const other = node.tryAcquire({ GPU: 1 })!;
    expect(other.gpuIds).toEqual([1]);
    node.release(other);
    const quarter = node.tryAcquire({ GPU: 0.5 })!;
    expect(quarter.gpuIds).toEqual([0]);
    expect(node.tryAcquire({ GPU: 1 })!.gpuIds).toEqual([1]);
    expect(node.tryAcquire({ GPU: 0.1 })).toBeUndefined();
    node.release(half);
    expect(node.tryAcquire({ GPU: 0.1 })!.gpuIds).toEqual([0]);
  });

  test("GPU ids given by the caller are handed out as given", () => {
    const node = new NodeResources({ CPU: 1 }, [3, 7]);
    expect(node.total()).toEqual({ CPU: 1, GPU: 2 });
    expect(node.tryAcquire({ GPU: 1 })!.gpuIds).toEqual([3]);
  });

  test("a GPU total that disagrees with the ids is rejected", () => {
    expect(() => new NodeResources({ GPU: 2 }, [0])).toThrow(/GPU ids/);
    expect(() => new NodeResources({ GPU: 1.5 })).toThrow(/whole/);
  });

  test("a blocked task lends its CPU back and takes it again when it resumes", () => {
    const node = new NodeResources({ CPU: 1 });
    const outer = node.tryAcquire({ CPU: 1 })!;
    node.releaseCpuWhileBlocked(outer);
    expect(outer.state).toBe("BLOCKED");
    expect(node.available()).toEqual({ CPU: 1 });
    const nested = node.tryAcquire({ CPU: 1 })!;
    node.reacquireCpuAfterBlocked(outer);
    expect(outer.state).toBe("HELD");
    // Overdrawn: both hold a CPU of a one-CPU node until the nested task ends.
    expect(node.available()).toEqual({});
    expect(node.tryAcquire({ CPU: 0.5 })).toBeUndefined();
    node.release(nested);
    expect(node.available()).toEqual({});
    node.release(outer);
    expect(node.available()).toEqual({ CPU: 1 });
  });

  test("nested blocking lends the CPU once and takes it back at the last resume", () => {
    const node = new NodeResources({ CPU: 2 });
    const a = node.tryAcquire({ CPU: 1 })!;
    node.releaseCpuWhileBlocked(a);
    node.releaseCpuWhileBlocked(a);
    expect(node.available()).toEqual({ CPU: 2 });
    node.reacquireCpuAfterBlocked(a);
    expect(node.available()).toEqual({ CPU: 2 });
    node.reacquireCpuAfterBlocked(a);
    expect(node.available()).toEqual({ CPU: 1 });
    expect(() => node.reacquireCpuAfterBlocked(a)).toThrow(/releaseCpuWhileBlocked first/);
    expect(node.available()).toEqual({ CPU: 1 });
  });

  test("releasing a blocked allocation does not return its CPU twice", () => {
    const node = new NodeResources({ CPU: 1, GPU: 1 });
    const a = node.tryAcquire({ CPU: 1, GPU: 1 })!;
    node.releaseCpuWhileBlocked(a);
    expect(node.available()).toEqual({ CPU: 1 });
    node.release(a);
    expect(node.available()).toEqual({ CPU: 1, GPU: 1 });
  });

  test("custom resources can be added and removed on a live node", () => {
    const node = new NodeResources({ CPU: 2 });
    expect(node.tryAcquire({ CPU_group_ab12_0: 1 })).toBeUndefined();
    node.addResources({ CPU_group_ab12_0: 1, CPU_group_ab12: 1 });
    expect(node.total()).toEqual({ CPU: 2, CPU_group_ab12_0: 1, CPU_group_ab12: 1 });
    const a = node.tryAcquire({ CPU_group_ab12_0: 0.5, CPU_group_ab12: 0.5 })!;
    expect(node.available()).toEqual({ CPU: 2, CPU_group_ab12_0: 0.5, CPU_group_ab12: 0.5 });
    node.removeResources({ CPU_group_ab12_0: 1, CPU_group_ab12: 1 });
    expect(node.total()).toEqual({ CPU: 2 });
    node.release(a);
    expect(node.available()).toEqual({ CPU: 2 });
  });

  test("removing more than a node has throws and changes nothing", () => {
    const node = new NodeResources({ CPU: 2, accel: 1 });
    expect(() => node.removeResources({ accel: 1, other: 1 })).toThrow(/Cannot remove 1 other/);
    expect(node.total()).toEqual({ CPU: 2, accel: 1 });
    expect(() => node.addResources({ GPU: 1 })).toThrow(/GPU/);
  });

  test("a bundle reserved with tryAcquire becomes group resources", () => {
    const node = new NodeResources({ CPU: 4 });
    const bundle = node.tryAcquire({ CPU: 2 })!;
    node.addResources({ CPU_group_0_ff: 2 });
    const task = node.tryAcquire({ CPU_group_0_ff: 1 })!;
    expect(node.available()).toEqual({ CPU: 2, CPU_group_0_ff: 1 });
    node.release(task);
    node.removeResources({ CPU_group_0_ff: 2 });
    node.release(bundle);
    expect(node.available()).toEqual({ CPU: 4 });
    expect(node.total()).toEqual({ CPU: 4 });
  });
});

describe("detectGpus", () => {
  test("reads the GPU ids nvidia-smi prints", async () => {
    expect(await detectGpus({ path: join(fixtures, "nvidia-smi") })).toEqual([0, 1]);
  });

  test("finds no GPUs when nvidia-smi is not on the path", async () => {
    expect(await detectGpus({ path: join(fixtures, "no-such-dir") })).toEqual([]);
  });

  test("finds no GPUs when nvidia-smi fails", async () => {
    expect(await detectGpus({ path: join(fixtures, "nvidia-smi-failing") })).toEqual([]);
  });
});

describe("the infeasible warning", () => {
  const here = (total: Record<string, number>, missing: string[]) => ({
    nodeId: "aaaaaaaa11",
    total,
    missing,
  });

  test("a cluster of more than four nodes shows only the node closest to fitting", () => {
    const others: { nodeId: string; total: Record<string, number> }[] = [
      { nodeId: "bbbbbbbb22", total: { CPU: 2 } },
      { nodeId: "cccccccc33", total: { CPU: 6, accel: 1 } },
      { nodeId: "dddddddd44", total: { CPU: 16 } },
      { nodeId: "eeeeeeee55", total: { CPU: 4, accel: 1 } },
    ];
    const message = describeInfeasible({
      what: "Task f",
      demand: { CPU: 8, accel: 1 },
      here: here({ CPU: 1 }, ["CPU", "accel"]),
      others,
    });
    // Only CPU is missing on c and e (accel fits), and c has the larger share of it.
    expect(message).toBe(
      'Task f is infeasible: it needs {"CPU":8,"accel":1} but no node of the cluster\'s 5 can ever fit it (the largest: node cccccccc has {"CPU":6,"accel":1} (missing CPU)); it stays pending until a node that can fit it joins: start one with `rayts node --join HEAD_ADDRESS` and enough --num-cpus, --num-gpus or --resources, or ask for less',
    );
  });

  test("a cluster of one node and the embedded cluster describe their only node", () => {
    const work = { what: "Actor A", demand: { GPU: 1 }, here: here({ CPU: 4 }, ["GPU"]) };
    expect(describeInfeasible({ ...work, others: [] })).toStartWith(
      'Actor A is infeasible: it needs {"GPU":1} but the cluster\'s only node cannot ever fit it: node aaaaaaaa has {"CPU":4} (missing GPU); it stays pending until a node that can fit it joins',
    );
    expect(describeInfeasible({ ...work, others: undefined })).toBe(
      'Actor A is infeasible: it needs {"GPU":1} but the embedded cluster\'s only node has {"CPU":4} (missing GPU); it stays pending: ask for less, give init() more numCpus, numGpus or resources, or connect to a cluster with a node that can fit it',
    );
  });

  test("work that must stay on a node that cannot fit it names the nodes that could", () => {
    const message = describeInfeasible({
      what: "Task g",
      demand: { CPU: 2 },
      here: here({ CPU: 1 }, ["CPU"]),
      others: [
        { nodeId: "bbbbbbbb22", total: { CPU: 2 } },
        { nodeId: "cccccccc33", total: { CPU: 1 } },
      ],
      pinnedBy: "its hard node affinity names this node",
    });
    expect(message).toBe(
      'Task g is infeasible: it needs {"CPU":2} but it must run on node aaaaaaaa (its hard node affinity names this node), which has {"CPU":1} (missing CPU); it stays pending: let it run elsewhere (node bbbbbbbb can fit it), or ask for less',
    );
  });
});
