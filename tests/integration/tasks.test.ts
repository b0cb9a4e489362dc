/**
 * Tasks as a user runs them: each test writes a small script, runs it through the real binary and
 * checks the JSON report the script prints. Concurrency and streaming are proven with files the
 * tasks and the driver leave for each other (ordering evidence), never with clocks.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { expectError, runJob } from "../fixtures/tasks-job-runner.ts";

// Each test runs the real binary, some several times over; a broken runtime fails by its own bounds.
setDefaultTimeout(60_000);

describe("remote functions", () => {
  test("sync and async functions run as tasks; top-level refs are resolved and nested refs stay refs", async () => {
    const { report } = await runJob(`
const { remote, get, put, ObjectRef } = rayts;
const add = remote((a, b) => a + b);
const addLater = remote(async (a, b) => { await Bun.sleep(1); return a + b; });
const inspect = remote((top, nested) => ({
  top,
  topIsRef: top instanceof ObjectRef,
  arrayItemIsRef: nested.arr[0] instanceof ObjectRef,
  objectFieldIsRef: nested.obj.r instanceof ObjectRef,
  ids: [nested.arr[0].id, nested.obj.r.id],
}));
const deref = remote(async (nested) => await get(nested.arr[0]));
report.sync = await get(add.remote(2, 3));
report.async = await get(addLater.remote(4, 5));
report.refArgs = await get(add.remote(put(10), add.remote(1, 1)));
const hello = put("hello");
report.inspect = await get(inspect.remote(hello, { arr: [hello], obj: { r: hello } }));
report.helloId = hello.id;
report.deref = await get(deref.remote({ arr: [hello] }));
report.returnsAtOnce = add.remote(1, 2) instanceof ObjectRef;
done();
`);
    expect(report.sync).toBe(5);
    expect(report.async).toBe(9);
    expect(report.refArgs).toBe(12);
    expect(report.inspect).toEqual({
      top: "hello",
      topIsRef: false,
      arrayItemIsRef: true,
      objectFieldIsRef: true,
      ids: [report.helloId, report.helloId],
    });
    expect(report.deref).toBe("hello");
    expect(report.returnsAtOnce).toBe(true);
  });

  test("numReturns 2 and 3 give one ref per returned value, and a mismatch fails with a TaskError about numReturns", async () => {
    const { report } = await runJob(`
const { remote, get } = rayts;
const two = remote((x) => [x, x * 2]).options({ numReturns: 2 });
const three = remote(async () => ["a", 1, [true]]).options({ numReturns: 3 });
const tooFew = remote(function tooFew() { return [1, 2]; }).options({ numReturns: 3 });
const notArray = remote(function notArray() { return 5; }).options({ numReturns: 2 });
const refs = two.remote(21);
report.shape = [Array.isArray(refs), refs.length, refs.every((r) => r instanceof rayts.ObjectRef)];
report.two = await get(refs);
report.three = await get(three.remote());
report.tooFew = await Promise.all(tooFew.remote().map((r) => settle(() => get(r))));
report.notArray = await Promise.all(notArray.remote().map((r) => settle(() => get(r))));
done();
`);
    expect(report.shape).toEqual([true, 2, true]);
    expect(report.two).toEqual([21, 42]);
    expect(report.three).toEqual(["a", 1, [true]]);
    expect(report.tooFew).toHaveLength(3);
    for (const outcome of [...report.tooFew, ...report.notArray]) {
      const error = expectError(outcome, "TaskError", "ERR_TASK");
      expect(error.causeMessage).toContain("numReturns");
    }
  });

  test("a task's error is a TaskError naming the function, with the original error as cause", async () => {
    const { report } = await runJob(`
const { remote, get } = rayts;
const explode = remote(function explode(x) { throw new RangeError("bad x " + x); });
const renamed = remote(function plain() { throw new Error("boom"); }).options({ name: "custom-name" });
report.plain = await settle(() => get(explode.remote(7)));
report.renamed = await settle(() => get(renamed.remote()));
done();
`);
    const plain = expectError(report.plain, "TaskError", "ERR_TASK");
    expect(plain.message).toMatch(/^explode\(\) \(pid=\d+, node=[0-9a-f]+\)/);
    expect(plain.causeName).toBe("RangeError");
    expect(plain.causeMessage).toBe("bad x 7");
    // The remote stack is kept: it names the function that threw.
    expect(plain.causeStack).toContain("explode");
    const renamed = expectError(report.renamed, "TaskError", "ERR_TASK");
    expect(renamed.message).toMatch(/^custom-name\(\) \(pid=\d+/);
  });
});

describe("retries", () => {
  test("maxRetries reruns a task whose worker died, then fails with WorkerCrashedError", async () => {
    const { report } = await runJob(`
const { remote, get } = rayts;
const alwaysDies = remote(function alwaysDies(path) { bump(path); process.exit(1); });
const diesTwice = remote(function diesTwice(path) { if (bump(path) < 3) process.exit(1); return "survived"; });
report.exhausted = await settle(() => get(alwaysDies.options({ maxRetries: 2 }).remote(DIR + "/a")));
report.exhaustedRuns = count(DIR + "/a");
report.noRetry = await settle(() => get(alwaysDies.options({ maxRetries: 0 }).remote(DIR + "/b")));
report.noRetryRuns = count(DIR + "/b");
report.recovered = await settle(() => get(diesTwice.options({ maxRetries: 2 }).remote(DIR + "/c")));
report.recoveredRuns = count(DIR + "/c");
report.defaultRetries = await settle(() => get(alwaysDies.remote(DIR + "/d")));
report.defaultRuns = count(DIR + "/d");
done();
`);
    expectError(report.exhausted, "WorkerCrashedError", "ERR_WORKER_CRASHED");
    expect(report.exhaustedRuns).toBe(3);
    expectError(report.noRetry, "WorkerCrashedError", "ERR_WORKER_CRASHED");
    expect(report.noRetryRuns).toBe(1);
    expect(report.recovered).toEqual({ value: "survived" });
    expect(report.recoveredRuns).toBe(3);
    expectError(report.defaultRetries, "WorkerCrashedError", "ERR_WORKER_CRASHED");
    expect(report.defaultRuns).toBe(4);
  });

  test("retryExceptions retries thrown errors when true or when the error's name is listed", async () => {
    const { report } = await runJob(`
const { remote, get } = rayts;
const flaky = remote(function flaky(path) { if (bump(path) < 3) throw new Error("not yet"); return "ok"; });
const alwaysThrows = remote(function alwaysThrows(path) { bump(path); throw new Error("never"); });
const throwsKind = remote(function throwsKind(path, kind) {
  if (bump(path) < 2) throw kind === "range" ? new RangeError("range") : new TypeError("type");
  return "ok";
});
report.off = await settle(() => get(flaky.remote(DIR + "/off")));
report.offRuns = count(DIR + "/off");
report.on = await settle(() => get(flaky.options({ retryExceptions: true }).remote(DIR + "/on")));
report.onRuns = count(DIR + "/on");
report.capped = await settle(() => get(alwaysThrows.options({ retryExceptions: true, maxRetries: 2 }).remote(DIR + "/cap")));
report.cappedRuns = count(DIR + "/cap");
const listed = throwsKind.options({ retryExceptions: ["RangeError"] });
report.listed = await settle(() => get(listed.remote(DIR + "/listed", "range")));
report.listedRuns = count(DIR + "/listed");
report.unlisted = await settle(() => get(listed.remote(DIR + "/unlisted", "type")));
report.unlistedRuns = count(DIR + "/unlisted");
done();
`);
    expectError(report.off, "TaskError", "ERR_TASK");
    expect(report.offRuns).toBe(1);
    expect(report.on).toEqual({ value: "ok" });
    expect(report.onRuns).toBe(3);
    expect(expectError(report.capped, "TaskError", "ERR_TASK").causeMessage).toBe("never");
    expect(report.cappedRuns).toBe(3);
    expect(report.listed).toEqual({ value: "ok" });
    expect(report.listedRuns).toBe(2);
    expect(expectError(report.unlisted, "TaskError", "ERR_TASK").causeName).toBe("TypeError");
    expect(report.unlistedRuns).toBe(1);
  });

  test("a task calling process.exit does not take the driver down", async () => {
    const { report } = await runJob(`
const { remote, get } = rayts;
const quitter = remote(function quitter() { process.exit(3); });
const after = remote((x) => x + 1);
report.quit = await settle(() => get(quitter.options({ maxRetries: 0 }).remote()));
report.after = await get(after.remote(1));
done();
`);
    expectError(report.quit, "WorkerCrashedError", "ERR_WORKER_CRASHED");
    expect(report.after).toBe(2);
  });
});

describe("scheduling", () => {
  test("SPREAD and hard affinity to the own node run; hard affinity to an unknown node is unschedulable, soft runs", async () => {
    const { report } = await runJob(`
const { remote, get } = rayts;
const where = remote(() => rayts.getRuntimeContext().nodeId);
const own = rayts.getRuntimeContext().nodeId;
const bogus = "deadbeef".repeat(8).slice(0, own.length);
report.own = own;
report.spread = await settle(() => get(where.options({ scheduling: "SPREAD" }).remote()));
report.hard = await settle(() => get(where.options({ scheduling: { nodeId: own, soft: false } }).remote()));
report.bogusHard = await settle(() => get(where.options({ scheduling: { nodeId: bogus, soft: false } }).remote(), { timeoutMs: 20_000 }));
report.bogusSoft = await settle(() => get(where.options({ scheduling: { nodeId: bogus, soft: true } }).remote()));
done();
`);
    expect(report.own).toMatch(/^[0-9a-f]+$/);
    expect(report.spread).toEqual({ value: report.own });
    expect(report.hard).toEqual({ value: report.own });
    expectError(report.bogusHard, "TaskUnschedulableError", "ERR_UNSCHEDULABLE");
    expect(report.bogusSoft).toEqual({ value: report.own });
  });

  test("nested tasks and recursion (fib(10)) finish on a one-CPU cluster because blocked tasks lend their CPU", async () => {
    const { report } = await runJob(`
const { remote, get, wait } = rayts;
const fib = remote(async function fibonacci(n) {
  if (n < 2) return n;
  const [a, b] = await get([fib.remote(n - 1), fib.remote(n - 2)]);
  return a + b;
});
const leaf = remote((x) => x * 2);
const waiter = remote(async function waiter() {
  const refs = [leaf.remote(1), leaf.remote(2)];
  const { ready } = await wait(refs, { numReturns: 2 });
  return (await get(ready)).reduce((s, x) => s + x, 0);
});
await rayts.init({ numCpus: 1 });
report.fib = await get(fib.remote(10), { timeoutMs: 50_000 });
report.waiter = await get(waiter.remote(), { timeoutMs: 20_000 });
done();
`);
    expect(report.fib).toBe(55);
    expect(report.waiter).toBe(6);
  });
});

describe("generators", () => {
  test("sync and async generator tasks stream their items through an ObjectRefGenerator", async () => {
    const { report } = await runJob(`
const { remote, get } = rayts;
const countUp = remote(function* countUp(n) { for (let i = 0; i < n; i++) yield i * 10; });
const countAsync = remote(async function* countAsync(n) { for (let i = 0; i < n; i++) { await Bun.sleep(1); yield "item" + i; } });
const empty = remote(function* empty() {});
const gen = countUp.remote(3);
report.isGenerator = gen instanceof rayts.ObjectRefGenerator;
report.sync = [];
for await (const ref of gen) report.sync.push([ref instanceof rayts.ObjectRef, await get(ref)]);
report.async = [];
for await (const ref of countAsync.remote(3)) report.async.push(await get(ref));
report.empty = [];
for await (const ref of empty.remote()) report.empty.push(await get(ref));
done();
`);
    expect(report.isGenerator).toBe(true);
    expect(report.sync).toEqual([
      [true, 0],
      [true, 10],
      [true, 20],
    ]);
    expect(report.async).toEqual(["item0", "item1", "item2"]);
    expect(report.empty).toEqual([]);
  });

  // Each generator below only continues once the driver acknowledged the item it just yielded, so it
  // can finish only if every item arrived while the generator was still running.
  test("each item of an async generator reaches the driver before the generator goes on", async () => {
    const { report } = await runJob(`
const { remote, get } = rayts;
const handshake = remote(async function* handshake(dir, n) {
  for (let i = 0; i < n; i++) {
    yield i;
    await until(dir + "/ack-" + i, "the driver to receive item " + i + " while the generator runs");
  }
});
report.items = [];
for await (const ref of handshake.remote(DIR, 3)) {
  const v = await get(ref);
  report.items.push(v);
  writeFileSync(DIR + "/ack-" + v, "");
}
done();
`);
    expect(report.items).toEqual([0, 1, 2]);
  });

  test("each item of a sync generator that computes between yields reaches the driver before it goes on", async () => {
    const { report } = await runJob(`
const { remote, get } = rayts;
const syncHandshake = remote(function* syncHandshake(dir, n) {
  for (let i = 0; i < n; i++) {
    yield "s" + i;
    // Synchronous work between yields (a busy wait on the driver's acknowledgement).
    const deadline = Date.now() + 10_000;
    while (!existsSync(dir + "/ack-" + i)) {
      if (Date.now() > deadline) throw new Error("Item " + i + " was not streamed while the generator ran");
      Bun.sleepSync(5);
    }
  }
});
report.items = [];
let i = 0;
for await (const ref of syncHandshake.remote(DIR, 3)) {
  report.items.push(await settle(() => get(ref)));
  writeFileSync(DIR + "/ack-" + i++, "");
}
done();
`);
    expect(report.items).toEqual([{ value: "s0" }, { value: "s1" }, { value: "s2" }]);
  });

  test("an error thrown inside a generator surfaces on the get of the next item", async () => {
    const { report } = await runJob(`
const { remote, get } = rayts;
const breaks = remote(function* breaks() { yield 1; throw new RangeError("generator broke"); });
const breaksAsync = remote(async function* breaksAsync() { yield "a"; throw new TypeError("async generator broke"); });
async function drain(gen) {
  const out = [];
  try { for await (const ref of gen) out.push(await settle(() => get(ref))); }
  catch (e) { out.push({ iterationError: errInfo(e) }); }
  return out;
}
report.sync = await drain(breaks.remote());
report.async = await drain(breaksAsync.remote());
done();
`);
    expect(report.sync).toHaveLength(2);
    expect(report.sync[0]).toEqual({ value: 1 });
    const sync = expectError(report.sync[1], "TaskError", "ERR_TASK");
    expect([sync.causeName, sync.causeMessage]).toEqual(["RangeError", "generator broke"]);
    expect(report.async).toHaveLength(2);
    expect(report.async[0]).toEqual({ value: "a" });
    const asyncError = expectError(report.async[1], "TaskError", "ERR_TASK");
    expect([asyncError.causeName, asyncError.causeMessage]).toEqual(["TypeError", "async generator broke"]);
  });
});

describe("cancel", () => {
  const TASKS = `
const { remote, get, cancel } = rayts;
const blocker = remote(async function blocker(dir) {
  writeFileSync(dir + "/blocker-started", "");
  await until(dir + "/go", "the driver's go");
  return "released";
});
const quick = remote(function quick(x) { return x; });
const sleepy = remote(async function sleepy(dir) {
  writeFileSync(dir + "/sleepy-started", "");
  await new Promise(() => {});
});
const spin = remote(function spin(dir) {
  writeFileSync(dir + "/spin-started", "");
  while (true) {}
});
await rayts.init({ numCpus: 1 });
`;

  test("cancel() of a queued task and force-cancel of a busy loop reject with TaskCancelledError; later tasks still run", async () => {
    const { report } = await runJob(`${TASKS}
const b = blocker.remote(DIR);
await until(DIR + "/blocker-started");
const queued = quick.remote("never");
await cancel(queued);
report.queued = await settle(() => get(queued));
writeFileSync(DIR + "/go", "");
report.blocker = await get(b);

const sp = spin.remote(DIR);
await until(DIR + "/spin-started");
await cancel(sp, { force: true });
report.forced = await settle(() => get(sp));
report.afterForced = await settle(() => get(quick.remote(3), { timeoutMs: 20_000 }));
done();
`);
    expectError(report.queued, "TaskCancelledError", "ERR_TASK_CANCELLED");
    expect(report.blocker).toBe("released");
    expectError(report.forced, "TaskCancelledError", "ERR_TASK_CANCELLED");
    expect(report.afterForced).toEqual({ value: 3 });
  });

  test("cancel() of a running async task rejects with TaskCancelledError and frees its CPU for later tasks", async () => {
    const { report } = await runJob(`${TASKS}
const s = sleepy.remote(DIR);
await until(DIR + "/sleepy-started");
await cancel(s);
report.running = await settle(() => get(s, { timeoutMs: 10_000 }));
report.after = await settle(() => get(quick.remote(2), { timeoutMs: 10_000 }));
done();
`);
    expectError(report.running, "TaskCancelledError", "ERR_TASK_CANCELLED");
    expect(report.after).toEqual({ value: 2 });
  });
});

describe("worker output", () => {
  test("worker console output reaches the driver prefixed with the task name and pid", async () => {
    const { stdout, stderr } = await runJob(`
const { remote, get } = rayts;
const loud = remote(function loud() { console.log("hello from loud"); console.error("warning from loud"); return 1; });
await get(loud.remote());
await get(loud.options({ name: "renamed" }).remote());
done();
`);
    expect(stdout).toMatch(/^\(loud pid=\d+\) hello from loud$/m);
    expect(stderr).toMatch(/^\(loud pid=\d+\) warning from loud$/m);
    expect(stdout).toMatch(/^\(renamed pid=\d+\) hello from loud$/m);
  });

  test("logToDriver: false keeps worker output off the driver", async () => {
    const { report, stdout, stderr } = await runJob(`
const { remote, get } = rayts;
const loud = remote(function loud() { console.log("hello from loud"); console.error("warning from loud"); return 1; });
await rayts.init({ logToDriver: false });
report.value = await get(loud.remote());
done();
`);
    expect(report.value).toBe(1);
    expect(stdout).not.toContain("from loud");
    expect(stderr).not.toContain("from loud");
  });
});
