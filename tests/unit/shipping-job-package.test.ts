/**
 * The job's package on the driver's side: which directory it is, what it leaves out, how its hash
 * follows its files, and its size limits (lowered here; the defaults are 100 and 512 MiB). The
 * package routes refuse an upload over the limit before reading its body.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Hono } from "hono";
import { PACKAGE_MAX_BYTES, packageRootOf, scanPackage } from "../../src/shipping/job-package.ts";
import { packageRoutes } from "../../src/shipping/package-routes.ts";
import { tempDir } from "../harness.ts";

setDefaultTimeout(30_000);

function write(root: string, rel: string, text: string): void {
  mkdirSync(join(root, rel, ".."), { recursive: true });
  writeFileSync(join(root, rel), text);
}

describe("the job's package", () => {
  test("its root is the nearest package.json's directory, else the script's own", () => {
    using dir = tempDir();
    write(dir.path, "proj/package.json", "{}");
    write(dir.path, "proj/src/deep/job.ts", "");
    write(dir.path, "loose/job.ts", "");
    expect(packageRootOf(join(dir.path, "proj/src/deep/job.ts"))).toBe(join(dir.path, "proj"));
    // The temp directory has no package.json above it.
    expect(packageRootOf(join(dir.path, "loose/job.ts"))).toBe(join(dir.path, "loose"));
  });

  test("node_modules, .git and .gitignore'd paths are left out; ! in .gitignore re-includes", () => {
    using dir = tempDir();
    write(dir.path, "package.json", "{}");
    write(dir.path, "job.ts", "x");
    write(dir.path, "node_modules/dep/index.js", "x");
    write(dir.path, ".git/HEAD", "x");
    write(dir.path, ".gitignore", "*.log\nbuild/\n!keep.log\n");
    write(dir.path, "a.log", "x");
    write(dir.path, "keep.log", "x");
    write(dir.path, "build/out.js", "x");
    write(dir.path, "lib/util.ts", "x");
    const pkg = scanPackage(dir.path);
    expect(pkg.files).toEqual([".gitignore", "job.ts", "keep.log", "lib/util.ts", "package.json"]);
    // .gitignore (23 bytes), job.ts, keep.log, lib/util.ts (1 each), package.json (2).
    expect(pkg.size).toBe(23 + 1 + 1 + 1 + 2);
  });

  test("a .gitignore in a subdirectory applies below it, relative to it", () => {
    using dir = tempDir();
    write(dir.path, "job.ts", "x");
    write(dir.path, "data/.gitignore", "*.bin\n/raw/\n");
    write(dir.path, "data/a.bin", "x");
    write(dir.path, "data/deep/b.bin", "x");
    write(dir.path, "data/raw/c.txt", "x");
    write(dir.path, "data/deep/raw/d.txt", "x");
    write(dir.path, "other.bin", "x");
    const pkg = scanPackage(dir.path);
    expect(pkg.files).toEqual(["data/.gitignore", "data/deep/raw/d.txt", "job.ts", "other.bin"]);
  });

  test("the hash follows the files' paths and bytes only", () => {
    using a = tempDir();
    using b = tempDir();
    for (const d of [a.path, b.path]) {
      write(d, "job.ts", "export const x = 1;\n");
      write(d, "lib/y.ts", "export const y = 2;\n");
    }
    const first = scanPackage(a.path).hash;
    expect(scanPackage(b.path).hash).toBe(first);
    write(b.path, "lib/y.ts", "export const y = 3;\n");
    expect(scanPackage(b.path).hash).not.toBe(first);
    write(a.path, "debug.log", "");
    expect(scanPackage(a.path).hash).not.toBe(first);
  });

  test("over the warning size it warns; over the limit it fails saying how to ship less", () => {
    using dir = tempDir();
    write(dir.path, "job.ts", "x".repeat(2000));
    const warnings: string[] = [];
    scanPackage(dir.path, (line) => warnings.push(line), undefined, { warn: 1000, max: 5000 });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("every node fetches it once");
    expect(() => scanPackage(dir.path, () => {}, undefined, { warn: 100, max: 1000 })).toThrow(
      /more than the .* limit; add what the job does not need to .*\.gitignore/,
    );
  });

  test("PUT /packages/:hash over the limit is refused with 413 before its body is read", async () => {
    const app = new Hono();
    packageRoutes(app, () => {});
    const res = await app.request("/packages/0123456789abcdef0123456789abcdef", {
      method: "PUT",
      headers: { "Content-Length": String(PACKAGE_MAX_BYTES + 1) },
      body: new ReadableStream({
        pull() {
          throw new Error("the body must not be read");
        },
      }),
      // biome-ignore lint/suspicious/noExplicitAny: Bun's RequestInit needs duplex for a stream body.
    } as any);
    expect(res.status).toBe(413);
    expect(((await res.json()) as { code: string }).code).toBe("ERR_PACKAGE_TOO_LARGE");
    const bad = await app.request("/packages/..%2Fetc", { method: "HEAD" });
    expect(bad.status).toBe(400);
  });
});
