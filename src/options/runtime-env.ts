import type { OptionKind } from "./_check.ts";
import * as check from "./_check.ts";
import type { RuntimeEnv } from "./types.ts";

/** A validated, deeply frozen {@link RuntimeEnv}: only the keys given, each checked for shape. */
export type CompiledRuntimeEnv = {
  readonly envVars?: Readonly<Record<string, string>>;
  readonly workingDir?: string;
  readonly excludes?: readonly string[];
  readonly packages?: readonly string[];
  readonly config?: { readonly setupTimeoutMs?: number };
};

const KEYS = ["envVars", "workingDir", "excludes", "packages", "config"] as const;
const CONFIG_KEYS = ["setupTimeoutMs"] as const;

/**
 * Checks the shape of a runtime environment (types, unknown keys) and returns a frozen copy. It does
 * not look at the file system or the registry: building the environment happens on the node.
 */
export function compileRuntimeEnv(kind: OptionKind, value: unknown): CompiledRuntimeEnv {
  const key = "runtimeEnv";
  const env = check.object(kind, key, value);
  check.knownKeys(kind, key, env, KEYS);
  const given = check.given(env as RuntimeEnv);
  const out: {
    -readonly [K in keyof CompiledRuntimeEnv]: CompiledRuntimeEnv[K];
  } = {};
  if (given.envVars !== undefined) {
    const vars = check.object(kind, `${key}.envVars`, given.envVars);
    const copy: Record<string, string> = {};
    for (const [name, v] of Object.entries(vars)) {
      if (name === "" || name.includes("=")) {
        throw new TypeError(
          `${check.label(kind, `${key}.envVars`)} has an invalid variable name ${JSON.stringify(name)}: use a non-empty name without "="`,
        );
      }
      if (typeof v !== "string") {
        throw new TypeError(
          `${check.label(kind, `${key}.envVars.${name}`)} must be a string: got ${check.describe(v)}`,
        );
      }
      copy[name] = v;
    }
    out.envVars = Object.freeze(copy);
  }
  if (given.workingDir !== undefined)
    out.workingDir = check.string(kind, `${key}.workingDir`, given.workingDir);
  if (given.excludes !== undefined) out.excludes = check.stringArray(kind, `${key}.excludes`, given.excludes);
  if (given.packages !== undefined) out.packages = check.stringArray(kind, `${key}.packages`, given.packages);
  if (given.config !== undefined) {
    const config = check.object(kind, `${key}.config`, given.config);
    check.knownKeys(kind, `${key}.config`, config, CONFIG_KEYS);
    const timeout = config.setupTimeoutMs;
    out.config = Object.freeze(
      timeout === undefined
        ? {}
        : { setupTimeoutMs: check.positive(kind, `${key}.config.setupTimeoutMs`, timeout) },
    );
  }
  return Object.freeze(out);
}
