/**
 * The object store's side of objects across nodes: borrowed entries report their first and last
 * reference to their owner and keep a fetched value as a cached copy, remote entries ask for a fetch
 * when someone waits, cached copies make room when the arena is full, and pushed blocks expire
 * unless claimed.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import type { ObjectHooks } from "../../src/store/object-store.ts";
import { ObjectStore } from "../../src/store/object-store.ts";
import type { ShmArena } from "../../src/store/shm-arena.ts";
import { testArenas } from "../test-arenas.ts";

setDefaultTimeout(10_000);
const arenas = testArenas(`rayts_test_borrowed_${process.pid}_`);

function makeStore(capacity = 256 * 1024): { store: ObjectStore; arena: ShmArena; events: string[] } {
  const arena = arenas.create(capacity);
  const store = new ObjectStore(arena);
  const events: string[] = [];
  const hooks: ObjectHooks = {
    fetch: (id) => events.push(`fetch ${id}`),
    referenced: (id, owner) => events.push(`borrow ${id}@${owner}`),
    unreferenced: (id, owner) => events.push(`release ${id}@${owner}`),
    released: (id, owner) => events.push(`released ${id}${owner === undefined ? "" : `@${owner}`}`),
    evicted: (id, owner) => events.push(`evicted ${id}@${owner}`),
  };
  store.objectHooks = hooks;
  return { store, arena, events };
}

function sealShm(store: ObjectStore, id: string, size: number): void {
  store.seal(id, { payload: { t: 1, off: store.allocShm(size), size }, err: false }, undefined);
}

describe("borrowed objects in the store", () => {
  test("the first and last reference are reported to the owner; the fetched value stays cached", () => {
    const { store, arena, events } = makeStore();
    store.expectBorrowed("x", "owner:1");
    expect(store.ownerOf("x")).toBe("owner:1");
    expect(store.isRemote("x")).toBe(true);
    store.addRef("x");
    store.addRef("x");
    expect(events).toEqual(["borrow x@owner:1"]);
    let woke = 0;
    store.onReady("x", () => woke++);
    expect(events).toEqual(["borrow x@owner:1", "fetch x"]);
    sealShm(store, "x", 1000);
    expect(woke).toBe(1);
    store.removeRef("x");
    store.removeRef("x");
    expect(events.at(-1)).toBe("release x@owner:1");
    // Unreferenced, yet still held here for other nodes to pull.
    expect(store.isReady("x")).toBe(true);
    const used = arena.stats().used;
    store.dropCopy("x");
    expect(store.isReady("x")).toBe(false);
    expect(arena.stats().used).toBeLessThan(used);
    expect(events.at(-1)).toBe("released x@owner:1");
  });

  test("free() of a referenced borrowed object tells the owner to stop counting this node", () => {
    const { store, events } = makeStore();
    store.expectBorrowed("x", "owner:1");
    store.addRef("x");
    sealShm(store, "x", 100);
    store.free("x");
    expect(events).toContain("release x@owner:1");
    expect(store.has("x")).toBe(false);
  });

  test("an owner's release while the object is referenced here drops the copy after the last reference", () => {
    const { store } = makeStore();
    store.expectBorrowed("x", "owner:1");
    store.addRef("x");
    sealShm(store, "x", 100);
    store.dropCopy("x");
    expect(store.isReady("x")).toBe(true);
    store.removeRef("x");
    expect(store.has("x")).toBe(false);
  });

  test("cached copies make room when the arena is full", () => {
    const { store, events } = makeStore(256 * 1024);
    store.expectBorrowed("x", "owner:1");
    store.addRef("x");
    sealShm(store, "x", 150 * 1024);
    store.removeRef("x");
    // 150 KiB cached of 256 KiB: another 150 KiB only fits once the cached copy goes.
    const off = store.allocShm(150 * 1024);
    expect(off).toBeGreaterThanOrEqual(0);
    expect(events).toContain("evicted x@owner:1");
    expect(store.has("x")).toBe(false);
    store.freeShm(off);
  });

  test("a referenced borrowed copy is never evicted", () => {
    const { store } = makeStore(256 * 1024);
    store.expectBorrowed("x", "owner:1");
    store.addRef("x");
    sealShm(store, "x", 150 * 1024);
    expect(() => store.allocShm(150 * 1024)).toThrow("Object store is full");
    expect(store.isReady("x")).toBe(true);
  });
});

describe("objects sealed on another node", () => {
  test("available at once, fetched only when someone waits for the value, released with its last ref", () => {
    const { store, events } = makeStore();
    store.expect("r");
    store.addRef("r");
    let available = 0;
    store.onAvailable("r", () => available++);
    expect(available).toBe(0);
    store.markRemote("r");
    expect(available).toBe(1);
    expect(store.isAvailable("r")).toBe(true);
    expect(store.isReady("r")).toBe(false);
    expect(events).toEqual([]);
    store.onReady("r", () => {});
    expect(events).toEqual(["fetch r"]);
    store.removeRef("r");
    expect(store.has("r")).toBe(false);
    expect(events.at(-1)).toBe("released r");
  });

  test("a borrowed object is available only once its value is here", () => {
    const { store, events } = makeStore();
    store.expectBorrowed("x", "owner:1");
    store.addRef("x");
    expect(store.isAvailable("x")).toBe(false);
    let available = 0;
    store.onAvailable("x", () => available++);
    expect(events).toContain("fetch x");
    sealShm(store, "x", 100);
    expect(available).toBe(1);
  });
});

describe("pushed blocks", () => {
  test("an unclaimed pushed block is freed after its time; a claimed one is kept", async () => {
    const { store, arena } = makeStore();
    const base = arena.stats().used;
    const lost = store.allocShm(1000);
    store.holdPushed(lost, 20);
    const kept = store.allocShm(1000);
    store.holdPushed(kept, 20);
    store.claimPushed(kept);
    expect(store.pushesPending).toBe(1);
    while (store.pushesPending > 0) await Bun.sleep(10);
    store.freeShm(kept);
    expect(arena.stats().used).toBe(base);
  });
});
