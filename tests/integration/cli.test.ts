import { describe, expect, test } from "bun:test";
import { copyFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { RAYTS_BIN, runCommand, runRayts, runScript, tempDir, writeScript } from "../harness.ts";

const FIXTURES = join(import.meta.dir, "..", "fixtures");

describe("rayts command line", () => {
  test("--version prints the package version", async () => {
    const { code, stdout } = await runRayts(["--version"]);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe("rayts 0.1.0");
  });

  test("help lists run and types", async () => {
    const { code, stdout } = await runRayts(["help"]);
    expect(code).toBe(0);
    expect(stdout).toContain("run");
    expect(stdout).toContain("types");
    expect((await runRayts(["--help"])).stdout).toBe(stdout);
  });

  test("help run shows the usage of run", async () => {
    const { code, stdout } = await runRayts(["help", "run"]);
    expect(code).toBe(0);
    expect(stdout).toContain("Usage: rayts run");
  });

  test("types prints the declarations of module rayts", async () => {
    const { code, stdout } = await runRayts(["types"]);
    expect(code).toBe(0);
    expect(stdout).toContain('declare module "rayts"');
    expect(stdout).toMatch(/export (declare )?function isInitialized\(\): boolean/);
  });

  test("an unknown command exits 2 with a reason and a pointer to help", async () => {
    const { code, stderr } = await runRayts(["frobnicate"]);
    expect(code).toBe(2);
    expect(stderr).toContain("Unknown command: frobnicate");
    expect(stderr).toContain("rayts help");
  });

  test("a command that is not built yet is an unknown command", async () => {
    const { code, stderr } = await runRayts(["list"]);
    expect(code).toBe(2);
    expect(stderr).toContain("Unknown command: list");
  });

  test("an unknown flag exits 2", async () => {
    const { code, stderr } = await runRayts(["--frob", "x.ts"]);
    expect(code).toBe(2);
    expect(stderr).toContain("Unknown flag: --frob");
  });

  test("a flag where a flag's value belongs exits 2 saying the flag needs a value", async () => {
    const cases: [string[], string][] = [
      [["status", "--address", "--detach"], "--address needs a value"],
      [["status", "--token", "--format", "json"], "--token needs a value"],
      [["--address", "--token", "x.ts"], "--address needs a value"],
      [["head", "--port", "--detach"], "--port needs a value"],
      [["node", "--join", "--detach"], "--join needs a value"],
      [["stop", "--grace-period", "--force"], "--grace-period needs a value"],
      [["microbenchmark", "--filter", "--json"], "--filter needs a value"],
    ];
    for (const [args, reason] of cases) {
      const { code, stderr } = await runRayts(args);
      expect({ args, code }).toEqual({ args, code: 2 });
      expect(stderr.trim().split("\n")).toHaveLength(1);
      expect(stderr).toContain(reason);
    }
  });

  test("down takes --yes like up: a missing cluster file is the error, not the flag", async () => {
    await using dir = tempDir();
    const { code, stderr } = await runRayts(["down", join(dir.path, "none.yaml"), "--yes"]);
    expect(code).toBe(1);
    expect(stderr).not.toContain("Unknown flag");
    expect(stderr).toContain("none.yaml");
    expect((await runRayts(["down", "--yes"])).stderr).toContain("Missing CLUSTER.yaml");
  });

  test("run without a file exits 2", async () => {
    const { code, stderr } = await runRayts(["run"]);
    expect(code).toBe(2);
    expect(stderr).toContain("Missing script");
  });

  test("a script that does not exist exits 2", async () => {
    const { code, stderr } = await runRayts(["no-such-script.ts"]);
    expect(code).toBe(2);
    expect(stderr).toContain("Script not found: no-such-script.ts");
  });
});

describe("running a script", () => {
  test("the script sees its arguments and its absolute path in process.argv", async () => {
    await using dir = tempDir();
    const path = writeScript(dir.path, "args.ts", "console.log(JSON.stringify(process.argv.slice(1)));");
    const { code, stdout } = await runRayts([path, "a", "--b", "c d"], { cwd: dir.path });
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual([path, "a", "--b", "c d"]);
  });

  test("rayts run accepts .mjs and .js scripts, and --address connects before the script runs", async () => {
    await using dir = tempDir();
    writeScript(dir.path, "a.mjs", "console.log('ran');");
    const { code, stdout, stderr } = await runRayts(["run", "--address", "127.0.0.1:1", "a.mjs"], {
      cwd: dir.path,
    });
    expect(code).toBe(1);
    expect(stdout).not.toContain("ran");
    expect(stderr).toContain("Cannot connect to 127.0.0.1:1: Cannot reach 127.0.0.1:1");
    const js = await runScript(dir.path, "b.js", "console.log('js ok');");
    expect(js.stdout.trim()).toBe("js ok");
  });

  test("process.exitCode becomes the exit code", async () => {
    await using dir = tempDir();
    expect((await runScript(dir.path, "c.ts", "process.exitCode = 3;")).code).toBe(3);
  });

  test("process.exit(n) exits with n", async () => {
    await using dir = tempDir();
    const { code, stdout } = await runScript(dir.path, "e.ts", "console.log('before'); process.exit(4);");
    expect(code).toBe(4);
    expect(stdout.trim()).toBe("before");
  });

  test("a throwing script exits 1 and prints the error with its stack", async () => {
    await using dir = tempDir();
    const source = "function explode() { throw new Error('The reactor melted'); }\nexplode();\n";
    const { code, stderr } = await runScript(dir.path, "throw.ts", source);
    expect(code).toBe(1);
    expect(stderr).toContain("The reactor melted");
    expect(stderr).toContain("explode");
  });

  test("an unhandled rejection after a timer exits 1", async () => {
    await using dir = tempDir();
    const source = "setTimeout(() => { Promise.reject(new TypeError('Late failure')); }, 20);\n";
    const { code, stderr } = await runScript(dir.path, "reject.ts", source);
    expect(code).toBe(1);
    expect(stderr).toContain("Late failure");
  });

  test("an async main().catch() script is not cut short while it awaits a timer", async () => {
    await using dir = tempDir();
    const source = `async function main() {
  await new Promise((resolve) => setTimeout(resolve, 200));
  console.log("done waiting");
}
main().catch((error) => { console.error(error); process.exitCode = 1; });
`;
    const { code, stdout } = await runScript(dir.path, "main.ts", source);
    expect(code).toBe(0);
    expect(stdout.trim()).toBe("done waiting");
  });

  test("a shebang script with the run bit runs directly when rayts is on PATH", async () => {
    await using dir = tempDir();
    const job = join(dir.path, "job.ts");
    copyFileSync(join(FIXTURES, "cli-shebang-job.ts"), job);
    const { chmodSync } = await import("node:fs");
    chmodSync(job, 0o755);
    const env = { PATH: `${dirname(RAYTS_BIN)}:${process.env.PATH ?? ""}` };
    const { code, stdout, stderr } = await runCommand(["./job.ts", "x", "y"], { cwd: dir.path, env });
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ args: ["x", "y"], main: true });
  });

  test("a script imports module rayts from a directory without node_modules", async () => {
    await using dir = tempDir();
    const source = `import { isInitialized, ObjectRef, RaytsError } from "rayts";
console.log(JSON.stringify({ init: isInitialized(), ref: typeof ObjectRef, error: typeof RaytsError }));
`;
    const { code, stdout, stderr } = await runScript(dir.path, "uses-rayts.ts", source);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(JSON.parse(stdout)).toEqual({ init: false, ref: "function", error: "function" });
  });

  test("a script imports its own npm package from its node_modules", async () => {
    await using dir = tempDir();
    writeScript(
      dir.path,
      "package.json",
      JSON.stringify({ name: "job", type: "module", dependencies: { somepkg: "1.0.0" } }),
    );
    writeScript(
      dir.path,
      "node_modules/somepkg/package.json",
      JSON.stringify({ name: "somepkg", version: "1.0.0", main: "index.js" }),
    );
    writeScript(dir.path, "node_modules/somepkg/index.js", 'exports.greet = (name) => "hello " + name;\n');
    const source = `import { greet } from "somepkg";\nimport { isInitialized } from "rayts";\nconsole.log(greet("rayts"), isInitialized());\n`;
    const { code, stdout, stderr } = await runScript(dir.path, "src/job.ts", source);
    expect(stderr).toBe("");
    expect(code).toBe(0);
    expect(stdout.trim()).toBe("hello rayts false");
  });
});
