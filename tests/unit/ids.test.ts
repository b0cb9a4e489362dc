/**
 * Ids: task ids are 20 hex chars and unique, object ids are the task id plus the return index as 8
 * hex chars (beyond the precomputed suffixes too), and the task id comes back from an object id.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { newPutId, newTaskId, objectIdFor, taskIdOf } from "../../src/runtime/ids.ts";

setDefaultTimeout(10_000);

describe("ids", () => {
  test("task ids are 20 hex chars, unique and increasing within a thread", () => {
    const ids = Array.from({ length: 300 }, () => newTaskId());
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{20}$/);
    expect(new Set(ids).size).toBe(ids.length);
    const prefix = (ids[0] as string).slice(0, 10);
    const counters = ids.map((id) => {
      expect(id.slice(0, 10)).toBe(prefix);
      return Number.parseInt(id.slice(10), 16);
    });
    for (let i = 1; i < counters.length; i++) expect(counters[i]).toBe((counters[i - 1] as number) + 1);
  });

  test("object ids are the task id and the index as 8 hex chars", () => {
    const task = newTaskId();
    for (const index of [0, 1, 9, 15, 16, 63, 64, 255, 4096, 0xffffffff]) {
      const id = objectIdFor(task, index);
      expect(id).toBe(task + index.toString(16).padStart(8, "0"));
      expect(taskIdOf(id)).toBe(task);
    }
    expect(newPutId()).toMatch(/^[0-9a-f]{20}00000000$/);
  });
});
