/**
 * Columnar batches and their string form: a small batch packed into one string comes back as the same
 * columns (ids, tags, every byte value), larger or mixed batches are left as arrays, and a damaged
 * string is refused with an error instead of giving wrong columns.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import {
  BlockBuilder,
  type Columns,
  forEachItem,
  packSmallBatch,
  unpackBatch,
} from "../../src/worker/task-block.ts";

setDefaultTimeout(10_000);

function id(i: number): string {
  return `task${String(i).padStart(16, "0")}`;
}

function items(cols: Columns): [string, number, number[]][] {
  const out: [string, number, number[]][] = [];
  forEachItem(cols, (taskId, tag, bytes) => out.push([taskId, tag, [...bytes]]));
  return out;
}

describe("columnar batches as strings", () => {
  test("a small batch survives the string form: ids, tags (negative too) and all 256 byte values", () => {
    const b = new BlockBuilder();
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    b.add(id(1), 3, all);
    b.add(id(2), -7, new Uint8Array(0));
    b.add(id(3), 0, Uint8Array.of(0, 255, 128, 10));
    const cols = b.take();
    for (const t of ["tasks", "calls", "results"]) {
      const packed = packSmallBatch([{ t, cols }]);
      expect(typeof packed).toBe("string");
      const [m] = unpackBatch(packed as string) as [{ t: string; cols: Columns }];
      expect(m.t).toBe(t);
      expect(items(m.cols)).toEqual(items(cols));
      expect(m.cols.data.byteOffset).toBe(0);
    }
  });

  test("a builder writes its items straight into the same string form, of any size", () => {
    for (const size of [0, 5, 300, 10_000, 3 << 20]) {
      const data = Uint8Array.from({ length: size }, (_, i) => (i * 7) & 255);
      const make = () => {
        const b = new BlockBuilder();
        b.add(id(1), 2, data);
        b.add(id(2), -1, Uint8Array.of(255, 0));
        return b;
      };
      const direct = make();
      const s = direct.takeString("calls");
      expect(direct.length).toBe(0);
      expect(s).toBe(packSmallBatch([{ t: "calls", cols: make().take() }]) as string);
      const [m] = unpackBatch(s as string) as [{ t: string; cols: Columns }];
      expect(m.t).toBe("calls");
      expect(items(m.cols)).toEqual(items(make().take()));
    }
  });

  test("a builder with no items or more than 16 makes no string and keeps its items", () => {
    expect(new BlockBuilder().takeString("tasks")).toBeUndefined();
    const big = new BlockBuilder();
    for (let i = 0; i < 17; i++) big.add(id(i), i, Uint8Array.of(i));
    expect(big.takeString("tasks")).toBeUndefined();
    expect(big.length).toBe(17);
    expect(items(big.take()).map(([taskId]) => taskId)).toEqual(Array.from({ length: 17 }, (_, i) => id(i)));
  });

  test("batches that are not one small columnar message stay arrays", () => {
    const b = new BlockBuilder();
    b.add(id(1), 1, Uint8Array.of(1));
    const cols = b.take();
    expect(
      packSmallBatch([
        { t: "tasks", cols },
        { t: "fn", idx: 1 },
      ]),
    ).toBeUndefined();
    expect(packSmallBatch([{ t: "fn", idx: 1 }])).toBeUndefined();
    expect(packSmallBatch([])).toBeUndefined();
    const big = new BlockBuilder();
    for (let i = 0; i < 100; i++) big.add(id(i), i, Uint8Array.of(i));
    expect(packSmallBatch([{ t: "tasks", cols: big.take() }])).toBeUndefined();
    const array = [{ t: "fn" }];
    expect(unpackBatch(array)).toBe(array);
  });

  test("a damaged string is an error, not wrong columns", () => {
    const b = new BlockBuilder();
    b.add(id(1), 1, Uint8Array.of(1, 2, 3));
    const packed = packSmallBatch([{ t: "results", cols: b.take() }]) as string;
    expect(() => unpackBatch(packed.slice(0, -1))).toThrow(/lengths do not match/);
    expect(() => unpackBatch(`x${packed.slice(1)}`)).toThrow(/header/);
    expect(() => unpackBatch(`r1,1;${packed.slice(packed.indexOf(";") + 1)}`)).toThrow(/header/);
    expect(() => unpackBatch(`r1,1,9;${packed.slice(packed.indexOf(";") + 1)}`)).toThrow(
      /lengths do not match/,
    );
    expect(() => unpackBatch("r")).toThrow(/header/);
  });
});
