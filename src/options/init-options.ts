import * as check from "./_check.ts";
import { type CompiledRuntimeEnv, compileRuntimeEnv } from "./runtime-env.ts";
import type { InitOptions } from "./types.ts";

/**
 * {@link InitOptions} after validation: frozen, only the keys given, amounts rounded to the resource
 * granularity and `runtimeEnv` compiled. Defaults stay unfilled because they depend on the
 * environment (`RAYTS_ADDRESS`, detected cores and GPUs), which is the runtime's to read.
 */
export type ValidatedInitOptions = Readonly<Omit<InitOptions, "resources" | "runtimeEnv">> & {
  readonly resources?: Readonly<Record<string, number>>;
  readonly runtimeEnv?: CompiledRuntimeEnv;
};

const KEYS = [
  "address",
  "token",
  "numCpus",
  "numGpus",
  "resources",
  "objectStoreMemory",
  "namespace",
  "runtimeEnv",
  "logToDriver",
] as const satisfies readonly (keyof InitOptions)[];

// host:port, with the host a name, an IPv4 address or a bracketed IPv6 address.
const ADDRESS = /^(?:\[[0-9a-fA-F:.]+\]|[^\s:/[\]@]+):(\d{1,5})$/;

function address(value: unknown): string {
  const text = check.string("init", "address", value);
  if (text === "auto") return text;
  const port = ADDRESS.exec(text)?.[1];
  if (port === undefined || Number(port) > 65535) {
    throw new TypeError(
      `${check.label("init", "address")} must be "host:port" or "auto": got ${check.describe(text)}; e.g. "10.0.0.1:6380"`,
    );
  }
  return text;
}

/**
 * Checks `init` options (unknown keys with a suggestion, types, ranges) and returns a frozen,
 * normalised copy. Throws a `TypeError` naming the key, or a `RangeError` for bad numbers.
 *
 * @example
 * validateInitOptions({ numCpus: 4, objectStoreMemory: 2 ** 30 });
 */
/** The smallest object store worth having (the allocator needs a few pages of its own). */
const MIN_STORE = 1024 * 1024;

export function validateInitOptions(opts: InitOptions | undefined): ValidatedInitOptions {
  if (opts === undefined) return Object.freeze({});
  const raw = check.object("init", undefined, opts);
  check.knownKeys("init", undefined, raw, KEYS);
  const given = check.given(raw as InitOptions);
  const out: Record<string, unknown> = {};
  if (given.address !== undefined) out.address = address(given.address);
  if (given.token !== undefined) out.token = check.string("init", "token", given.token);
  if (given.numCpus !== undefined) out.numCpus = check.amount("init", "numCpus", given.numCpus);
  // A node's GPUs are devices, so the count is whole.
  if (given.numGpus !== undefined) out.numGpus = check.integer("init", "numGpus", given.numGpus, 0);
  if (given.resources !== undefined) out.resources = check.resources("init", "resources", given.resources);
  if (given.objectStoreMemory !== undefined) {
    const bytes = check.positiveInteger("init", "objectStoreMemory", given.objectStoreMemory);
    out.objectStoreMemory = bytes;
    if (bytes < MIN_STORE) {
      throw new RangeError(
        `init() objectStoreMemory is ${bytes} bytes: give at least ${MIN_STORE} (1 MiB); it is the size of the shared-memory object store in bytes`,
      );
    }
  }
  if (given.namespace !== undefined) out.namespace = check.string("init", "namespace", given.namespace);
  if (given.runtimeEnv !== undefined) out.runtimeEnv = compileRuntimeEnv("init", given.runtimeEnv);
  if (given.logToDriver !== undefined)
    out.logToDriver = check.boolean("init", "logToDriver", given.logToDriver);
  return Object.freeze(out) as ValidatedInitOptions;
}
