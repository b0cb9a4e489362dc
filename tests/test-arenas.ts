/**
 * Shared-memory arenas of a unit test file: each one made here is closed and unlinked after its
 * test, and after the file's tests none named with the file's prefix is left in /dev/shm.
 */
import { afterAll, afterEach, expect } from "bun:test";
import { readdirSync } from "node:fs";
import { ShmArena } from "../src/store/shm-arena.ts";

export interface TestArenas {
  /** What every arena's name starts with (after the leading slash). */
  readonly prefix: string;
  /** A fresh arena of `capacity` bytes, closed and unlinked after the test. */
  create(capacity: number): ShmArena;
}

/** Registers the file's clean-up hooks; call once, at the top of the file. */
export function testArenas(prefix: string): TestArenas {
  const open: ShmArena[] = [];
  let counter = 0;
  afterEach(() => {
    for (const arena of open.splice(0)) {
      arena.close();
      arena.unlink();
    }
  });
  afterAll(() => {
    expect(readdirSync("/dev/shm").filter((name) => name.startsWith(prefix))).toEqual([]);
  });
  return {
    prefix,
    create(capacity: number): ShmArena {
      const arena = ShmArena.create(`/${prefix}${counter++}`, capacity);
      open.push(arena);
      return arena;
    },
  };
}
