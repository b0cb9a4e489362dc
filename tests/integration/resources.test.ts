/**
 * Resource requests of tasks as a user runs them: fractional CPUs, GPUs (detected from a stub
 * `nvidia-smi`), custom resources, memory, infeasible requests, and the validation of bad options.
 * Concurrency is proven by barriers made of files, never by clocks.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { join } from "node:path";
import { expectError, runJob } from "../fixtures/tasks-job-runner.ts";

setDefaultTimeout(60_000);

const STUB_PATH = `${join(import.meta.dir, "..", "fixtures", "bin-stub")}:${process.env.PATH ?? ""}`;

/**
 * A task that checks in at a barrier of `n` files (`prefix + i`) and returns once all `n` checked in (or reports
 * that it gave up): it can only succeed if `n` copies run at the same time.
 */
const BARRIER = `
const barrier = remote(async function barrier(prefix, i, n) {
  writeFileSync(prefix + i, "");
  const deadline = Date.now() + 10_000;
  for (;;) {
    let arrived = 0;
    for (let k = 0; k < n; k++) if (existsSync(prefix + k)) arrived++;
    if (arrived === n) break;
    if (Date.now() > deadline) return { i, met: false, arrived };
    await Bun.sleep(5);
  }
  const ctx = rayts.getRuntimeContext();
  return { i, met: true, gpus: ctx.getGpuIds(), cuda: process.env.CUDA_VISIBLE_DEVICES ?? null, assigned: ctx.getAssignedResources() };
});
`;

describe("CPU requests", () => {
  test("numCpus 0.5 lets four tasks run at once on two CPUs", async () => {
    const { report } = await runJob(`
const { remote, get } = rayts;
${BARRIER}
await rayts.init({ numCpus: 2 });
const half = barrier.options({ numCpus: 0.5 });
report.results = await get([0, 1, 2, 3].map((i) => half.remote(DIR + "/cpu-", i, 4)));
done();
`);
    expect(report.results.map((r: { met: boolean }) => r.met)).toEqual([true, true, true, true]);
    for (const r of report.results) expect(r.assigned.CPU).toBe(0.5);
  });

  test("a running task holds exactly its fractional CPUs, and gives them back when it finishes", async () => {
    const { report } = await runJob(`
const { remote, get } = rayts;
const hold = remote(async function hold(dir) {
  writeFileSync(dir + "/started", "");
  await until(dir + "/go");
  return rayts.getRuntimeContext().getAssignedResources();
});
await rayts.init({ numCpus: 2 });
report.total = (await rayts.clusterResources()).CPU;
const ref = hold.options({ numCpus: 0.25 }).remote(DIR);
await until(DIR + "/started");
report.during = (await rayts.availableResources()).CPU;
writeFileSync(DIR + "/go", "");
report.assigned = await get(ref);
report.after = (await rayts.availableResources()).CPU;
done();
`);
    expect(report.total).toBe(2);
    expect(report.during).toBe(1.75);
    expect(report.assigned.CPU).toBe(0.25);
    expect(report.after).toBe(2);
  });
});

describe("GPU requests", () => {
  test("tasks see their GPU ids in getGpuIds() and CUDA_VISIBLE_DEVICES; two one-GPU tasks get different GPUs", async () => {
    const { report } = await runJob(
      `
const { remote, get } = rayts;
${BARRIER}
const noGpu = remote(() => ({ gpus: rayts.getRuntimeContext().getGpuIds(), cuda: process.env.CUDA_VISIBLE_DEVICES ?? null }));
report.cluster = await rayts.clusterResources();
report.pair = await get([0, 1].map((i) => barrier.options({ numGpus: 1 }).remote(DIR + "/pair-", i, 2)));
report.both = await get(barrier.options({ numGpus: 2 }).remote(DIR + "/both-", 0, 1));
report.none = await get(noGpu.remote());
done();
`,
      { PATH: STUB_PATH },
    );
    expect(report.cluster.GPU).toBe(2);
    expect(report.pair.map((r: { met: boolean }) => r.met)).toEqual([true, true]);
    const ids = report.pair.map((r: { gpus: number[] }) => r.gpus);
    expect(ids.flat().sort()).toEqual([0, 1]);
    for (const r of report.pair) {
      expect(r.gpus).toHaveLength(1);
      expect(r.cuda).toBe(String(r.gpus[0]));
      expect(r.assigned.GPU).toBe(1);
    }
    expect(report.both.gpus).toEqual([0, 1]);
    expect(report.both.cuda).toBe("0,1");
    expect(report.none.gpus).toEqual([]);
    expect(report.none.cuda).toBeNull();
  });

  test("a GPU task on a cluster without GPUs warns that GPU is missing and stays pending", async () => {
    const { report, stderr } = await runJob(`
const { remote, get, wait } = rayts;
const needsGpu = remote(function needsGpu() { return "ran"; });
await rayts.init({ numGpus: 0 });
const ref = needsGpu.options({ numGpus: 1 }).remote();
report.get = await settle(() => get(ref, { timeoutMs: 2000 }));
report.stillPending = (await wait([ref], { timeoutMs: 0 })).notReady.length === 1;
done();
`);
    expectError(report.get, "GetTimeoutError", "ERR_GET_TIMEOUT");
    expect(report.stillPending).toBe(true);
    const warnings = stderr.split("\n").filter((line) => line.includes("infeasible"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("needsGpu");
    expect(warnings[0]).toContain("GPU");
    // One node: the warning describes it as the embedded cluster's only node and says what to do.
    expect(warnings[0]).toMatch(
      /needs \{"CPU":1,"GPU":1\} but the embedded cluster's only node has \{.*\} \(missing GPU\)/,
    );
    expect(warnings[0]).toContain("give init() more numCpus, numGpus or resources");
  });
});

describe("custom resources and memory", () => {
  test("a custom resource given at init is held by the task that asks for it", async () => {
    const { report, stderr } = await runJob(`
const { remote, get } = rayts;
const hold = remote(async function hold(dir) {
  writeFileSync(dir + "/started", "");
  await until(dir + "/go");
  return rayts.getRuntimeContext().getAssignedResources();
});
const tooMuch = remote(function tooMuch() { return "ran"; });
await rayts.init({ resources: { accel: 1 } });
report.total = (await rayts.clusterResources()).accel;
const ref = hold.options({ resources: { accel: 1 } }).remote(DIR);
await until(DIR + "/started");
report.during = (await rayts.availableResources()).accel ?? 0;
writeFileSync(DIR + "/go", "");
report.assigned = await get(ref);
report.after = (await rayts.availableResources()).accel;
report.tooMuch = await settle(() => get(tooMuch.options({ resources: { accel: 2 } }).remote(), { timeoutMs: 2000 }));
done();
`);
    expect(report.total).toBe(1);
    expect(report.during).toBe(0);
    expect(report.assigned.accel).toBe(1);
    expect(report.after).toBe(1);
    expectError(report.tooMuch, "GetTimeoutError", "ERR_GET_TIMEOUT");
    expect(stderr).toMatch(/tooMuch is infeasible.*accel/);
  });

  test("memory is reserved while the task runs, and more memory than the node has is infeasible", async () => {
    const { report, stderr } = await runJob(`
const { remote, get } = rayts;
const assigned = remote(function assigned() { return rayts.getRuntimeContext().getAssignedResources(); });
const huge = remote(function huge() { return "ran"; });
report.total = (await rayts.clusterResources()).memory;
report.assigned = await get(assigned.options({ memory: 256 * 1024 * 1024 }).remote());
report.huge = await settle(() => get(huge.options({ memory: 1e15 }).remote(), { timeoutMs: 2000 }));
done();
`);
    expect(report.total).toBeGreaterThan(256 * 1024 * 1024);
    expect(report.assigned.memory).toBe(256 * 1024 * 1024);
    expectError(report.huge, "GetTimeoutError", "ERR_GET_TIMEOUT");
    expect(stderr).toMatch(/huge is infeasible.*memory/);
  });
});

describe("bad options", () => {
  test("options() rejects unknown names, negative or NaN amounts and reserved resource names, naming the option", async () => {
    const { report } = await runJob(`
const { remote } = rayts;
const f = remote((x) => x);
const attempt = (opts) => { try { f.options(opts); return "accepted"; } catch (e) { return { name: e.name, message: e.message }; } };
report.unknown = attempt({ numCpu: 1 });
report.negative = attempt({ numCpus: -1 });
report.nan = attempt({ numCpus: NaN });
report.negativeGpus = attempt({ numGpus: -2 });
report.negativeMemory = attempt({ memory: -1 });
report.customNegative = attempt({ resources: { accel: -1 } });
report.customNaN = attempt({ resources: { accel: NaN } });
report.reservedCpu = attempt({ resources: { CPU: 1 } });
report.fractionalGpus = attempt({ numGpus: 1.5 });
report.numReturnsZero = attempt({ numReturns: 0 });
report.wrongType = attempt({ numCpus: "2" });
report.fine = attempt({ numCpus: 0.5, numGpus: 0, memory: 1024, resources: { accel: 0.25 } });
done();
`);
    expect(report.unknown.name).toBe("TypeError");
    expect(report.unknown.message).toContain('"numCpu"');
    expect(report.unknown.message).toContain('did you mean "numCpus"');
    for (const key of ["negative", "nan", "negativeGpus", "negativeMemory", "customNegative", "customNaN"]) {
      expect([key, report[key].name]).toEqual([key, "RangeError"]);
    }
    expect(report.negative.message).toContain('"numCpus"');
    expect(report.negative.message).toContain("-1");
    expect(report.nan.message).toContain("NaN");
    expect(report.negativeGpus.message).toContain('"numGpus"');
    expect(report.negativeMemory.message).toContain('"memory"');
    expect(report.customNegative.message).toContain("accel");
    expect(report.customNaN.message).toContain("accel");
    expect(report.reservedCpu.name).toBe("TypeError");
    expect(report.reservedCpu.message).toContain("numCpus");
    expect(report.fractionalGpus.name).toBe("RangeError");
    expect(report.numReturnsZero.message).toContain('"numReturns"');
    expect(report.wrongType.name).toBe("TypeError");
    expect(report.fine).toBe("accepted");
  });

  test("init() rejects unknown option names and bad resource amounts", async () => {
    const { report } = await runJob(`
const attempt = async (opts) => { try { await rayts.init(opts); await rayts.shutdown(); return "accepted"; } catch (e) { return { name: e.name, message: e.message }; } };
report.unknown = await attempt({ numCpu: 2 });
report.negative = await attempt({ numCpus: -1 });
report.customNaN = await attempt({ resources: { accel: NaN } });
done();
`);
    expect(report.unknown.name).toBe("TypeError");
    expect(report.unknown.message).toContain('"numCpu"');
    expect(report.unknown.message).toContain("numCpus");
    expect(report.negative.name).toBe("RangeError");
    expect(report.negative.message).toContain("numCpus");
    expect(report.customNaN.name).toBe("RangeError");
    expect(report.customNaN.message).toContain("accel");
  });
});
