/**
 * Generator methods of actors stream as generator tasks do: each test runs a small script through
 * the real binary and checks the JSON report it prints. Streaming is proven with files the actor and
 * the driver leave for each other (ordering evidence), never with clocks.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { expectError, runJob } from "../fixtures/tasks-job-runner.ts";

// Each test runs the real binary; a broken runtime fails by its own bounds.
setDefaultTimeout(60_000);

describe("actor generator methods", () => {
  test("sync and async generator methods stream every item in order through an ObjectRefGenerator", async () => {
    const { report } = await runJob(`
const { remote, get, getActor } = rayts;
class Source {
  made = 0;
  *count(n) { for (let i = 0; i < n; i++) { this.made++; yield i * 10; } }
  async *words(n) { for (let i = 0; i < n; i++) { await Bun.sleep(1); this.made++; yield "w" + i; } }
  *none() {}
  made_() { return this.made; }
}
const src = remote(Source).options({ name: "source" }).remote();
async function drain(gen) {
  const out = [];
  for await (const ref of gen) out.push(await get(ref));
  return out;
}
const gen = src.count.remote(3);
report.isGenerator = gen instanceof rayts.ObjectRefGenerator;
report.firstIsRef = false;
report.sync = [];
for await (const ref of gen) {
  report.firstIsRef ||= ref instanceof rayts.ObjectRef;
  report.sync.push(await get(ref));
}
report.async = await drain(src.words.remote(3));
report.empty = await drain(src.none.remote());
report.numReturnsIgnored = await drain(src.count.options({ numReturns: 2 }).remote(2));
report.byName = await drain((await getActor("source")).count.remote(2));
const viaTask = remote(async (h) => {
  const out = [];
  for await (const ref of h.words.remote(2)) out.push(await get(ref));
  return out;
});
report.viaTask = await get(viaTask.remote(src));
report.made = await get(src.made_.remote());
done();
`);
    expect(report.isGenerator).toBe(true);
    expect(report.firstIsRef).toBe(true);
    expect(report.sync).toEqual([0, 10, 20]);
    expect(report.async).toEqual(["w0", "w1", "w2"]);
    expect(report.empty).toEqual([]);
    expect(report.numReturnsIgnored).toEqual([0, 10]);
    expect(report.byName).toEqual([0, 10]);
    expect(report.viaTask).toEqual(["w0", "w1"]);
    expect(report.made).toBe(12);
  });

  // Each method below only goes on once the driver acknowledged the item it just yielded, so it can
  // finish only if every item reached the driver while the method was still running.
  test("each item of a generator method reaches the driver before the method goes on", async () => {
    const { report } = await runJob(`
const { remote, get } = rayts;
class Talker {
  async *asyncTalk(dir, n) {
    for (let i = 0; i < n; i++) {
      yield "a" + i;
      await until(dir + "/ack-a" + i, "the driver to receive item " + i + " while the method runs");
    }
  }
  *syncTalk(dir, n) {
    for (let i = 0; i < n; i++) {
      yield "s" + i;
      // Synchronous work between yields (a busy wait on the driver's acknowledgement).
      const deadline = Date.now() + 10_000;
      while (!existsSync(dir + "/ack-s" + i)) {
        if (Date.now() > deadline) throw new Error("Item " + i + " was not streamed while the method ran");
        Bun.sleepSync(5);
      }
    }
  }
}
const t = remote(Talker).remote();
async function talk(gen, prefix) {
  const out = [];
  for await (const ref of gen) {
    out.push(await settle(() => get(ref)));
    writeFileSync(DIR + "/ack-" + prefix + (out.length - 1), "");
  }
  return out;
}
report.async = await talk(t.asyncTalk.remote(DIR, 3), "a");
report.sync = await talk(t.syncTalk.remote(DIR, 3), "s");
done();
`);
    expect(report.async).toEqual([{ value: "a0" }, { value: "a1" }, { value: "a2" }]);
    expect(report.sync).toEqual([{ value: "s0" }, { value: "s1" }, { value: "s2" }]);
  });

  test("an error thrown inside a generator method surfaces on the get of the next item", async () => {
    const { report } = await runJob(`
const { remote, get } = rayts;
class Fragile {
  *breaks() { yield 1; throw new RangeError("method generator broke"); }
  async *breaksAsync() { yield "a"; throw new TypeError("async method generator broke"); }
  alive() { return "still here"; }
}
const f = remote(Fragile).remote();
async function drain(gen) {
  const out = [];
  try { for await (const ref of gen) out.push(await settle(() => get(ref))); }
  catch (e) { out.push({ iterationError: errInfo(e) }); }
  return out;
}
report.sync = await drain(f.breaks.remote());
report.async = await drain(f.breaksAsync.remote());
report.after = await get(f.alive.remote());
done();
`);
    expect(report.sync).toHaveLength(2);
    expect(report.sync[0]).toEqual({ value: 1 });
    const sync = expectError(report.sync[1], "TaskError", "ERR_TASK");
    expect([sync.causeName, sync.causeMessage]).toEqual(["RangeError", "method generator broke"]);
    expect(report.async).toHaveLength(2);
    expect(report.async[0]).toEqual({ value: "a" });
    const asyncError = expectError(report.async[1], "TaskError", "ERR_TASK");
    expect([asyncError.causeName, asyncError.causeMessage]).toEqual([
      "TypeError",
      "async method generator broke",
    ]);
    expect(report.after).toBe("still here");
  });

  test("a generator method of an actor killed mid-stream ends with ActorDiedError", async () => {
    const { report } = await runJob(`
const { remote, get, kill } = rayts;
class Stuck {
  async *feed(dir) {
    yield "first";
    // Never written: the actor is killed while it waits here.
    await until(dir + "/never", "a file nobody writes");
    yield "unreachable";
  }
}
const s = remote(Stuck).remote();
report.items = [];
let killed = false;
try {
  for await (const ref of s.feed.remote(DIR)) {
    report.items.push(await settle(() => get(ref)));
    if (!killed) { killed = true; await kill(s); }
  }
} catch (e) { report.items.push({ iterationError: errInfo(e) }); }
done();
`);
    expect(report.items).toHaveLength(2);
    expect(report.items[0]).toEqual({ value: "first" });
    expectError(report.items[1], "ActorDiedError", "ERR_ACTOR_DIED");
  });

  test("plain methods still return refs and run in submission order around generator calls", async () => {
    const { report } = await runJob(`
const { remote, get } = rayts;
class Mixed {
  n = 0;
  *tick(k) { for (let i = 0; i < k; i++) yield ++this.n; }
  value() { return this.n; }
  async later() { await Bun.sleep(1); return this.n * 2; }
  pair() { return [this.n, -this.n]; }
}
const m = remote(Mixed).remote();
const gen = m.tick.remote(3);
// Submitted after the generator call: with maxConcurrency 1 it runs once the generator finished.
const afterGen = m.value.remote();
report.plainIsRef = afterGen instanceof rayts.ObjectRef;
report.items = [];
for await (const ref of gen) report.items.push(await get(ref));
report.afterGen = await get(afterGen);
report.later = await get(m.later.remote());
report.pair = await get(m.pair.options({ numReturns: 2 }).remote());
done();
`);
    expect(report.plainIsRef).toBe(true);
    expect(report.items).toEqual([1, 2, 3]);
    expect(report.afterGen).toBe(3);
    expect(report.later).toBe(6);
    expect(report.pair).toEqual([3, -3]);
  });

  test("with maxConcurrency 2 a plain call runs while a generator method waits", async () => {
    const { report } = await runJob(`
const { remote, get } = rayts;
class Gate {
  async *waitForOpen(dir) {
    yield "waiting";
    await until(dir + "/open", "the concurrent call to open the gate");
    yield "through";
  }
  open(dir) { writeFileSync(dir + "/open", ""); return "opened"; }
}
const g = remote(Gate).options({ maxConcurrency: 2 }).remote();
const gen = g.waitForOpen.remote(DIR);
report.opened = await get(g.open.remote(DIR));
report.items = [];
for await (const ref of gen) report.items.push(await get(ref));
done();
`);
    expect(report.opened).toBe("opened");
    expect(report.items).toEqual(["waiting", "through"]);
  });
});
