import { describe, expect, test } from "bun:test";
import { ObjectLostError, ObjectStoreFullError } from "../../src/errors.ts";
import type { ObjectValue } from "../../src/runtime/protocol.ts";
import { ObjectStore } from "../../src/store/object-store.ts";
import type { ShmArena } from "../../src/store/shm-arena.ts";
import { testArenas } from "../test-arenas.ts";

const arenas = testArenas(`rayts_test_store_${process.pid}_`);

/** A store over a fresh arena that is closed and unlinked after the test. */
function makeStore(capacity = 256 * 1024): { store: ObjectStore; arena: ShmArena } {
  const arena = arenas.create(capacity);
  return { store: new ObjectStore(arena), arena };
}

/** A value whose frame lives in a fresh shm block of `size` bytes. */
function shmValue(store: ObjectStore, size: number): ObjectValue {
  return { payload: { t: 1, off: store.allocShm(size), size }, err: false };
}

function inlineValue(bytes: number): ObjectValue {
  return { payload: { t: 0, bytes: new Uint8Array(bytes) }, err: false };
}

/** Stores a ready shm object holding one reference, as a `put` does. */
function putShm(store: ObjectStore, id: string, size = 1000, contained?: string[]): void {
  store.expect(id);
  store.addRef(id);
  store.seal(id, shmValue(store, size), contained);
}

describe("ObjectStore reference counting", () => {
  test("an object's shm block is freed when its last reference goes", () => {
    const { store, arena } = makeStore();
    putShm(store, "a");
    expect(store.addRef("a", 2)).toBe(true);
    expect(arena.stats().allocations).toBe(1);
    store.removeRef("a");
    store.removeRef("a");
    expect(store.isReady("a")).toBe(true);
    store.removeRef("a");
    expect(store.has("a")).toBe(false);
    expect(store.peek("a")).toBeUndefined();
    expect(arena.stats().used).toBe(0);
    expect(store.stats().objects).toBe(0);
    arena.check();
  });

  test("references can be taken on a pending object, and it is kept until its value arrives", () => {
    const { store, arena } = makeStore();
    store.expect("p");
    store.addRef("p");
    expect(store.has("p")).toBe(true);
    expect(store.isReady("p")).toBe(false);
    store.seal("p", shmValue(store, 100), undefined);
    expect(store.isReady("p")).toBe(true);
    store.removeRef("p");
    expect(arena.stats().used).toBe(0);
  });

  test("a pending object whose references all went is dropped as soon as it is sealed", () => {
    const { store, arena } = makeStore();
    store.expect("p");
    store.addRef("p");
    store.removeRef("p");
    store.seal("p", shmValue(store, 100), undefined);
    expect(store.has("p")).toBe(false);
    expect(arena.stats().used).toBe(0);
  });

  test("sealing an object twice keeps the first value and frees the second", () => {
    const { store, arena } = makeStore();
    putShm(store, "twice");
    const first = store.peek("twice");
    store.seal("twice", shmValue(store, 500), undefined);
    expect(store.peek("twice")).toBe(first);
    expect(arena.stats().allocations).toBe(1);
    store.removeRef("twice");
    expect(arena.stats().used).toBe(0);
  });

  test("addRef on an unknown or released object reports false and changes nothing", () => {
    const { store } = makeStore();
    expect(store.addRef("nope")).toBe(false);
    putShm(store, "gone");
    store.removeRef("gone");
    expect(store.addRef("gone")).toBe(false);
    expect(store.has("gone")).toBe(false);
  });

  test("inline objects count their bytes until released", () => {
    const { store } = makeStore();
    store.expect("i");
    store.addRef("i");
    store.seal("i", inlineValue(123), undefined);
    expect(store.stats().inlineBytes).toBe(123);
    store.removeRef("i");
    expect(store.stats().inlineBytes).toBe(0);
  });
});

describe("ObjectStore pins", () => {
  test("a pinned object's block outlives its last reference until the last unpin", () => {
    const { store, arena } = makeStore();
    putShm(store, "v", 4096);
    store.pin("v");
    store.pin("v");
    store.removeRef("v");
    // No reference left: the object is gone for callers, but views still read its block.
    expect(store.has("v")).toBe(false);
    expect(store.peek("v")).toBeUndefined();
    expect(arena.stats().allocations).toBe(1);
    store.unpin("v");
    expect(arena.stats().allocations).toBe(1);
    store.unpin("v");
    expect(arena.stats().used).toBe(0);
    expect(store.stats().objects).toBe(0);
    arena.check();
  });

  test("unpinning a live object keeps it; its block goes with its last reference", () => {
    const { store, arena } = makeStore();
    putShm(store, "v");
    store.pin("v");
    store.unpin("v");
    expect(store.isReady("v")).toBe(true);
    expect(arena.stats().allocations).toBe(1);
    store.removeRef("v");
    expect(arena.stats().used).toBe(0);
  });

  test("free() evicts a referenced object now, but a pinned block stays until unpinned", () => {
    const { store, arena } = makeStore();
    putShm(store, "f");
    store.addRef("f");
    store.pin("f");
    store.free("f");
    expect(store.has("f")).toBe(false);
    expect(() => store.onReady("f", () => {})).toThrow(ObjectLostError);
    expect(arena.stats().allocations).toBe(1);
    // References still held by callers are harmless after free.
    store.removeRef("f");
    store.removeRef("f");
    store.unpin("f");
    expect(arena.stats().used).toBe(0);
  });
});

describe("ObjectStore contained references", () => {
  test("an object holds a reference to every object it contains, released with it", () => {
    const { store, arena } = makeStore();
    putShm(store, "inner");
    putShm(store, "outer", 1000, ["inner"]);
    // The caller drops its own ref to inner: the container still keeps it.
    store.removeRef("inner");
    expect(store.isReady("inner")).toBe(true);
    store.removeRef("outer");
    expect(store.has("outer")).toBe(false);
    expect(store.has("inner")).toBe(false);
    expect(arena.stats().used).toBe(0);
  });

  test("contained references are released through a chain of containers", () => {
    const { store, arena } = makeStore();
    putShm(store, "c");
    putShm(store, "b", 1000, ["c"]);
    putShm(store, "a", 1000, ["b", "c"]);
    store.removeRef("c");
    store.removeRef("b");
    expect([store.has("a"), store.has("b"), store.has("c")]).toEqual([true, true, true]);
    store.removeRef("a");
    expect([store.has("a"), store.has("b"), store.has("c")]).toEqual([false, false, false]);
    expect(arena.stats().used).toBe(0);
  });

  test("a pinned container releases its contained objects when its references go, not when unpinned", () => {
    const { store } = makeStore();
    putShm(store, "inner");
    putShm(store, "outer", 1000, ["inner"]);
    store.removeRef("inner");
    store.pin("outer");
    store.removeRef("outer");
    expect(store.has("inner")).toBe(false);
    store.unpin("outer");
  });
});

describe("ObjectStore waiters", () => {
  test("onReady() calls back when the object is sealed, or at once if it is ready", () => {
    const { store } = makeStore();
    store.expect("w");
    store.addRef("w");
    const calls: string[] = [];
    store.onReady("w", () => calls.push("first"));
    store.onReady("w", () => calls.push("second"));
    expect(calls).toEqual([]);
    store.seal("w", inlineValue(8), undefined);
    expect(calls).toEqual(["first", "second"]);
    store.onReady("w", () => calls.push("ready"));
    expect(calls).toEqual(["first", "second", "ready"]);
    store.removeRef("w");
  });

  test("offReady() removes a waiter before the object is sealed", () => {
    const { store } = makeStore();
    store.expect("w");
    store.addRef("w");
    const calls: string[] = [];
    const gone = () => calls.push("gone");
    store.onReady("w", gone);
    store.onReady("w", () => calls.push("kept"));
    store.offReady("w", gone);
    store.seal("w", inlineValue(8), undefined);
    expect(calls).toEqual(["kept"]);
    store.removeRef("w");
  });

  test("an object whose last reference went while a waiter waited is handed to the waiter, then released", () => {
    const { store, arena } = makeStore();
    store.expect("w");
    store.addRef("w");
    const seen: (ObjectValue | undefined)[] = [];
    store.onReady("w", () => seen.push(store.peek("w")));
    store.removeRef("w");
    store.seal("w", shmValue(store, 100), undefined);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.payload.t).toBe(1);
    // Nothing references it any more: it must not stay in the store for good.
    expect(store.has("w")).toBe(false);
    expect(arena.stats().used).toBe(0);
  });

  test("onReady() of an unknown or released object throws ObjectLostError naming it", () => {
    const { store } = makeStore();
    expect(() => store.onReady("missing", () => {})).toThrow(ObjectLostError);
    expect(() => store.onReady("missing", () => {})).toThrow(/missing/);
    putShm(store, "released");
    store.removeRef("released");
    expect(() => store.onReady("released", () => {})).toThrow(ObjectLostError);
  });
});

describe("ObjectStore shared memory", () => {
  test("allocShm() asks the reclaim hook before failing, and succeeds when the hook frees memory", () => {
    const { store, arena } = makeStore(64 * 1024);
    putShm(store, "big", 40 * 1024);
    let reclaims = 0;
    store.reclaimHook = () => {
      reclaims++;
      store.removeRef("big");
    };
    const off = store.allocShm(40 * 1024);
    expect(reclaims).toBe(1);
    expect(off).toBeGreaterThanOrEqual(0);
    store.freeShm(off);
    expect(arena.stats().used).toBe(0);
  });

  test("allocShm() throws ObjectStoreFullError saying what to do when nothing can be reclaimed", () => {
    const { store } = makeStore(64 * 1024);
    putShm(store, "big", 40 * 1024);
    let reclaims = 0;
    store.reclaimHook = () => {
      reclaims++;
    };
    let error: unknown;
    try {
      store.allocShm(40 * 1024);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ObjectStoreFullError);
    expect((error as ObjectStoreFullError).code).toBe("ERR_OBJECT_STORE_FULL");
    expect((error as Error).message).toMatch(/^Object store is full: .*; raise objectStoreMemory/);
    expect(reclaims).toBe(1);
    // The existing object is untouched.
    expect(store.isReady("big")).toBe(true);
  });

  test("a store without shared memory refuses shm allocations with ObjectStoreFullError", () => {
    const store = new ObjectStore(undefined);
    expect(() => store.allocShm(10)).toThrow(ObjectStoreFullError);
  });

  test("clear() frees every block, pinned or not", () => {
    const { store, arena } = makeStore();
    putShm(store, "a");
    putShm(store, "b");
    store.pin("b");
    store.removeRef("b");
    store.clear();
    expect(arena.stats().used).toBe(0);
    expect(store.stats().objects).toBe(0);
    arena.check();
  });
});

describe("ObjectStore oversized objects", () => {
  test("an object larger than the whole store fails saying so, without asking the reclaim hook", () => {
    const { store } = makeStore(64 * 1024);
    let reclaims = 0;
    store.reclaimHook = () => {
      reclaims++;
    };
    expect(() => store.allocShm(1024 * 1024)).toThrow(
      /^Object is larger than the whole object store: .*raise objectStoreMemory/,
    );
    expect(reclaims).toBe(0);
  });
});
