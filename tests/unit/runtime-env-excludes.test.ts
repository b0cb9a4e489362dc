import { describe, expect, test } from "bun:test";
import { compileExcludes } from "../../src/runtime-env/excludes.ts";

describe("runtimeEnv.excludes patterns", () => {
  test("a name without a slash matches at any depth; * stays within a segment", () => {
    const ex = compileExcludes(["*.log", "# a comment", ""]);
    expect(ex("a.log", false)).toBe(true);
    expect(ex("deep/er/b.log", false)).toBe(true);
    expect(ex("a.log.txt", false)).toBe(false);
    expect(ex("logs/a.txt", false)).toBe(false);
  });

  test("a slash anchors at the root; a trailing slash matches directories only; ** crosses segments", () => {
    const ex = compileExcludes(["/build", "cache/", "docs/**/*.md"]);
    expect(ex("build", true)).toBe(true);
    expect(ex("src/build", true)).toBe(false);
    expect(ex("cache", true)).toBe(true);
    expect(ex("x/cache", true)).toBe(true);
    expect(ex("cache", false)).toBe(false);
    expect(ex("docs/a.md", false)).toBe(true);
    expect(ex("docs/x/y/a.md", false)).toBe(true);
    expect(ex("src/a.md", false)).toBe(false);
  });

  test("! re-includes; the last matching pattern decides", () => {
    const ex = compileExcludes(["*.log", "!keep.log"]);
    expect(ex("drop.log", false)).toBe(true);
    expect(ex("keep.log", false)).toBe(false);
    expect(ex("a/keep.log", false)).toBe(false);
  });
});
