/**
 * Opens the object store's C allocator (`native/rayts_store.c`) and its transfer thread
 * (`native/rayts_fetch.c`) with bun:ffi. bun:ffi symbols belong
 * to the thread that opened them, so every worker thread opens the library itself; this module is
 * evaluated once per thread, which makes the module-level cache exactly "once per thread".
 */
import { dlopen, FFIType, type Pointer } from "bun:ffi";
import { createHash } from "node:crypto";
import { chmodSync, lstatSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
// Bun resolves this to a filesystem path in the repository and to an embedded `/$bunfs/...` path in
// a compiled binary. If it cannot be found, the library is not built yet: run `bun native/build.ts`.
// @ts-expect-error: TypeScript has no module type for `.so` files; Bun's file loader makes this a string
import libPath from "../../native/build/librayts_store.so" with { type: "file" };
import { RaytsError } from "../errors.ts";

const symbols = {
  rs_create: { args: [FFIType.ptr, FFIType.u64], returns: FFIType.ptr },
  rs_attach: { args: [FFIType.ptr], returns: FFIType.ptr },
  rs_last_error: { args: [], returns: FFIType.i32 },
  rs_last_errno: { args: [], returns: FFIType.i32 },
  rs_alloc: { args: [FFIType.ptr, FFIType.u64], returns: FFIType.i64_fast },
  rs_free: { args: [FFIType.ptr, FFIType.u64], returns: FFIType.i32 },
  rs_stats_get: { args: [FFIType.ptr, FFIType.ptr], returns: FFIType.i32 },
  rs_check: { args: [FFIType.ptr], returns: FFIType.i32 },
  rs_data: { args: [FFIType.ptr], returns: FFIType.ptr },
  rs_capacity: { args: [FFIType.ptr], returns: FFIType.u64_fast },
  rs_usable_size: { args: [FFIType.ptr, FFIType.u64], returns: FFIType.u64_fast },
  rs_name: { args: [FFIType.ptr], returns: FFIType.ptr },
  rs_debug_hold_lock: { args: [FFIType.ptr], returns: FFIType.i32 },
  rs_close: { args: [FFIType.ptr], returns: FFIType.i32 },
  rs_unlink: { args: [FFIType.ptr], returns: FFIType.i32 },
  rs_fetch_start: {
    args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.u64, FFIType.u32],
    returns: FFIType.ptr,
  },
  rs_fetch_start_into: {
    args: [FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.ptr, FFIType.u64, FFIType.u32],
    returns: FFIType.ptr,
  },
  rs_fetch_state: { args: [FFIType.ptr], returns: FFIType.i32 },
  rs_fetch_http_status: { args: [FFIType.ptr], returns: FFIType.i32 },
  rs_fetch_received: { args: [FFIType.ptr], returns: FFIType.u64_fast },
  rs_fetch_message: { args: [FFIType.ptr], returns: FFIType.ptr },
  rs_fetch_cancel: { args: [FFIType.ptr], returns: FFIType.void },
  rs_fetch_free: { args: [FFIType.ptr], returns: FFIType.i32 },
} as const;

/** The allocator's bun:ffi symbols, as opened by the current thread. */
export type NativeStore = ReturnType<typeof dlopen<typeof symbols>>["symbols"];

/** Error codes returned by the C allocator (see `native/rayts_store.h`). */
export const NativeError = {
  SYS: -1,
  EXISTS: -2,
  NOT_FOUND: -3,
  BAD_MAGIC: -4,
  VERSION: -5,
  ARG: -6,
  OFFSET: -7,
  DOUBLE_FREE: -8,
  CORRUPT: -9,
} as const;

/**
 * Narrows a bun:ffi pointer result to a number. bun:ffi may return a bigint for a pointer past 2^53;
 * user-space addresses on 64-bit Linux stay below 2^48, so a number never loses bits here.
 */
export function asPointer(value: Pointer | bigint | null): Pointer | null {
  return typeof value === "bigint" ? (Number(value) as Pointer) : value;
}

let opened: NativeStore | undefined;

/**
 * Copies a library (e.g. one embedded in a compiled binary) to a private file named after its
 * content hash under a 0700 directory in the temp dir, and returns that file's path. A file already
 * there with the same hash is reused, so concurrent processes do not fight over it.
 */
export function extractToPrivateFile(path: string): string {
  const bytes = readFileSync(path);
  const hash = createHash("sha256").update(bytes).digest("hex").slice(0, 16);
  const uid = process.getuid?.() ?? "user";
  const dir = join(tmpdir(), `rayts-native-${uid}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const info = lstatSync(dir);
  // Someone else's directory (or a symlink) here could hand us a library they wrote.
  if (!info.isDirectory() || (process.getuid && info.uid !== process.getuid())) {
    throw new RaytsError(
      `Cannot extract the native object store: ${dir} is not a private directory; remove it`,
    );
  }
  chmodSync(dir, 0o700);
  const target = join(dir, `librayts_store-${hash}.so`);
  try {
    if (lstatSync(target).size === bytes.length) return target;
  } catch {
    // Not extracted yet.
  }
  const partial = `${target}.${process.pid}.tmp`;
  writeFileSync(partial, bytes, { mode: 0o700 });
  renameSync(partial, target);
  return target;
}

function open(path: string): NativeStore {
  return dlopen(path, symbols).symbols;
}

/**
 * The allocator's symbols for this thread, opening the library on first use. In a compiled binary
 * the embedded library is copied once to a private, content-addressed file and opened from there:
 * opening it straight from Bun's virtual filesystem makes Bun unpack a fresh copy into the temp
 * directory on every open (every thread of every run) and never remove it.
 */
export function nativeStore(): NativeStore {
  if (opened) return opened;
  const embedded = libPath.startsWith("/$bunfs/");
  try {
    opened = open(embedded ? extractToPrivateFile(libPath) : libPath);
  } catch (error) {
    throw new RaytsError(
      embedded
        ? `Cannot load the native object store embedded in this binary: ${error instanceof Error ? error.message : String(error)}; check that the temp directory is writable`
        : `Cannot load the native object store: ${libPath} did not open; run \`bun native/build.ts\``,
      { cause: error },
    );
  }
  return opened;
}
