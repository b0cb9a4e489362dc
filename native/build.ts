/**
 * Builds the object store's C allocator and its transfer thread into `native/build/librayts_store.so` with the system `cc`.
 * Run it directly (`bun native/build.ts`) or import {@link buildNative} from the project build.
 */
import { mkdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

const nativeDir = import.meta.dir;
const sources = ["rayts_store.c", "rayts_store.h", "rayts_fetch.c", "rayts_fetch.h"].map((file) =>
  join(nativeDir, file),
);

/** Path of the built shared library, whether or not it exists yet. */
export const nativeLibPath: string = join(nativeDir, "build", "librayts_store.so");

function mtime(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return -1;
  }
}

/**
 * Compiles the allocator unless the `.so` is newer than every source, and returns the `.so` path.
 *
 * @example
 * const lib = await buildNative(); // ".../native/build/librayts_store.so"
 */
export async function buildNative(): Promise<string> {
  const built = mtime(nativeLibPath);
  if (built >= 0 && sources.every((source) => mtime(source) < built)) return nativeLibPath;
  mkdirSync(join(nativeDir, "build"), { recursive: true });
  // Compile beside the target and rename, so a process loading the library never sees half a file.
  const partial = `${nativeLibPath}.${process.pid}.tmp`;
  const args = [
    "cc",
    "-O2",
    "-Wall",
    "-shared",
    "-fPIC",
    "-o",
    partial,
    ...["rayts_store.c", "rayts_fetch.c"].map((file) => join(nativeDir, file)),
  ];
  const compile = (): Promise<{ exitCode: number; stderr: string }> => {
    const proc = Bun.spawn([...args, "-lpthread", "-lrt"], { stdout: "ignore", stderr: "pipe" });
    return Promise.all([proc.exited, new Response(proc.stderr).text()]).then(([exitCode, stderr]) => ({
      exitCode,
      stderr,
    }));
  };
  let result: { exitCode: number; stderr: string };
  try {
    result = await compile();
  } catch (error) {
    throw new Error("Cannot build the native object store: no `cc` on PATH; install a C compiler", {
      cause: error,
    });
  }
  if (result.exitCode !== 0) {
    rmSync(partial, { force: true });
    throw new Error(
      `Cannot build the native object store: cc exited with ${result.exitCode}; fix the error below\n${result.stderr}`,
    );
  }
  renameSync(partial, nativeLibPath);
  return nativeLibPath;
}

if (import.meta.main) {
  console.log(await buildNative());
}
