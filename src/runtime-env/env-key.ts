/**
 * Which runtime environments need a worker-host process, and the cheap key that tells them apart in
 * scheduling classes and worker pools (computed from the options alone, no file system access).
 */
import type { CompiledRuntimeEnv } from "../options/runtime-env.ts";

const keys = new WeakMap<object, string>();

/** Whether work with this environment must run outside the node's own process (cwd or packages). */
export function needsHost(env: CompiledRuntimeEnv | undefined): env is CompiledRuntimeEnv {
  return env !== undefined && (env.workingDir !== undefined || (env.packages?.length ?? 0) > 0);
}

/**
 * A key equal for equal `workingDir`/`excludes`/`packages` (envVars and config left out: they do
 * not change the process), or undefined for the default environment.
 */
export function envKey(env: CompiledRuntimeEnv | undefined): string | undefined {
  if (!needsHost(env)) return undefined;
  let key = keys.get(env);
  if (key === undefined) {
    const text = JSON.stringify([env.workingDir ?? null, env.excludes ?? [], env.packages ?? []]);
    key = new Bun.CryptoHasher("sha256").update(text).digest("hex").slice(0, 16);
    keys.set(env, key);
  }
  return key;
}

/** The suffix a task's scheduling class gets so leases never mix environments ("" by default). */
export function envShapeSuffix(env: CompiledRuntimeEnv | undefined): string {
  const key = envKey(env);
  return key === undefined ? "" : `|env=${key}`;
}
