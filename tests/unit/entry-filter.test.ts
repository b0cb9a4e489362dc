import { describe, expect, test } from "bun:test";
import { depthAt, driverCodeHolder, stripDriverCode } from "../../src/runtime/entry-filter.ts";

/** The non-blank lines of the filtered source, trimmed. */
function kept(source: string): string[] {
  return stripDriverCode(source)
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "");
}

describe("stripDriverCode", () => {
  test("keeps imports, declarations, functions and classes and blanks calls and prints", () => {
    const src = [
      'import { get, remote } from "rayts";',
      "const LIMIT = 3;",
      'console.log("driver");',
      "function helper(x: number) { return x + LIMIT; }",
      "const f = remote((x: number) => helper(x));",
      "class A { m() { return 1; } }",
      "main();",
      "export const g = 1;",
    ].join("\n");
    expect(kept(src)).toEqual([
      'import { get, remote } from "rayts";',
      "const LIMIT = 3;",
      "function helper(x: number) { return x + LIMIT; }",
      "const f = remote((x: number) => helper(x));",
      "class A { m() { return 1; } }",
      "export const g = 1;",
    ]);
  });

  test("keeps every line and column where they were, so stack traces and function sources match", () => {
    const src = "foo();\nconst a = 1;\nbar(`x\ny`);\nconst b = 2;\n";
    const out = stripDriverCode(src);
    expect(out.length).toBe(src.length);
    expect(out.split("\n").length).toBe(src.split("\n").length);
    expect(out.indexOf("const b")).toBe(src.indexOf("const b"));
  });

  test("blanks if, for and try blocks with their else, catch and finally parts", () => {
    const src = [
      "if (import.meta.main) {",
      "  run();",
      "} else {",
      "  other();",
      "}",
      "for (const x of xs) { use(x); }",
      "try { a(); } catch { b(); } finally { c(); }",
      "const kept = 1;",
    ].join("\n");
    expect(kept(src)).toEqual(["const kept = 1;"]);
  });

  test("handles scripts without semicolons, multi-line chains and top-level await", () => {
    const src = [
      "const f = remote(async () => 1)",
      "  .options({ numCpus: 1 })",
      "await init()",
      "let n = 0",
      "n++",
      "const g = (x: number) =>",
      "  x * 2",
    ].join("\n");
    expect(kept(src)).toEqual([
      "const f = remote(async () => 1)",
      ".options({ numCpus: 1 })",
      "let n = 0",
      "const g = (x: number) =>",
      "x * 2",
    ]);
  });

  test("is not fooled by braces and semicolons inside strings, templates, regexes and comments", () => {
    const src = [
      'const a = "};{";',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: source text under test
      "const b = `${'}'}; ${`${1}`}`;",
      "const c = /[};]/.test(a); // } ;",
      "/* } */ const d = 1 / 2 / 3;",
      'log("}");',
    ].join("\n");
    expect(kept(src)).toEqual([
      'const a = "};{";',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: source text under test
      "const b = `${'}'}; ${`${1}`}`;",
      "const c = /[};]/.test(a); // } ;",
      "/* } */ const d = 1 / 2 / 3;",
    ]);
  });

  test("keeps async functions, exported classes, enums and type declarations", () => {
    const src = [
      "async function main() { await go(); }",
      "export default class B {}",
      "enum E { A, B }",
      "type T = { a: number };",
      "interface I { b: string }",
      "main();",
    ].join("\n");
    expect(kept(src)).toEqual([
      "async function main() { await go(); }",
      "export default class B {}",
      "enum E { A, B }",
      "type T = { a: number };",
      "interface I { b: string }",
    ]);
  });
});

describe("depthAt", () => {
  test("tells a top-level call from one inside a function body", () => {
    const src = "const f = remote(() => 1);\nfunction make() { return remote(() => 2); }\n";
    expect(depthAt(src, src.indexOf("remote"))).toBe(0);
    expect(depthAt(src, src.lastIndexOf("remote"))).toBe(1);
  });
});

describe("declarations that drive work", () => {
  test("a declaration that awaits at its top level is driver code and is blanked; submissions stay", () => {
    const src = [
      "const f = remote(async () => await get(x));",
      "const r = f.remote(1);",
      "const v = await get(r);",
      "const [a, b] = await Promise.all([p, q]);",
      "const g = remote((x: number) => f.remote(x));",
      "const chained = f.options({ numCpus: 1 }).remote(2);",
      "const later = remote(() => v);",
    ].join("\n");
    expect(kept(src)).toEqual([
      "const f = remote(async () => await get(x));",
      "const r = f.remote(1);",
      "const g = remote((x: number) => f.remote(x));",
      "const chained = f.options({ numCpus: 1 }).remote(2);",
      "const later = remote(() => v);",
    ]);
  });
});

describe("driverCodeHolder", () => {
  test("wraps exactly the blanked statements in a never-called async function that parses", () => {
    const src = [
      'import { basename } from "node:path";',
      "const LIMIT = 3;",
      "if (import.meta.main) {",
      "  console.log(basename(`a/` + LIMIT))",
      "}",
      "const r = await main()",
      "function main() { return 1; }",
    ].join("\n");
    const holder = driverCodeHolder(src, "held");
    expect(holder).toContain("console.log(basename(`a/` + LIMIT))");
    expect(holder).toContain("const r = await main()");
    expect(holder).not.toContain("const LIMIT");
    expect(holder).not.toContain("function main");
    // The stripped script plus the holder is still one valid module.
    const transpiled = new Bun.Transpiler({ loader: "ts" }).transformSync(stripDriverCode(src) + holder);
    expect(transpiled).toContain("async function held()");
    expect(transpiled).toContain('from "node:path"');
  });

  test("copies an if/else if/else chain without braces in one piece", () => {
    const src = [
      "const mode = process.argv[2];",
      'if (mode === "a") run("a");',
      'else if (mode === "b") run("b");',
      "else throw new Error(mode);",
    ].join("\n");
    const holder = driverCodeHolder(src, "held");
    expect(holder).toContain('if (mode === "a") run("a");\nelse if (mode === "b") run("b");\nelse throw');
    expect(() =>
      new Bun.Transpiler({ loader: "ts" }).transformSync(stripDriverCode(src) + holder),
    ).not.toThrow();
  });

  test("is empty when the script has no driver code", () => {
    expect(driverCodeHolder("const a = 1;\nfunction f() {}\n", "held")).toBe("");
  });
});
