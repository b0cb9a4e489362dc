import { describe, expect, test } from "bun:test";
import net from "node:net";
import { Decoder as MsgpackDecoder } from "@msgpack/msgpack";
import { RaytsError, SerializationError, TaskError } from "../../src/errors.ts";
import { ObjectRef } from "../../src/object-ref.ts";
import {
  ACTOR_HANDLE_STATE,
  type CodecHooks,
  deserialize,
  deserializeFrame,
  frameSize,
  OOB_THRESHOLD,
  readFrame,
  type Serialized,
  serialize,
  writeFrame,
} from "../../src/serialize/codec.ts";

const roundTrip = <T>(value: T, hooks?: CodecHooks): T =>
  deserialize(serialize(value, "value", hooks), hooks) as T;

/** Writes `s` into a 64-byte-aligned frame and reads it back, as shared memory would hold it. */
function viaFrame(s: Serialized): { frame: Uint8Array; back: Serialized } {
  const size = frameSize(s);
  const frame = new Uint8Array(new ArrayBuffer(size + 64), 64, size);
  writeFrame(s, frame);
  return { frame, back: readFrame(frame) };
}

function serializationMessage(value: unknown, root = "args"): string {
  try {
    serialize(value, root);
  } catch (err) {
    expect(err).toBeInstanceOf(SerializationError);
    return (err as Error).message;
  }
  throw new Error("serialize did not throw");
}

const typedArrayKinds = [
  Int8Array,
  Uint8Array,
  Uint8ClampedArray,
  Int16Array,
  Uint16Array,
  Int32Array,
  Uint32Array,
  Float32Array,
  Float64Array,
  BigInt64Array,
  BigUint64Array,
  ...(typeof Float16Array === "function" ? [Float16Array] : []),
] as const;

function filled(
  Kind: (typeof typedArrayKinds)[number],
  length: number,
): ArrayBufferView & ArrayLike<unknown> {
  const a = new Kind(length);
  for (let i = 0; i < length; i++) {
    (a as unknown as unknown[])[i] =
      a instanceof BigInt64Array || a instanceof BigUint64Array ? BigInt(i % 100) : i % 100;
  }
  return a;
}

describe("primitives", () => {
  test("numbers keep -0, NaN, infinities and integers of every width", () => {
    const values = [
      0,
      -0,
      1,
      -1,
      127,
      128,
      255,
      256,
      65535,
      65536,
      -32,
      -33,
      -129,
      -40000,
      2 ** 31,
      -(2 ** 31),
      2 ** 32,
    ];
    const more = [2 ** 53 - 1, -(2 ** 53) + 1, 1.5, -1e-300, Number.MAX_VALUE, NaN, Infinity, -Infinity];
    const back = roundTrip([...values, ...more]);
    expect(back).toEqual([...values, ...more]);
    expect(Object.is(back[1], -0)).toBe(true);
    expect(Object.is(back[0], 0)).toBe(true);
  });

  test("undefined stays distinct from null at top level, in arrays and as property values", () => {
    expect(roundTrip(undefined)).toBeUndefined();
    expect(roundTrip(null)).toBeNull();
    const back = roundTrip([undefined, null, { a: undefined, b: null }]);
    expect(back[0]).toBeUndefined();
    expect(back[1]).toBeNull();
    expect(Object.hasOwn(back[2]!, "a")).toBe(true);
    expect(back[2]!.a).toBeUndefined();
    expect(back[2]!.b).toBeNull();
  });

  test("strings of every length and script survive", () => {
    const strings = [
      "",
      "a",
      "héllo",
      "日本語",
      "😀 emoji",
      "x".repeat(31),
      "y".repeat(300),
      "z".repeat(70000),
      "\ud800",
    ];
    expect(roundTrip(strings)).toEqual(strings.map((s) => (s === "\ud800" ? "\ufffd" : s)));
  });

  test("bigints keep their sign and any size", () => {
    const values = [0n, 1n, -1n, 2n ** 64n, -(2n ** 200n) + 7n, 123456789012345678901234567890n];
    const back = roundTrip(values);
    expect(back).toEqual(values);
    expect(typeof back[2]).toBe("bigint");
    expect(back[4]! < 0n).toBe(true);
  });

  test("booleans survive", () => {
    expect(roundTrip([true, false])).toEqual([true, false]);
  });
});

describe("containers", () => {
  test("sparse array holes arrive as undefined", () => {
    // biome-ignore lint/suspicious/noSparseArray: the hole is the point
    const back = roundTrip([1, , 3]);
    expect(back.length).toBe(3);
    expect(back[1]).toBeUndefined();
  });

  test("plain objects keep their keys, including __proto__ as an ordinary key", () => {
    const o = JSON.parse('{"a":1,"b c":[2],"__proto__":{"x":1}}');
    const back = roundTrip(o);
    expect(Object.keys(back)).toEqual(["a", "b c", "__proto__"]);
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(back, "__proto__")?.value).toEqual({ x: 1 });
  });

  test("large objects and arrays use the wide headers", () => {
    const o = Object.fromEntries(Array.from({ length: 70000 }, (_, i) => [`k${i}`, i]));
    const back = roundTrip({ o, a: Array.from({ length: 70000 }, (_, i) => i) });
    expect(Object.keys(back.o).length).toBe(70000);
    expect(back.o.k69999).toBe(69999);
    expect(back.a[69999]).toBe(69999);
  });

  test("Map keeps keys of any type and Set keeps its items", () => {
    const objectKey = { k: 1 };
    const m = new Map<unknown, unknown>([
      [1, "one"],
      ["1", "string one"],
      [objectKey, new Set([1, "a", undefined])],
      [2n, null],
      [undefined, [1]],
    ]);
    const back = roundTrip(m);
    expect(back).toBeInstanceOf(Map);
    expect(back.size).toBe(5);
    expect(back.get(1)).toBe("one");
    expect(back.get("1")).toBe("string one");
    expect(back.get(2n)).toBeNull();
    expect(back.get(undefined)).toEqual([1]);
    const [key, set] = [...back][2]!;
    expect(key).toEqual(objectKey);
    expect(set).toBeInstanceOf(Set);
    expect([...(set as Set<unknown>)]).toEqual([1, "a", undefined]);
  });

  test("Date keeps its time, and an invalid date stays invalid", () => {
    const [d, bad] = roundTrip([new Date(1700000000123), new Date(Number.NaN)]);
    expect(d).toBeInstanceOf(Date);
    expect(d!.getTime()).toBe(1700000000123);
    expect(bad).toBeInstanceOf(Date);
    expect(Number.isNaN(bad!.getTime())).toBe(true);
  });

  test("class instances arrive as plain objects of their own enumerable properties", () => {
    class Point {
      x = 1;
      y = { z: 2 };
      norm() {
        return this.x;
      }
    }
    const back = roundTrip(new Point());
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(back).toEqual({ x: 1, y: { z: 2 } } as Point);
  });

  test("symbol keys and non-enumerable properties are left out", () => {
    const o: Record<string | symbol, unknown> = { a: 1, [Symbol("s")]: 2 };
    Object.defineProperty(o, "hidden", { value: 3, enumerable: false });
    const back = roundTrip(o);
    expect(Reflect.ownKeys(back)).toEqual(["a"]);
  });

  test("shared references are copied, not rejected", () => {
    const shared = { n: 1 };
    const back = roundTrip([shared, shared]);
    expect(back).toEqual([shared, shared]);
  });

  test("subclasses of Map and Array arrive as Map and Array", () => {
    class Registry extends Map<string, number> {}
    class Items extends Array<number> {}
    const items = new Items();
    items.push(1, 2);
    const back = roundTrip({ r: new Registry([["a", 1]]), items });
    expect(back.r).toBeInstanceOf(Map);
    expect(back.r.get("a")).toBe(1);
    expect(Array.isArray(back.items)).toBe(true);
    expect([...back.items]).toEqual([1, 2]);
  });
});

describe("errors", () => {
  test("an Error keeps name, message, stack, nested cause and own props such as code", () => {
    const root = Object.assign(new Error("disk"), { code: "ENOSPC", errno: -28 });
    const err = new Error("write failed", { cause: root });
    const back = roundTrip(err);
    expect(back).toBeInstanceOf(Error);
    expect(back.message).toBe("write failed");
    expect(back.stack).toBe(err.stack);
    const cause = back.cause as Error & { code: string; errno: number };
    expect(cause).toBeInstanceOf(Error);
    expect(cause.message).toBe("disk");
    expect(cause.code).toBe("ENOSPC");
    expect(cause.errno).toBe(-28);
    expect(cause.stack).toBe(root.stack);
  });

  test("a TaskError is rebuilt as TaskError with its code and cause", () => {
    const inner = new TypeError("x is not a function");
    const back = roundTrip(new TaskError("f() (pid=1, node=n1) failed", { cause: inner }));
    expect(back).toBeInstanceOf(TaskError);
    expect(back).toBeInstanceOf(RaytsError);
    expect(back.code).toBe("ERR_TASK");
    expect(back.name).toBe("TaskError");
    expect(back.cause).toBeInstanceOf(TypeError);
    expect((back.cause as Error).message).toBe("x is not a function");
  });

  test("builtin errors come back as their builtin class", () => {
    const back = roundTrip([
      new RangeError("r"),
      new SyntaxError("s"),
      new AggregateError([new Error("a")], "agg"),
    ]);
    expect(back[0]).toBeInstanceOf(RangeError);
    expect(back[1]).toBeInstanceOf(SyntaxError);
    expect(back[2]).toBeInstanceOf(AggregateError);
    expect((back[2] as AggregateError).errors[0]).toBeInstanceOf(Error);
    expect((back[2] as AggregateError).errors[0].message).toBe("a");
  });

  test("a user error class arrives as Error with its name kept", () => {
    class QuotaError extends Error {
      override name = "QuotaError";
      limit = 5;
    }
    const back = roundTrip(new QuotaError("over quota")) as Error & { limit: number };
    expect(back).toBeInstanceOf(Error);
    expect(back.name).toBe("QuotaError");
    expect(back.message).toBe("over quota");
    expect(back.limit).toBe(5);
  });
});

describe("binary data", () => {
  for (const Kind of typedArrayKinds) {
    test(`${Kind.name} round trips inline and out of band`, () => {
      for (const length of [0, 5, OOB_THRESHOLD / Kind.BYTES_PER_ELEMENT + 3]) {
        const a = filled(Kind, length);
        const s = serialize(a);
        expect(s.buffers.length).toBe(a.byteLength >= OOB_THRESHOLD ? 1 : 0);
        const back = deserialize(viaFrame(s).back) as typeof a;
        expect(back).toBeInstanceOf(Kind);
        expect(back.length).toBe(length);
        expect(back).toEqual(a);
      }
    });
  }

  test("ArrayBuffer and DataView keep their type and bytes, inline and out of band", () => {
    for (const size of [3, OOB_THRESHOLD]) {
      const ab = new Uint8Array(size).map((_, i) => i % 251).buffer;
      const back = deserialize(viaFrame(serialize({ ab, dv: new DataView(ab, 1, size - 2) })).back) as {
        ab: ArrayBuffer;
        dv: DataView;
      };
      expect(back.ab).toBeInstanceOf(ArrayBuffer);
      expect(new Uint8Array(back.ab)).toEqual(new Uint8Array(ab));
      expect(back.dv).toBeInstanceOf(DataView);
      expect(back.dv.byteLength).toBe(size - 2);
      expect(back.dv.getUint8(0)).toBe(1);
    }
  });

  test("a Node Buffer arrives as a Buffer", () => {
    const back = roundTrip(Buffer.from("hello"));
    expect(Buffer.isBuffer(back)).toBe(true);
    expect(back.toString()).toBe("hello");
  });

  test("a view over a larger buffer sends only its own bytes", () => {
    const big = new Float64Array(100_000);
    big[10] = 42;
    const small = big.subarray(10, 12);
    const s = serialize(small);
    expect(s.meta.length).toBeLessThan(64);
    expect(roundTrip(small)).toEqual(new Float64Array([42, 0]));
    const large = big.subarray(10, 10 + OOB_THRESHOLD / 8);
    expect(serialize(large).buffers[0]!.byteLength).toBe(OOB_THRESHOLD);
  });

  test("out-of-band buffers from serialize are views of the caller's memory", () => {
    const a = new Float64Array(OOB_THRESHOLD / 8);
    const s = serialize({ a });
    expect(s.buffers[0]!.buffer).toBe(a.buffer);
    expect(s.meta.length).toBeLessThan(64);
  });
});

describe("frames", () => {
  test("a frame round trips a value holding several out-of-band buffers and inline data", () => {
    const value = {
      a: new Float64Array(10_000).fill(1.25),
      b: new Uint8Array(OOB_THRESHOLD + 1).fill(7),
      c: [1, "x"],
    };
    const s = serialize(value);
    expect(s.buffers.length).toBe(2);
    expect(deserialize(viaFrame(s).back)).toEqual(value);
  });

  test("a decoded out-of-band array is a zero-copy, aligned view over the frame", () => {
    const s = serialize({ head: new Uint8Array(3), data: new Float64Array(OOB_THRESHOLD / 8).fill(1) });
    const { frame, back } = viaFrame(s);
    const { data } = deserialize(back) as { data: Float64Array };
    expect(data.buffer).toBe(frame.buffer);
    expect(data.byteOffset % 64).toBe(0);
    const offset = data.byteOffset - frame.byteOffset;
    new Float64Array(frame.buffer, frame.byteOffset + offset, 1)[0] = 99;
    expect(data[0]).toBe(99);
  });

  test("a misaligned out-of-band buffer is copied into an aligned array", () => {
    const bytes = new Uint8Array(OOB_THRESHOLD + 1);
    const s = serialize(new Float64Array(OOB_THRESHOLD / 8).fill(3));
    const shifted: Serialized = { meta: s.meta, buffers: [bytes.subarray(1)] };
    bytes.set(new Uint8Array(s.buffers[0]!.buffer), 1);
    const back = deserialize(shifted) as Float64Array;
    expect(back[0]).toBe(3);
    expect(back.byteOffset % 8).toBe(0);
  });

  test("deserializeFrame reads small frames in place and others through readFrame, alike", () => {
    const values: unknown[] = [
      1,
      "text",
      { a: [1, undefined, new Map([[1, { d: new Date(5) }]])], s: "é".repeat(40), n: -1.5, b: 2n ** 70n },
      new Uint8Array(10).fill(3),
      { big: new Float64Array(OOB_THRESHOLD / 8).fill(2), tail: [true, null] },
    ];
    for (const value of values) {
      const s = serialize(value);
      const frame = new Uint8Array(frameSize(s));
      writeFrame(s, frame);
      expect(deserializeFrame(frame)).toEqual(deserialize(readFrame(frame)));
      expect(deserializeFrame(frame)).toEqual(value);
    }
  });

  test("deserializeFrame refuses a small frame whose meta is cut short or runs on", () => {
    const s = serialize({ a: [1, 2, 3], b: "xyz" });
    const frame = new Uint8Array(frameSize(s));
    writeFrame(s, frame);
    // The header claims one byte less of meta: the value runs past it.
    const short = frame.slice();
    short[8] = (short[8] as number) - 1;
    expect(() => deserializeFrame(short)).toThrow(/malformed data at byte \d+ of \d+/);
    // The header claims one byte more than the frame holds.
    const long = frame.slice();
    long[8] = (long[8] as number) + 1;
    expect(() => deserializeFrame(long)).toThrow(/truncated/);
  });

  test("readFrame rejects bytes that are not a frame", () => {
    expect(() => readFrame(new Uint8Array(32))).toThrow(SerializationError);
  });

  test("the meta is valid MessagePack that a generic reader can walk", () => {
    const s = serialize({ a: [1, undefined, new Map([[1, 2]])], b: new Float64Array(OOB_THRESHOLD / 8) });
    expect(() => new MsgpackDecoder().decode(s.meta)).not.toThrow();
  });
});

describe("ObjectRef and ActorHandle", () => {
  test("an ObjectRef round trips as an ObjectRef with its id and owner", () => {
    const back = roundTrip(new ObjectRef("ab12", "10.0.0.1:6380"));
    expect(back).toBeInstanceOf(ObjectRef);
    expect(back.id).toBe("ab12");
    expect(back.owner).toBe("10.0.0.1:6380");
  });

  test("onRef is called for every ref, nested three deep in arrays, objects and maps", () => {
    const refs = ["a", "b", "c", "d"].map((id) => new ObjectRef(id));
    const value = [refs[0], { x: [refs[1], new Map([["k", { y: refs[2] }]])] }, new Set([refs[3]])];
    const seen: string[] = [];
    serialize(value, "args", { onRef: (r) => seen.push(r.id) });
    expect(seen).toEqual(["a", "b", "c", "d"]);
  });

  test("makeRef builds every decoded ref", () => {
    const made: string[] = [];
    const hooks: CodecHooks = {
      makeRef: (id, owner) => {
        made.push(`${id}@${owner}`);
        return new ObjectRef(id.toUpperCase(), owner);
      },
    };
    const back = roundTrip({ deep: [[new ObjectRef("ff", "o")]] }, hooks);
    expect(made).toEqual(["ff@o"]);
    expect(back.deep[0]![0]!.id).toBe("FF");
  });

  test("an ActorHandle behind a Proxy travels as its state and is rebuilt by makeActorHandle", () => {
    const state = { actorId: "a1b2", methods: ["inc"], owner: "" };
    let reads = 0;
    const handle = new Proxy(() => {}, {
      get(_target, key) {
        reads++;
        if (key === ACTOR_HANDLE_STATE) return state;
        throw new Error(`unexpected read of ${String(key)}`);
      },
      getPrototypeOf() {
        throw new Error("unexpected getPrototypeOf");
      },
    });
    const plain = roundTrip({ h: handle });
    expect(plain.h as unknown).toEqual(state);
    const rebuilt = roundTrip([handle], { makeActorHandle: (s) => ({ rebuilt: s.actorId }) });
    expect(rebuilt[0] as unknown).toEqual({ rebuilt: "a1b2" });
    expect(reads).toBe(2);
  });
});

describe("values that cannot be serialized", () => {
  test("a function nested in an object inside the argument list names its path", () => {
    expect(serializationMessage([1, { cb: () => 1 }])).toBe(
      "Cannot serialize a function at args[1].cb: pass data, not functions; define the function in a remote task instead",
    );
  });

  test("a symbol inside a Map value names the Map key in its path", () => {
    expect(serializationMessage({ m: new Map([["k", Symbol("s")]]) }, "value")).toStartWith(
      'Cannot serialize a symbol at value.m.get("k"): ',
    );
  });

  test("a Promise inside an array tells the user to await it", () => {
    expect(serializationMessage([[Promise.resolve(1)]], "return value")).toBe(
      "Cannot serialize a Promise at return value[0][0]: await it and pass the result, or pass an ObjectRef instead",
    );
  });

  test("a net.Socket is refused as a live object", () => {
    const socket = new net.Socket();
    expect(serializationMessage({ conn: { socket } })).toStartWith(
      "Cannot serialize a Socket at args.conn.socket: ",
    );
    socket.destroy();
  });

  test("a Bun socket is refused as a live object", async () => {
    const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const socket = await Bun.connect({ hostname: "127.0.0.1", port: server.port, socket: { data() {} } });
    try {
      expect(serializationMessage([socket])).toMatch(
        /^Cannot serialize a \w+ at args\[0\]: it is a live object/,
      );
    } finally {
      socket.end();
      server.stop(true);
    }
  });

  test("host objects such as Request, Bun.file, streams and weak collections are refused", () => {
    const cases: [unknown, string][] = [
      [new Request("http://localhost/"), "args.r: "],
      [Bun.file("/nonexistent"), "args.r: "],
      [new ReadableStream(), "args.r: "],
      [new MessageChannel().port1, "args.r: "],
      [new WeakMap(), "args.r: weak references"],
      [new WeakRef({}), "args.r: weak references"],
    ];
    for (const [value, where] of cases) {
      expect(serializationMessage({ r: value })).toContain(where);
    }
  });

  test("a symbol or function used as a Map key names the key's position", () => {
    expect(
      serializationMessage(
        new Map<unknown, number>([
          [1, 1],
          [() => {}, 2],
        ]),
      ),
    ).toStartWith("Cannot serialize a function at args.keys()[1]: ");
  });

  test("a value inside a Set, an Error cause and an odd key gets a readable path", () => {
    expect(serializationMessage({ s: new Set([1, () => {}]) })).toStartWith(
      "Cannot serialize a function at args.s.values()[1]",
    );
    expect(serializationMessage(new Error("e", { cause: { f: () => {} } }))).toStartWith(
      "Cannot serialize a function at args.cause.f",
    );
    expect(serializationMessage({ "my key": Symbol() })).toStartWith(
      'Cannot serialize a symbol at args["my key"]',
    );
  });

  test("a cycle is refused with the path where it closes and what it points back to", () => {
    const a: Record<string, unknown> = { list: [] };
    (a.list as unknown[]).push({ parent: a });
    expect(serializationMessage({ a }, "value")).toBe(
      "Cannot serialize a cycle at value.a.list[0].parent: it refers back to value.a; remove the back reference or pass an id instead",
    );
  });

  test("nesting deeper than the limit is refused with a hint to flatten", () => {
    let deep: unknown = 1;
    for (let i = 0; i < 5000; i++) deep = [deep];
    const message = serializationMessage(deep, "value");
    expect(message).toStartWith("Cannot serialize value at value[0][0]");
    expect(message).toEndWith("[0][0]: it is nested more than 1000 levels deep; flatten the structure");
    expect(message.length).toBeLessThan(300);
  });

  test("the encoder is usable again after a failure", () => {
    expect(() => serialize({ f() {} })).toThrow(SerializationError);
    expect(roundTrip({ ok: [1, 2] })).toEqual({ ok: [1, 2] });
  });

  test("errors thrown by a getter pass through unchanged", () => {
    const o = {
      get boom(): number {
        throw new RangeError("getter failed");
      },
    };
    expect(() => serialize(o)).toThrow("getter failed");
  });
});

describe("reentrancy", () => {
  test("a hook may serialize and deserialize while another call is running", () => {
    const inner: unknown[] = [];
    const s = serialize([new ObjectRef("r1"), "after"], "args", {
      onRef: () => inner.push(deserialize(serialize({ nested: true }))),
    });
    expect(inner).toEqual([{ nested: true }]);
    const back = deserialize(s, {
      makeRef: (id) => {
        inner.push(roundTrip([id]));
        return new ObjectRef(id);
      },
    }) as unknown[];
    expect(back[1]).toBe("after");
    expect(inner[1]).toEqual(["r1"]);
  });
});
