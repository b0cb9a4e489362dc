/**
 * Objects as a user sees them: put/get/wait/free, refs that are not thenable, every serializable type
 * through the store and through tasks, zero-copy views of large binary data, reference counting that
 * frees memory, and the errors for values and arguments that cannot work.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { expectError, runJob } from "../fixtures/tasks-job-runner.ts";

setDefaultTimeout(60_000);

const MiB = 1024 * 1024;

describe("put and get", () => {
  test("put() is synchronous and get() keeps order and allows duplicates", async () => {
    const { report } = await runJob(`
const { remote, get, put, ObjectRef } = rayts;
const slowFirst = remote(async function slowFirst(dir) { await until(dir + "/second-done"); return "first"; });
const second = remote(function second(dir) { writeFileSync(dir + "/second-done", ""); return "second"; });
const ref = put({ a: 1 });
report.putReturnsRef = ref instanceof ObjectRef && !(ref instanceof Promise);
report.idIsHex = /^[0-9a-f]+$/.test(ref.id);
report.one = await get(ref);
const a = put("a"), b = put("b");
report.many = await get([b, a, b, a]);
report.empty = await get([]);
// The first ref finishes last: get() still answers in the order of the refs.
const first = slowFirst.remote(DIR);
report.order = await get([first, second.remote(DIR)]);
done();
`);
    expect(report.putReturnsRef).toBe(true);
    expect(report.idIsHex).toBe(true);
    expect(report.one).toEqual({ a: 1 });
    expect(report.many).toEqual(["b", "a", "b", "a"]);
    expect(report.empty).toEqual([]);
    expect(report.order).toEqual(["first", "second"]);
  });

  test("get() rejects with GetTimeoutError when the task outlives timeoutMs", async () => {
    const { report } = await runJob(`
const { remote, get } = rayts;
const waitsForGo = remote(async function waitsForGo(dir) { await until(dir + "/go"); return "finally"; });
const ref = waitsForGo.remote(DIR);
report.one = await settle(() => get(ref, { timeoutMs: 50 }));
report.many = await settle(() => get([rayts.put(1), ref], { timeoutMs: 0 }));
writeFileSync(DIR + "/go", "");
report.later = await get(ref);
done();
`);
    const one = expectError(report.one, "GetTimeoutError", "ERR_GET_TIMEOUT");
    expect(one.message).toContain("50 ms");
    expectError(report.many, "GetTimeoutError", "ERR_GET_TIMEOUT");
    expect(report.later).toBe("finally");
  });

  test("get() with wrong arguments rejects with a TypeError", async () => {
    const { report } = await runJob(`
const { get, put } = rayts;
report.number = await settle(() => get(42));
report.plainObject = await settle(() => get({ id: "abc" }));
report.arrayOfValues = await settle(() => get([put(1), 2]));
report.negativeTimeout = await settle(() => get(put(1), { timeoutMs: -1 }));
report.nanTimeout = await settle(() => get(put(1), { timeoutMs: NaN }));
done();
`);
    for (const key of ["number", "plainObject", "arrayOfValues", "negativeTimeout", "nanTimeout"]) {
      expect([key, report[key].error?.name]).toEqual([key, "TypeError"]);
    }
    expect(report.number.error.message).toContain("ObjectRef");
    expect(report.negativeTimeout.error.message).toContain("timeoutMs");
  });

  test("an ObjectRef is not thenable, and Symbol.dispose releases it", async () => {
    const { report } = await runJob(`
const { remote, get, put, ObjectRef } = rayts;
const makesRef = remote(async function makesRef() { return put("inner"); });
const ref = put(5);
report.awaitGivesRef = (await ref) === ref;
report.thenType = typeof ref.then;
async function returnsRef() { return ref; }
report.asyncReturnsRef = (await returnsRef()) === ref;
const outer = await get(makesRef.remote());
report.taskReturnedRef = outer instanceof ObjectRef;
report.inner = await get(outer);
const disposed = put("short-lived");
{ using scoped = disposed; report.inScope = await get(scoped); }
report.released = disposed.released;
report.afterDispose = await settle(() => get(disposed));
done();
`);
    expect(report.awaitGivesRef).toBe(true);
    expect(report.thenType).toBe("undefined");
    expect(report.asyncReturnsRef).toBe(true);
    expect(report.taskReturnedRef).toBe(true);
    expect(report.inner).toBe("inner");
    expect(report.inScope).toBe("short-lived");
    expect(report.released).toBe(true);
    expectError(report.afterDispose, "ObjectLostError", "ERR_OBJECT_LOST");
  });

  test("free() evicts an object: a later get() rejects with ObjectLostError", async () => {
    const { report } = await runJob(`
const { remote, get, put, free } = rayts;
const big = new Uint8Array(256 * 1024).fill(3);
const small = put("small"), large = put(big);
await free([small, large]);
report.small = await settle(() => get(small));
report.large = await settle(() => get(large));
const made = remote(() => "made").remote();
await get(made);
await free([made]);
report.taskResult = await settle(() => get(made));
done();
`);
    for (const key of ["small", "large", "taskResult"]) {
      expect([key, report[key].error?.code]).toEqual([key, "ERR_OBJECT_LOST"]);
      expectError(report[key], "ObjectLostError", "ERR_OBJECT_LOST");
    }
  });
});

describe("wait", () => {
  test("wait() splits refs into ready and not ready by numReturns and timeoutMs", async () => {
    const { report } = await runJob(`
const { remote, get, put, wait } = rayts;
const waitsForGo = remote(async function waitsForGo(dir) { await until(dir + "/go"); return "late"; });
const a = put(1), b = put(2), c = put(3);
const ids = (refs) => refs.map((r) => [a, b, c].indexOf(r));
const two = await wait([a, b, c], { numReturns: 2 });
report.two = [ids(two.ready), ids(two.notReady)];
const all = await wait([a, b, c], { numReturns: 3 });
report.all = [ids(all.ready), ids(all.notReady)];
const slow = waitsForGo.remote(DIR);
const partial = await wait([slow, a], { numReturns: 2, timeoutMs: 50 });
report.partial = [partial.ready.map((r) => r === a), partial.notReady.map((r) => r === slow)];
report.zeroTimeout = (await wait([slow], { timeoutMs: 0 })).notReady.length;
writeFileSync(DIR + "/go", "");
const late = await wait([slow]);
report.late = [late.ready.length, late.notReady.length];
report.empty = await settle(() => wait([]));
done();
`);
    expect(report.two).toEqual([[0, 1], [2]]);
    expect(report.all).toEqual([[0, 1, 2], []]);
    expect(report.partial).toEqual([[true], [true]]);
    expect(report.zeroTimeout).toBe(1);
    expect(report.late).toEqual([1, 0]);
    expect(report.empty).toEqual({ value: { ready: [], notReady: [] } });
  });

  test("wait() rejects duplicate refs and bad numReturns with a TypeError", async () => {
    const { report } = await runJob(`
const { put, wait } = rayts;
const a = put(1), b = put(2);
report.duplicate = await settle(() => wait([a, b, a]));
report.tooMany = await settle(() => wait([a], { numReturns: 2 }));
report.fractional = await settle(() => wait([a, b], { numReturns: 1.5 }));
report.notArray = await settle(() => wait(a));
done();
`);
    for (const key of ["duplicate", "tooMany", "fractional", "notArray"]) {
      expect([key, report[key].error?.name]).toEqual([key, "TypeError"]);
    }
    expect(report.duplicate.error.message).toContain("twice");
  });
});

/**
 * Describes a value as JSON-safe data that keeps what JSON would lose: the kind of every node
 * (Map, Set, Date, typed array, ref, `undefined`, `-0`, bigint, prototype), so two descriptions are
 * equal only if the values have the same types and contents.
 */
const DESCRIBE = `
function describeValue(v) {
  if (v === undefined) return ["undefined"];
  if (v === null) return ["null"];
  switch (typeof v) {
    case "number": return ["number", Object.is(v, -0) ? "-0" : String(v)];
    case "bigint": return ["bigint", String(v)];
    case "string": return ["string", v];
    case "boolean": return ["boolean", v];
  }
  if (v instanceof rayts.ObjectRef) return ["ref", v.id];
  if (Array.isArray(v)) return ["array", v.map(describeValue)];
  if (v instanceof Map) return ["map", [...v].map(([k, x]) => [describeValue(k), describeValue(x)])];
  if (v instanceof Set) return ["set", [...v].map(describeValue)];
  if (v instanceof Date) return ["date", v.getTime()];
  if (v instanceof Error) return ["error", v.name, v.message, v instanceof TypeError];
  if (v instanceof ArrayBuffer) return ["ArrayBuffer", [...new Uint8Array(v)]];
  if (v instanceof DataView) return ["DataView", [...new Uint8Array(v.buffer, v.byteOffset, v.byteLength)]];
  if (ArrayBuffer.isView(v)) return [v.constructor.name, Array.from(v, String)];
  const proto = Object.getPrototypeOf(v);
  return ["object", proto === Object.prototype || proto === null, Object.keys(v).map((k) => [k, describeValue(v[k])])];
}
class Point { constructor(x, y) { this.x = x; this.y = y; } norm() { return Math.hypot(this.x, this.y); } }
function samples() {
  const bytes = new Uint8Array([1, 2, 3, 250]);
  return {
    numbers: [0, -0, 1.5, -7, NaN, Infinity, -Infinity, Number.MAX_SAFE_INTEGER],
    strings: ["", "héllo", "emoji 😀", "x".repeat(1000)],
    booleans: [true, false],
    nothing: [null, undefined],
    bigints: [0n, -12345678901234567890n, 2n ** 70n],
    nested: { a: [1, { b: [2, { c: "deep" }] }], empty: {}, emptyArray: [] },
    map: new Map([["k", 1], [2, { two: true }]]),
    set: new Set([1, "one", 1n]),
    date: new Date(Date.UTC(2020, 1, 29, 12, 30)),
    error: new Error("plain failure"),
    typeError: new TypeError("typed failure"),
    int8: new Int8Array([-128, 0, 127]),
    uint8: bytes,
    uint8Clamped: new Uint8ClampedArray([0, 255]),
    int16: new Int16Array([-32768, 32767]),
    uint16: new Uint16Array([65535]),
    int32: new Int32Array([-2147483648, 2147483647]),
    uint32: new Uint32Array([4294967295]),
    float32: new Float32Array([1.5, -0.25]),
    float64: new Float64Array([Math.PI, -0]),
    bigInt64: new BigInt64Array([-(2n ** 63n), 42n]),
    bigUint64: new BigUint64Array([2n ** 64n - 1n]),
    subarray: bytes.subarray(1, 3),
    arrayBuffer: new Uint8Array([9, 8, 7]).buffer,
    dataView: new DataView(new Uint8Array([5, 6, 7, 8]).buffer, 1, 2),
    bigBinary: new Float64Array(16 * 1024).map((_, i) => i),
    instance: new Point(3, 4),
  };
}
`;

describe("serialization", () => {
  test("every serializable type keeps its type and contents through put/get, task arguments and task returns", async () => {
    const { report } = await runJob(`
const { remote, get, put } = rayts;
${DESCRIBE}
const describeRemote = remote((value) => describeValue(value));
const echo = remote((value) => value);
const fromWorker = remote(() => samples());
const original = samples();
const expected = Object.fromEntries(Object.entries(original).map(([k, v]) => [k, describeValue(v)]));
const viaPut = {}, viaArgs = {}, viaEcho = {};
for (const [k, v] of Object.entries(original)) {
  viaPut[k] = describeValue(await get(put(v)));
  viaArgs[k] = await get(describeRemote.remote(v));
  viaEcho[k] = describeValue(await get(echo.remote(v)));
}
const returned = await get(fromWorker.remote());
const viaReturn = Object.fromEntries(Object.entries(returned).map(([k, v]) => [k, describeValue(v)]));
report.expected = expected;
report.viaPut = viaPut;
report.viaArgs = viaArgs;
report.viaEcho = viaEcho;
report.viaReturn = viaReturn;
const ref = put("target");
const holder = await get(put({ inner: ref, list: [ref] }));
report.refKept = [holder.inner instanceof rayts.ObjectRef, holder.inner.id === ref.id, await get(holder.list[0])];
report.instanceMethods = typeof (await get(put(new Point(1, 1)))).norm;
done();
`);
    // Class instances arrive as plain objects with their fields.
    const expected = { ...report.expected, instance: ["object", true, report.expected.instance[2]] };
    expect(report.expected.instance[1]).toBe(false);
    expect(report.viaPut).toEqual(expected);
    expect(report.viaArgs).toEqual(expected);
    expect(report.viaEcho).toEqual(expected);
    expect(report.viaReturn).toEqual(expected);
    expect(report.refKept).toEqual([true, true, "target"]);
    expect(report.instanceMethods).toBe("undefined");
  });

  test("unserializable values fail at put() or .remote() with a SerializationError naming the path", async () => {
    const { report } = await runJob(`
const { remote, put } = rayts;
const f = remote((a, b) => a);
const attempt = (fn) => { try { fn(); return "accepted"; } catch (e) { return errInfo(e); } };
report.nestedFunction = attempt(() => f.remote(1, { cb: () => 1 }));
report.putSymbol = attempt(() => put(Symbol("s")));
report.putFunction = attempt(() => put({ list: [1, function named() {}] }));
report.weakMap = attempt(() => put({ w: new WeakMap() }));
done();
`);
    for (const key of ["nestedFunction", "putSymbol", "putFunction", "weakMap"]) {
      expect([key, report[key].name, report[key].code]).toEqual([
        key,
        "SerializationError",
        "ERR_SERIALIZATION",
      ]);
      expect(report[key].rayts).toBe(true);
    }
    expect(report.nestedFunction.message).toContain("args[1].cb");
    expect(report.putFunction.message).toContain("list[1]");
    expect(report.weakMap.message).toContain("w");
  });
});

describe("large binary data", () => {
  test("get() of a large typed array returns views over the same stored memory, not copies", async () => {
    const { report } = await runJob(`
const { remote, get, put } = rayts;
const makeBig = remote((n) => new Float64Array(n).fill(2));
const sum = remote((a) => a.reduce((s, x) => s + x, 0));
const source = new Float64Array(1 << 20).map((_, i) => i);
const ref = put(source);
source[0] = -1; // put copied the value: later changes to the source are not seen
const a = await get(ref), b = await get(ref);
report.type = [a.constructor.name, a.length, a[0], a[12345]];
// Not a window into some larger buffer: the view's buffer is about the object's own size.
report.bufferOverhead = a.buffer.byteLength - a.byteLength;
report.distinctObjects = a !== b;
// Users must not write to views; a test may, to show both gets read the same memory.
a[1] = 4242;
report.sharedMemory = b[1];
report.taskSum = await get(sum.remote(ref));
const fromTask = await get(makeBig.remote(1 << 17));
report.fromTask = [fromTask.constructor.name, fromTask.length, fromTask[100], fromTask.buffer.byteLength - fromTask.byteLength];
done();
`);
    expect(report.type).toEqual(["Float64Array", 1 << 20, 0, 12345]);
    expect(report.bufferOverhead).toBeGreaterThanOrEqual(0);
    expect(report.bufferOverhead).toBeLessThan(64 * 1024);
    expect(report.distinctObjects).toBe(true);
    expect(report.sharedMemory).toBe(4242);
    expect(report.taskSum).toBe(((1 << 20) * ((1 << 20) - 1)) / 2 - 1 + 4242);
    expect(report.fromTask[0]).toBe("Float64Array");
    expect(report.fromTask.slice(1, 3)).toEqual([1 << 17, 2]);
    expect(report.fromTask[3]).toBeLessThan(64 * 1024);
  });

  test("a view stays valid after its ref is gone and the store reuses memory; dropping the view frees it", async () => {
    // Checks run in helper functions so no stray temporary of the main frame keeps a view alive for
    // the (conservative) garbage collector.
    const { report } = await runJob(`
const { get, put } = rayts;
await rayts.init({ objectStoreMemory: ${64 * MiB} });
async function viewOfDroppedRef() {
  const ref = put(new Uint8Array(${24 * MiB}).fill(7));
  const view = await get(ref);
  ref[Symbol.dispose]();
  return view;
}
function churn() {
  for (let i = 0; i < 20; i++) put(new Uint8Array(${8 * MiB}).fill(9))[Symbol.dispose]();
}
const allSevens = (view) => view.length === ${24 * MiB} && view.every((x) => x === 7);
let view = await viewOfDroppedRef();
Bun.gc(true);
// Churn far more than the store holds through it while the view is alive.
churn();
report.viewIntact = allSevens(view);
view = undefined;
// The collector scans the running frame's stack conservatively, so the view can look alive until
// this frame suspends once; after that, nothing holds it.
await Bun.sleep(0);
// With the view gone its 24 MiB must come back: 44 MiB only fits then.
report.bigFits = settleSync(() => put(new Uint8Array(${44 * MiB})) !== undefined);
done();
`);
    expect(report.viewIntact).toBe(true);
    expect(report.bigFits).toEqual({ value: true });
  });

  test("unreferenced objects are freed, so putting far more than the store holds succeeds", async () => {
    const { report } = await runJob(`
const { remote, get, put } = rayts;
const makeBig = remote((n, v) => new Uint8Array(n).fill(v));
await rayts.init({ objectStoreMemory: ${64 * MiB} });
let total = 0;
for (let i = 0; i < 40; i++) { put(new Uint8Array(${8 * MiB}).fill(i)); total += ${8 * MiB}; }
for (let i = 0; i < 20; i++) {
  const v = await get(put(new Uint8Array(${8 * MiB}).fill(i)));
  if (v[0] !== i) throw new Error("Wrong contents at " + i);
  total += ${8 * MiB};
}
for (let i = 0; i < 20; i++) {
  const v = await get(makeBig.remote(${8 * MiB}, i));
  if (v[${8 * MiB - 1}] !== i) throw new Error("Wrong task result at " + i);
  total += ${8 * MiB};
}
report.totalMiB = total / ${MiB};
done();
`);
    expect(report.totalMiB).toBe(640);
  });

  test("live refs beyond the store's capacity fail with ObjectStoreFullError that says what to do", async () => {
    const { report } = await runJob(`
const { get, put } = rayts;
await rayts.init({ objectStoreMemory: ${64 * MiB} });
const live = [];
let error;
for (let i = 0; i < 20 && error === undefined; i++) {
  try { live.push(put(new Uint8Array(${8 * MiB}).fill(i))); } catch (e) { error = errInfo(e); }
}
report.kept = live.length;
report.error = error;
async function intact(refs) { return (await get(refs)).every((v, i) => v[0] === i && v[${8 * MiB - 1}] === i); }
report.contentsIntact = await intact(live);
for (const r of live) r[Symbol.dispose]();
live.length = 0;
report.afterRelease = await settle(() => get(put(new Uint8Array(${32 * MiB}).fill(5))).then((v) => v[0]));
done();
`);
    expect(report.kept).toBeGreaterThanOrEqual(6);
    expect(report.kept).toBeLessThan(8);
    expect(report.error).toMatchObject({
      name: "ObjectStoreFullError",
      code: "ERR_OBJECT_STORE_FULL",
      rayts: true,
    });
    expect(report.error.message).toMatch(/^Object store is full: /);
    expect(report.error.message).toContain("objectStoreMemory");
    expect(report.contentsIntact).toBe(true);
    expect(report.afterRelease).toEqual({ value: 5 });
  });
});
