/**
 * remote() of functions and classes written inside `if (import.meta.main) { … }` or `main()`: they
 * reach their module's imports, helpers and top-level constants on the worker (API.md "Where your
 * code runs"), and only a closure over the enclosing function's locals fails, naming the local.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { type RunResult, runScript, tempDir, writeScript } from "../harness.ts";

setDefaultTimeout(120_000);

/** What a clear "cannot reach the worker" error says to do. */
const FIX = /import\.meta\.main|top level|above/;

/** The JSON a script printed on its `RESULT ` line; fails with the run's output when there is none. */
function resultOf<T>(run: RunResult): T {
  const line = run.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (line === undefined) {
    throw new Error(`The script printed no RESULT line (exit ${run.code})\n${run.stdout}\n${run.stderr}`);
  }
  return JSON.parse(line.slice("RESULT ".length)) as T;
}

/** A helper module the scripts import a remote function from. */
const LIB = `import { extname } from "node:path";
const MARK = "#";
function mark(text: string): string {
  return MARK + text;
}
export function kindOf(path: string): string {
  return mark(extname(path));
}
`;

/** Module-level code every script shares: imports, a constant, a helper, a function, a class. */
const HEADER = `import { basename } from "node:path";
import { get, getRuntimeContext, remote } from "rayts";
import { kindOf } from "./lib.ts";

const SUFFIX = "!";
function shout(text: string): string {
  return text.toUpperCase() + SUFFIX;
}
function where(path: string) {
  return { node: typeof getRuntimeContext().nodeId, name: shout(basename(path)) };
}
class Counter {
  n = 0;
  add(path: string): string {
    this.n += 1;
    return shout(basename(path)) + this.n;
  }
}
`;

/** Driver code that makes every remote() inside a block and prints one RESULT line. */
const BODY = `
  const inline = remote((path: string) => shout(basename(path)));
  class Local {
    name(path: string): string {
      return shout(basename(path)) + SUFFIX;
    }
  }
  const counter = remote(Counter).remote();
  const local = remote(Local).remote();
  const base = 5;
  const closure = remote((x: number) => x + base);
  let closed: { value?: number; error?: string };
  try {
    closed = { value: await get(closure.remote(1)) };
  } catch (err) {
    closed = { error: (err as Error).message };
  }
  console.log(\`RESULT \${JSON.stringify({
    where: await get(remote(where).remote("/a/b.txt")),
    inline: await get(inline.remote("/c/d.txt")),
    imported: await get(remote(kindOf).remote("/e/f.csv")),
    counter: [await get(counter.add.remote("/g/h")), await get(counter.add.remote("/g/i"))],
    local: await get(local.name.remote("/j/k")),
    closed,
  })}\`);
`;

interface Outcome {
  where: { node: string; name: string };
  inline: string;
  imported: string;
  counter: string[];
  local: string;
  closed: { value?: number; error?: string };
}

async function runDriver(driver: string): Promise<RunResult> {
  await using dir = tempDir();
  writeScript(dir.path, "lib.ts", LIB);
  return await runScript(dir.path, "job.ts", HEADER + driver);
}

/** What every variant must print: everything runs except the closure over `base`. */
function expectModuleBindings(run: RunResult): void {
  expect(run.code).toBe(0);
  const out = resultOf<Outcome>(run);
  expect(out.where).toEqual({ node: "string", name: "B.TXT!" });
  expect(out.inline).toBe("D.TXT!");
  expect(out.imported).toBe("#.csv");
  expect(out.counter).toEqual(["H!1", "I!2"]);
  expect(out.local).toBe("K!!");
  expect(out.closed.value).toBeUndefined();
  expect(out.closed.error).toContain('"base"');
  expect(out.closed.error).toMatch(FIX);
}

describe("remote() inside driver code uses the module's bindings", () => {
  test("inside if (import.meta.main): functions, classes and an imported function reach the module's imports, helpers and constants", async () => {
    const run = await runDriver(`if (import.meta.main) {${BODY}}\n`);
    expectModuleBindings(run);
  });

  test("inside async function main(): the same, and a closure over main()'s local fails naming it", async () => {
    const run = await runDriver(`async function main(): Promise<void> {${BODY}}\n\nawait main();\n`);
    expectModuleBindings(run);
  });

  test("inside main() called after top-level driver code that awaits: the module's bindings still resolve", async () => {
    const run = await runDriver(
      `const warm = await get(remote(() => "warm").remote());
async function main(): Promise<void> {${BODY}}
console.log(warm);
await main();
`,
    );
    expect(run.stdout.split("\n")).toContain("warm");
    expectModuleBindings(run);
  });
});
