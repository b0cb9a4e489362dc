import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { ShmArena } from "../../src/store/shm-arena.ts";
import { testArenas } from "../test-arenas.ts";

const arenas = testArenas(`rayts_test_${process.pid}_`);

/** A fresh arena that is closed and unlinked after the test. */
function makeArena(capacity = 64 * 1024): ShmArena {
  return arenas.create(capacity);
}

/** Fills the arena with blocks of `size` until alloc() returns -1. */
function fill(arena: ShmArena, size: number): number[] {
  const offsets: number[] = [];
  for (let offset = arena.alloc(size); offset !== -1; offset = arena.alloc(size)) offsets.push(offset);
  return offsets;
}

describe("ShmArena", () => {
  test("alloc() returns an offset that free() gives back, leaving the arena empty again", () => {
    const arena = makeArena();
    const empty = arena.stats();
    const offset = arena.alloc(1000);
    expect(offset).toBeGreaterThanOrEqual(0);
    expect(arena.stats().allocations).toBe(1);
    arena.free(offset);
    expect(arena.stats()).toEqual(empty);
    arena.check();
  });

  test("every allocation is 64-byte aligned and none overlap", () => {
    const arena = makeArena();
    const sizes = [1, 7, 40, 63, 64, 65, 1000, 0, 4096];
    const offsets = sizes.map((size) => arena.alloc(size));
    offsets.forEach((offset, i) => {
      expect(offset % 64).toBe(0);
      arena.view(offset, sizes[i]!).fill(i + 1);
      expect(arena.usableSize(offset)).toBeGreaterThanOrEqual(sizes[i]!);
    });
    offsets.forEach((offset, i) => {
      expect(arena.view(offset, sizes[i]!).every((byte) => byte === i + 1)).toBe(true);
    });
    arena.check();
  });

  test("freeing both neighbours of a block coalesces them so one large alloc() fits again", () => {
    const arena = makeArena();
    const whole = arena.stats().largestFree;
    const third = Math.floor(whole / 3) - 64;
    const [a, b, c] = [arena.alloc(third), arena.alloc(third), arena.alloc(third)];
    expect(arena.alloc(third)).toBe(-1);
    arena.free(a);
    arena.free(c);
    expect(arena.stats().freeBlocks).toBe(2);
    arena.free(b);
    expect(arena.stats()).toMatchObject({ freeBlocks: 1, largestFree: whole, used: 0 });
    expect(arena.alloc(whole)).toBeGreaterThanOrEqual(0);
    arena.check();
  });

  test("a checkerboard of frees makes a large alloc() fail although enough bytes are free", () => {
    const arena = makeArena();
    const blocks = fill(arena, 1000);
    for (let i = 0; i < blocks.length; i += 2) arena.free(blocks[i]!);
    const stats = arena.stats();
    const totalFree = stats.capacity - stats.used;
    expect(totalFree).toBeGreaterThan(10 * 2000);
    expect(stats.largestFree).toBeGreaterThanOrEqual(1000);
    expect(stats.largestFree).toBeLessThan(2000);
    expect(stats.freeBlocks).toBeGreaterThanOrEqual(Math.floor(blocks.length / 2));
    expect(arena.alloc(2000)).toBe(-1);
    expect(arena.alloc(1000)).toBeGreaterThanOrEqual(0);
    arena.check();
  });

  test("a full arena returns -1 instead of throwing", () => {
    const arena = makeArena();
    expect(arena.alloc(arena.capacity)).toBe(-1);
    expect(arena.alloc(2 ** 40)).toBe(-1);
    const blocks = fill(arena, 100);
    expect(blocks.length).toBeGreaterThan(100);
    fill(arena, 1);
    expect(arena.alloc(1)).toBe(-1);
    expect(arena.stats()).toMatchObject({ largestFree: 0, freeBlocks: 0 });
    arena.free(blocks[5]!);
    expect(arena.alloc(100)).toBe(blocks[5]!);
    arena.check();
  });

  test("free() throws on a double free and on offsets that are not live allocations", () => {
    const arena = makeArena();
    const a = arena.alloc(500);
    const b = arena.alloc(500);
    arena.free(a);
    expect(() => arena.free(a)).toThrow(/already free|not a live allocation/);
    expect(() => arena.free(b + 1)).toThrow(/not a live allocation/);
    expect(() => arena.free(b + 64)).toThrow(/not a live allocation/);
    expect(() => arena.free(arena.capacity + 64)).toThrow(/not a live allocation/);
    expect(() => arena.free(-64)).toThrow(RangeError);
    arena.free(b);
    expect(() => arena.free(b)).toThrow(/already free|not a live allocation/);
    expect(arena.stats()).toMatchObject({ allocations: 0, freeBlocks: 1 });
    arena.check();
  });

  test("free() rejects the offset of a block that was merged into a newer allocation", () => {
    const arena = makeArena();
    const a = arena.alloc(100);
    const b = arena.alloc(100);
    arena.free(a);
    arena.free(b);
    const big = arena.alloc(1000);
    expect(big).toBe(a);
    expect(() => arena.free(b)).toThrow(/not a live allocation/);
    arena.check();
  });

  test("stats() counts capacity, used bytes and live allocations", () => {
    const arena = makeArena(1024 * 1024);
    expect(arena.stats()).toMatchObject({ capacity: 1024 * 1024, used: 0, allocations: 0, freeBlocks: 1 });
    const offsets = [10, 100, 1000].map((size) => arena.alloc(size));
    const stats = arena.stats();
    expect(stats.allocations).toBe(3);
    // Each block carries 24 bytes of tags and is rounded up to 64 bytes.
    expect(stats.used).toBe(64 + 128 + 1024);
    expect(stats.largestFree).toBeLessThan(stats.capacity - stats.used);
    for (const offset of offsets) arena.free(offset);
    expect(arena.stats()).toMatchObject({ used: 0, allocations: 0 });
  });

  test("bytes written through one view are seen through another view and a slice", () => {
    const arena = makeArena();
    const offset = arena.alloc(64);
    arena.view(offset, 64).set([1, 2, 3], 10);
    expect(Array.from(arena.view(offset + 10, 3))).toEqual([1, 2, 3]);
    expect(Array.from(arena.slice(offset + 10, 3))).toEqual([1, 2, 3]);
    arena.copyInto(offset, new Uint8Array([9, 9]));
    expect(Array.from(arena.view(offset, 2))).toEqual([9, 9]);
  });

  test("view() is backed by a buffer holding only its own bytes", () => {
    const arena = makeArena();
    const offset = arena.alloc(100);
    const view = arena.view(offset, 100);
    expect(view.buffer.byteLength).toBe(100);
    expect(view.byteOffset).toBe(0);
    expect(() => arena.view(arena.capacity - 10, 11)).toThrow(RangeError);
  });

  test("random allocs and frees keep every block's bytes and the heap consistent", () => {
    const arena = makeArena(256 * 1024);
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const live = new Map<number, { size: number; tag: number }>();
    for (let step = 0; step < 3000; step++) {
      if (live.size > 0 && random(3) === 0) {
        const keys = [...live.keys()];
        const offset = keys[random(keys.length)]!;
        const { size, tag } = live.get(offset)!;
        expect(arena.slice(offset, size).every((byte) => byte === tag)).toBe(true);
        arena.free(offset);
        live.delete(offset);
      } else {
        const size = 1 + random(random(4) === 0 ? 20000 : 300);
        const offset = arena.alloc(size);
        if (offset === -1) continue;
        const tag = step % 251;
        arena.slice(offset, size).fill(tag);
        live.set(offset, { size, tag });
      }
    }
    arena.check();
    expect(arena.stats().allocations).toBe(live.size);
    for (const offset of live.keys()) arena.free(offset);
    expect(arena.stats()).toMatchObject({ used: 0, freeBlocks: 1 });
  });

  test("create() refuses a name that exists and attach() a name that does not", () => {
    const arena = makeArena();
    expect(() => ShmArena.create(arena.name, 64 * 1024)).toThrow(/already exists/);
    expect(() => ShmArena.attach(`/${arenas.prefix}missing`)).toThrow(/does not exist/);
    expect(() => ShmArena.create("no-slash", 64 * 1024)).toThrow(/invalid/);
    expect(() => ShmArena.create(`/${arenas.prefix}huge`, 2 ** 50)).toThrow(/free \/dev\/shm/);
  });

  test("a closed arena throws instead of touching unmapped memory", () => {
    const arena = makeArena();
    const second = ShmArena.attach(arena.name);
    second.close();
    second.close();
    expect(() => second.alloc(10)).toThrow(/closed/);
    expect(arena.alloc(10)).toBeGreaterThanOrEqual(0);
  });

  test("a process that dies holding the lock leaves the arena usable for the next one", async () => {
    const arena = makeArena();
    const kept = arena.alloc(100);
    const child = Bun.spawn(
      [process.execPath, join(import.meta.dir, "../fixtures/shm-die-holding-lock.ts"), arena.name],
      { stdout: "inherit", stderr: "inherit", env: { PATH: process.env.PATH ?? "" } },
    );
    expect(await child.exited).toBe(0);
    arena.check();
    expect(arena.alloc(100)).toBeGreaterThanOrEqual(0);
    expect(arena.stats().allocations).toBe(3);
    arena.free(kept);
    arena.check();
  });

  test("another process attaches by name, sees the bytes and can allocate", async () => {
    const arena = makeArena();
    const offset = arena.alloc(4);
    arena.view(offset, 4).set([5, 6, 7, 8]);
    const child = Bun.spawn(
      [
        process.execPath,
        join(import.meta.dir, "../fixtures/shm-attach-child.ts"),
        arena.name,
        `${offset}`,
        "4",
      ],
      { stdout: "pipe", stderr: "inherit", env: { PATH: process.env.PATH ?? "" } },
    );
    const [out, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
    expect(code).toBe(0);
    const reply = JSON.parse(out) as { seen: number[]; offset: number };
    expect(reply.seen).toEqual([5, 6, 7, 8]);
    expect(arena.view(reply.offset, 256).every((byte) => byte === 0xab)).toBe(true);
    expect(arena.stats().allocations).toBe(2);
    arena.free(reply.offset);
    arena.check();
  });

  test("a worker thread opens the arena from its header address, sees the bytes and can allocate", async () => {
    const arena = makeArena();
    const offset = arena.alloc(3);
    arena.view(offset, 3).set([1, 2, 3]);
    const worker = new Worker(new URL("../fixtures/shm-worker.ts", import.meta.url));
    try {
      const reply = await new Promise<{ seen: number[]; offset: number; name: string }>((resolve, reject) => {
        worker.onmessage = (event) => resolve(event.data);
        worker.onerror = (event) => reject(new Error(event.message));
        worker.postMessage({ address: arena.headerAddress, offset, length: 3 });
      });
      expect(reply.seen).toEqual([1, 2, 3]);
      expect(reply.name).toBe(arena.name);
      expect(arena.view(reply.offset, 256).every((byte) => byte === 0xcd)).toBe(true);
      // The worker's close() leaves the mapping to this thread.
      expect(arena.stats().allocations).toBe(2);
    } finally {
      worker.terminate();
    }
  });
});
