import { describe, expect, test } from "bun:test";
import {
  compileActorOptions,
  compileMethodOptions,
  compileTaskOptions,
  validateInitOptions,
} from "../../src/options/compile.ts";
import type { TaskOptions } from "../../src/options/types.ts";

/** Passes deliberately wrong options past the type checker. */
function loose(opts: Record<string, unknown>): TaskOptions {
  return opts as TaskOptions;
}

describe("task options", () => {
  test("defaults are filled and the demand is one CPU", () => {
    const o = compileTaskOptions(undefined);
    expect(o).toEqual({
      numCpus: 1,
      numGpus: 0,
      memory: 0,
      resources: {},
      numReturns: 1,
      maxRetries: 3,
      retryExceptions: false,
      runtimeEnv: undefined,
      scheduling: "DEFAULT",
      name: undefined,
      demand: { CPU: 1 },
    });
  });

  test("the compiled options and their parts are frozen", () => {
    const o = compileTaskOptions({ resources: { accel: 1 }, retryExceptions: ["NetError"] });
    expect(Object.isFrozen(o)).toBe(true);
    expect(Object.isFrozen(o.demand)).toBe(true);
    expect(Object.isFrozen(o.resources)).toBe(true);
    expect(Object.isFrozen(o.retryExceptions)).toBe(true);
  });

  test("the demand gathers CPU, GPU, memory and custom resources, leaving out zeros", () => {
    const o = compileTaskOptions({
      numCpus: 0.5,
      numGpus: 0.25,
      memory: 2048,
      resources: { accel: 2, idle: 0 },
    });
    expect(o.demand).toEqual({ CPU: 0.5, GPU: 0.25, memory: 2048, accel: 2 });
    expect(compileTaskOptions({ numCpus: 0 }).demand).toEqual({});
  });

  test(".options() merges over the base with later keys winning", () => {
    const base = compileTaskOptions({ numCpus: 2, name: "train", resources: { a: 1 } });
    const refined = compileTaskOptions({ maxRetries: 0, resources: { b: 1 } }, base);
    expect(refined.numCpus).toBe(2);
    expect(refined.name).toBe("train");
    expect(refined.maxRetries).toBe(0);
    expect(refined.resources).toEqual({ b: 1 });
    expect(refined.demand).toEqual({ CPU: 2, b: 1 });
    expect(compileTaskOptions({ numCpus: 4 }, refined).maxRetries).toBe(0);
  });

  test("an undefined option means not given and keeps the base value", () => {
    const base = compileTaskOptions({ name: "f" });
    expect(compileTaskOptions({ name: undefined }, base).name).toBe("f");
  });

  test("a base that was not compiled is refused", () => {
    const fake = { ...compileTaskOptions(undefined) };
    expect(() => compileTaskOptions({}, fake)).toThrow(/not compiled/);
  });

  test("an unknown option suggests the closest name and lists the valid ones", () => {
    expect(() => compileTaskOptions(loose({ numCpu: 1 }))).toThrow(
      /^Unknown task option "numCpu": did you mean "numCpus"\? Valid options: numCpus, numGpus/,
    );
    expect(() => compileTaskOptions(loose({ gpus: 1 }))).toThrow(/did you mean "numGpus"/);
    expect(() => compileTaskOptions(loose({ zzzzzz: 1 }))).toThrow(
      /^Unknown task option "zzzzzz": Valid options/,
    );
    expect(() => compileTaskOptions(loose({ numCpu: 1 }))).toThrow(TypeError);
  });

  test("options that are not an object are a TypeError", () => {
    expect(() => compileTaskOptions(loose([] as unknown as Record<string, unknown>))).toThrow(
      /^Task options must be a plain object: got an array/,
    );
  });

  test("a wrong type is a TypeError naming the key", () => {
    expect(() => compileTaskOptions(loose({ numCpus: "2" }))).toThrow(
      /^Task option "numCpus" must be a number: got string "2"/,
    );
    expect(() => compileTaskOptions(loose({ name: 5 }))).toThrow(/"name" must be a string/);
    expect(() => compileTaskOptions(loose({ name: "" }))).toThrow(/"name" must not be empty/);
    expect(() => compileTaskOptions(loose({ retryExceptions: "yes" }))).toThrow(/"retryExceptions"/);
    expect(() => compileTaskOptions(loose({ retryExceptions: [1] }))).toThrow(/"retryExceptions\[0\]"/);
    expect(() => compileTaskOptions(loose({ resources: [1] }))).toThrow(/"resources" must be a plain object/);
  });

  test("negative, NaN and infinite amounts are a RangeError naming the key", () => {
    for (const bad of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => compileTaskOptions({ numCpus: bad })).toThrow(RangeError);
      expect(() => compileTaskOptions({ numCpus: bad })).toThrow(/"numCpus"/);
    }
    expect(() => compileTaskOptions({ memory: -5 })).toThrow(/"memory"/);
    expect(() => compileTaskOptions({ resources: { accel: -1 } })).toThrow(/"resources.accel"/);
  });

  test("resources may not name CPU or GPU and say which option to use", () => {
    expect(() => compileTaskOptions({ resources: { CPU: 1 } })).toThrow(
      /must not contain "CPU": use the numCpus option/,
    );
    expect(() => compileTaskOptions({ resources: { GPU: 1 } })).toThrow(/use the numGpus option/);
    expect(() => compileTaskOptions({ resources: { memory: 1 } })).toThrow(/use the memory option/);
  });

  test("amounts are rounded to the 0.0001 granularity", () => {
    expect(compileTaskOptions({ numCpus: 0.12344 }).numCpus).toBe(0.1234);
    expect(compileTaskOptions({ numCpus: 0.12346 }).numCpus).toBe(0.1235);
    expect(compileTaskOptions({ resources: { a: 1.00001 } }).resources).toEqual({ a: 1 });
    expect(compileTaskOptions({ memory: 10.6 }).memory).toBe(11);
  });

  test("a nonzero amount below the granularity is an error", () => {
    expect(() => compileTaskOptions({ numCpus: 0.00004 })).toThrow(
      /^Task option "numCpus" is below the granularity/,
    );
  });

  test("fractional GPUs above one must be whole", () => {
    expect(compileTaskOptions({ numGpus: 0.5 }).numGpus).toBe(0.5);
    expect(compileTaskOptions({ numGpus: 2 }).numGpus).toBe(2);
    expect(() => compileTaskOptions({ numGpus: 1.5 })).toThrow(/"numGpus" above 1 must be a whole number/);
  });

  test("numReturns and maxRetries must be integers in range", () => {
    expect(() => compileTaskOptions({ numReturns: 0 })).toThrow(/"numReturns" must be an integer ≥ 1/);
    expect(() => compileTaskOptions({ numReturns: 1.5 })).toThrow(RangeError);
    expect(() => compileTaskOptions({ maxRetries: -2 })).toThrow(/"maxRetries" must be an integer ≥ -1/);
    expect(compileTaskOptions({ maxRetries: -1 }).maxRetries).toBe(-1);
  });

  test("retryExceptions takes a boolean or error names, and an empty list means false", () => {
    expect(compileTaskOptions({ retryExceptions: true }).retryExceptions).toBe(true);
    expect(compileTaskOptions({ retryExceptions: ["TypeError"] }).retryExceptions).toEqual(["TypeError"]);
    expect(compileTaskOptions({ retryExceptions: [] }).retryExceptions).toBe(false);
  });

  test("scheduling strategies are checked and their defaults filled", () => {
    const pg = { id: "abc123" };
    expect(compileTaskOptions({ scheduling: "SPREAD" }).scheduling).toBe("SPREAD");
    expect(compileTaskOptions({ scheduling: { nodeId: "ABCDEF" } }).scheduling).toEqual({
      nodeId: "abcdef",
      soft: false,
    });
    const inGroup = compileTaskOptions({ scheduling: { placementGroup: pg } }).scheduling;
    expect(inGroup).toEqual({ placementGroup: pg, bundleIndex: -1, captureChildTasks: false });
    expect((inGroup as { placementGroup: unknown }).placementGroup).toBe(pg);
  });

  test("bad scheduling strategies name what is wrong", () => {
    const pg = { id: "abc123" };
    expect(() => compileTaskOptions(loose({ scheduling: "PACK" }))).toThrow(
      /"scheduling" must be "DEFAULT", "SPREAD"/,
    );
    expect(() => compileTaskOptions({ scheduling: { nodeId: "not-hex" } })).toThrow(
      /"scheduling.nodeId" must be a hex/,
    );
    expect(() => compileTaskOptions({ scheduling: { placementGroup: pg, bundleIndex: -2 } })).toThrow(
      /"scheduling.bundleIndex" must be an integer ≥ -1/,
    );
    expect(() => compileTaskOptions(loose({ scheduling: { placementGroup: {} } }))).toThrow(
      /"scheduling.placementGroup" must be a placement group/,
    );
    expect(() => compileTaskOptions(loose({ scheduling: { nodeId: "ab", sofft: true } }))).toThrow(
      /Unknown key "sofft" in task option "scheduling": did you mean "soft"\?/,
    );
  });

  test("runtime environments are checked for shape only", () => {
    const env = {
      envVars: { A: "1" },
      workingDir: ".",
      excludes: ["*.log"],
      packages: ["lodash@4"],
      config: { setupTimeoutMs: 1000 },
    };
    const o = compileTaskOptions({ runtimeEnv: env });
    expect(o.runtimeEnv).toEqual(env);
    expect(Object.isFrozen(o.runtimeEnv?.envVars)).toBe(true);
    const bad = (runtimeEnv: unknown) => () => compileTaskOptions(loose({ runtimeEnv }));
    expect(bad({ envVars: { A: 1 } })).toThrow(/"runtimeEnv.envVars.A" must be a string/);
    expect(bad({ envVar: {} })).toThrow(
      /Unknown key "envVar" in task option "runtimeEnv": did you mean "envVars"/,
    );
    expect(bad({ excludes: "x" })).toThrow(/"runtimeEnv.excludes" must be an array of strings/);
    expect(bad({ packages: [""] })).toThrow(/"runtimeEnv.packages\[0\]" must not be empty/);
    expect(bad({ config: { setupTimeoutMs: 0 } })).toThrow(
      /"runtimeEnv.config.setupTimeoutMs" must be a finite number > 0/,
    );
  });
});

describe("actor options", () => {
  test("a default actor needs one CPU to be placed and holds none while alive", () => {
    const o = compileActorOptions(undefined);
    expect(o.numCpus).toBe(1);
    expect(o.numCpusWhileAlive).toBe(0);
    expect(o.placementDemand).toEqual({ CPU: 1 });
    expect(o.demand).toEqual({});
    expect(o).toMatchObject({
      numGpus: 0,
      memory: 0,
      resources: {},
      getIfExists: false,
      lifetime: "non_detached",
      maxRestarts: 0,
      maxTaskRetries: 0,
      maxConcurrency: 1,
      maxPendingCalls: -1,
      scheduling: "DEFAULT",
    });
    expect(o.name).toBeUndefined();
    expect(o.namespace).toBeUndefined();
    expect(Object.isFrozen(o)).toBe(true);
  });

  test("an actor given resources holds exactly them for its whole life", () => {
    const cpus = compileActorOptions({ numCpus: 2 });
    expect(cpus.placementDemand).toEqual({ CPU: 2 });
    expect(cpus.demand).toEqual({ CPU: 2 });
    const gpu = compileActorOptions({ numGpus: 1 });
    expect(gpu.numCpus).toBe(0);
    expect(gpu.demand).toEqual({ GPU: 1 });
    expect(gpu.placementDemand).toEqual({ GPU: 1 });
  });

  test("refining an actor with .options() keeps earlier keys", () => {
    const base = compileActorOptions({ name: "hits", numCpus: 1 });
    const o = compileActorOptions({ lifetime: "detached", maxRestarts: -1 }, base);
    expect(o).toMatchObject({ name: "hits", lifetime: "detached", maxRestarts: -1, demand: { CPU: 1 } });
  });

  test("getIfExists requires a name", () => {
    expect(() => compileActorOptions({ getIfExists: true })).toThrow(/"getIfExists" needs "name"/);
    expect(compileActorOptions({ getIfExists: true, name: "a" }).getIfExists).toBe(true);
  });

  test("actor limits are checked and name their key", () => {
    expect(() => compileActorOptions({ maxConcurrency: 0 })).toThrow(
      /^Actor option "maxConcurrency" must be an integer ≥ 1/,
    );
    expect(() => compileActorOptions({ maxPendingCalls: 0 })).toThrow(
      /"maxPendingCalls" must be an integer ≥ 1 \(or -1\)/,
    );
    expect(compileActorOptions({ maxPendingCalls: 5 }).maxPendingCalls).toBe(5);
    expect(() => compileActorOptions({ maxRestarts: -3 })).toThrow(/"maxRestarts"/);
    expect(() => compileActorOptions({ maxTaskRetries: 0.5 })).toThrow(/"maxTaskRetries"/);
    expect(() => compileActorOptions({ lifetime: "forever" as "detached" })).toThrow(
      /"lifetime" must be "detached" or "non_detached": got string "forever"/,
    );
  });

  test("task-only options are unknown to actors", () => {
    expect(() => compileActorOptions({ maxRetries: 1 } as never)).toThrow(
      /^Unknown actor option "maxRetries": did you mean "maxTaskRetries"/,
    );
  });
});

describe("method options", () => {
  test("methods default to one return and merge like tasks", () => {
    const base = compileMethodOptions(undefined);
    expect(base).toEqual({ numReturns: 1, name: undefined });
    expect(compileMethodOptions({ numReturns: 2 }, base)).toEqual({ numReturns: 2, name: undefined });
    expect(() => compileMethodOptions({ numCpus: 1 } as never)).toThrow(/Unknown method option "numCpus"/);
  });
});

describe("init options", () => {
  test("valid init options come back frozen and normalised", () => {
    const o = validateInitOptions({
      address: "10.0.0.1:6380",
      numCpus: 4,
      numGpus: 1,
      resources: { accel: 2 },
      objectStoreMemory: 2 ** 20,
      namespace: "jobs",
      logToDriver: false,
    });
    expect(o).toEqual({
      address: "10.0.0.1:6380",
      numCpus: 4,
      numGpus: 1,
      resources: { accel: 2 },
      objectStoreMemory: 2 ** 20,
      namespace: "jobs",
      logToDriver: false,
    });
    expect(Object.isFrozen(o)).toBe(true);
    expect(validateInitOptions(undefined)).toEqual({});
    expect(validateInitOptions({ address: "auto" }).address).toBe("auto");
    expect(validateInitOptions({ address: "[::1]:80" }).address).toBe("[::1]:80");
  });

  test("bad init options name the key", () => {
    expect(() => validateInitOptions({ numCpu: 2 } as never)).toThrow(
      /^Unknown init option "numCpu": did you mean "numCpus"/,
    );
    expect(() => validateInitOptions({ address: "localhost" })).toThrow(
      /^Init option "address" must be "host:port" or "auto"/,
    );
    expect(() => validateInitOptions({ address: "h:70000" })).toThrow(/"address"/);
    expect(() => validateInitOptions({ objectStoreMemory: 0 })).toThrow(
      /"objectStoreMemory" must be an integer ≥ 1/,
    );
    expect(() => validateInitOptions({ objectStoreMemory: 1.5 })).toThrow(RangeError);
    expect(() => validateInitOptions({ numGpus: 0.5 })).toThrow(/"numGpus"/);
    expect(() => validateInitOptions({ resources: { CPU: 2 } })).toThrow(/use the numCpus option/);
    expect(() => validateInitOptions({ logToDriver: "yes" } as never)).toThrow(
      /"logToDriver" must be true or false/,
    );
    expect(() => validateInitOptions({ token: "" })).toThrow(/"token" must not be empty/);
    expect(() => validateInitOptions({ runtimeEnv: { workingDir: 1 } } as never)).toThrow(
      /^Init option "runtimeEnv.workingDir" must be a string/,
    );
  });
});

describe("init objectStoreMemory floor", () => {
  test("an object store below 1 MiB is refused with the size in the message", () => {
    expect(() => validateInitOptions({ objectStoreMemory: 10 })).toThrow(
      /objectStoreMemory is 10 bytes: give at least 1048576/,
    );
  });
});
