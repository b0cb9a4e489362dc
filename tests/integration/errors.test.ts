import { beforeAll, describe, expect, test } from "bun:test";
import * as rayts from "../../src/index.ts";
import { type RunResult, runScript, tempDir } from "../harness.ts";

/** API.md's error table: every class with its stable code. */
const ERROR_CODES: Record<string, string> = {
  TaskError: "ERR_TASK",
  GetTimeoutError: "ERR_GET_TIMEOUT",
  ActorDiedError: "ERR_ACTOR_DIED",
  TaskCancelledError: "ERR_TASK_CANCELLED",
  WorkerCrashedError: "ERR_WORKER_CRASHED",
  ObjectLostError: "ERR_OBJECT_LOST",
  ObjectStoreFullError: "ERR_OBJECT_STORE_FULL",
  TaskUnschedulableError: "ERR_UNSCHEDULABLE",
  ActorUnschedulableError: "ERR_UNSCHEDULABLE",
  RuntimeEnvSetupError: "ERR_RUNTIME_ENV",
  SerializationError: "ERR_SERIALIZATION",
  NodeDiedError: "ERR_NODE_DIED",
};

/** The JSON a script printed on its `RESULT ` line; fails with the run's output when there is none. */
function resultOf<T>(run: RunResult): T {
  const line = run.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (line === undefined) {
    throw new Error(`The script printed no RESULT line (exit ${run.code})\n${run.stdout}\n${run.stderr}`);
  }
  return JSON.parse(line.slice("RESULT ".length)) as T;
}

// Runs through the binary: module "rayts" as scripts see it. String concatenation instead of
// template literals keeps this source free of nested interpolation.
const ERRORS_SCRIPT = `import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as rayts from "rayts";
import { get, RaytsError, remote, TaskError } from "rayts";

class QuotaError extends Error {
  constructor(message) { super(message); this.name = "QuotaError"; }
}
function checkQuota(used) { throw new QuotaError("Quota exceeded by " + used); }
function bump(path) {
  const n = existsSync(path) ? Number(readFileSync(path, "utf8")) : 0;
  writeFileSync(path, String(n + 1));
  return n + 1;
}

const charge = remote(function charge(used) { checkQuota(used); });
const inner = remote(function inner() { throw new RangeError("Inner out of range"); });
const outer = remote(async function outer() { return await get(inner.remote()); });
const flaky = remote(function flaky(path, kind) {
  const attempt = bump(path);
  if (attempt < 3) throw kind === "quota" ? new QuotaError("Attempt " + attempt) : new TypeError("Attempt " + attempt);
  return attempt;
});
class Account {
  withdraw(n) { checkQuota(n); }
}
const AccountActor = remote(Account);

const codes = ${JSON.stringify(ERROR_CODES)};
const classes = {};
for (const [name, code] of Object.entries(codes)) {
  const Cls = rayts[name];
  const e = typeof Cls === "function" ? new Cls("probe") : undefined;
  classes[name] = { exported: typeof Cls === "function", isRaytsError: e instanceof RaytsError, isError: e instanceof Error, code: e?.code, name: e?.name };
}

function failure(e) {
  return {
    isTaskError: e instanceof TaskError, isRaytsError: e instanceof RaytsError, name: e.name, code: e.code, message: e.message,
    cause: e.cause && { name: e.cause.name, message: e.cause.message, stack: e.cause.stack, isTaskError: e.cause instanceof TaskError,
      cause: e.cause.cause && { name: e.cause.cause.name, message: e.cause.cause.message } },
  };
}
async function outcome(promise) {
  try { return { value: await promise }; } catch (e) { return { error: failure(e) }; }
}

const scratch = process.argv[2];
const result = {
  classes,
  direct: await outcome(get(charge.remote(7))),
  nested: await outcome(get(outer.remote())),
  method: await outcome(get(AccountActor.remote().withdraw.remote(9))),
  retriedByName: await outcome(get(flaky.options({ retryExceptions: ["QuotaError"], maxRetries: 3 }).remote(join(scratch, "a"), "quota"))),
  otherNameNotRetried: await outcome(get(flaky.options({ retryExceptions: ["QuotaError"], maxRetries: 3 }).remote(join(scratch, "b"), "type"))),
  notRetriedByDefault: await outcome(get(flaky.remote(join(scratch, "c"), "quota"))),
  retriedWhenTrue: await outcome(get(flaky.options({ retryExceptions: true }).remote(join(scratch, "d"), "type"))),
  retriesUsedUp: await outcome(get(flaky.options({ retryExceptions: ["QuotaError"], maxRetries: 1 }).remote(join(scratch, "e"), "quota"))),
};
result.attempts = Object.fromEntries(["a", "b", "c", "d", "e"].map((k) => [k, Number(readFileSync(join(scratch, k), "utf8"))]));
console.log("RESULT " + JSON.stringify(result));
`;

const ESCAPE_SCRIPT = `import { get, remote } from "rayts";
function settle(balance) { throw new RangeError("Ledger went negative: " + balance); }
const close = remote(function closeBooks(balance) { settle(balance); });
await get(close.remote(-5));
console.log("unreachable");
`;

interface Failure {
  isTaskError: boolean;
  isRaytsError: boolean;
  name: string;
  code: string;
  message: string;
  cause?: {
    name: string;
    message: string;
    stack?: string;
    isTaskError: boolean;
    cause?: { name: string; message: string };
  };
}
type Outcome = { value?: unknown; error?: Failure };
interface ErrorsResult {
  classes: Record<
    string,
    { exported: boolean; isRaytsError: boolean; isError: boolean; code: string; name: string }
  >;
  direct: Outcome;
  nested: Outcome;
  method: Outcome;
  retriedByName: Outcome;
  otherNameNotRetried: Outcome;
  notRetriedByDefault: Outcome;
  retriedWhenTrue: Outcome;
  retriesUsedUp: Outcome;
  attempts: Record<"a" | "b" | "c" | "d" | "e", number>;
}

describe("errors", () => {
  let run: RunResult;
  let escaped: RunResult;
  beforeAll(async () => {
    await using dir = tempDir();
    run = await runScript(dir.path, "errors.ts", ERRORS_SCRIPT, [dir.path]);
    escaped = await runScript(dir.path, "escape.ts", ESCAPE_SCRIPT);
  });

  test("every class of the error table is exported, a RaytsError, with its stable code", () => {
    const exported = rayts as unknown as Record<string, unknown>;
    for (const [name, code] of Object.entries(ERROR_CODES)) {
      const Cls = exported[name] as new (message: string) => Error & { code: string };
      expect(typeof Cls).toBe("function");
      const error = new Cls("probe");
      expect(error).toBeInstanceOf(rayts.RaytsError);
      expect({ name: error.name, code: error.code }).toEqual({ name, code });
    }
  });

  test("module rayts in a script exports the same classes with the same codes", () => {
    expect(run.code).toBe(0);
    const { classes } = resultOf<ErrorsResult>(run);
    for (const [name, code] of Object.entries(ERROR_CODES)) {
      expect(classes[name]).toEqual({ exported: true, isRaytsError: true, isError: true, code, name });
    }
  });

  test("a task that throws rejects with a TaskError whose message starts fn() (pid=", () => {
    const error = resultOf<ErrorsResult>(run).direct.error;
    expect(error).toMatchObject({
      isTaskError: true,
      isRaytsError: true,
      name: "TaskError",
      code: "ERR_TASK",
    });
    expect(error?.message.startsWith("charge() (pid=")).toBe(true);
    expect(error?.message).toMatch(/^charge\(\) \(pid=\d+, node=[0-9a-f]+\)/);
  });

  test("the cause keeps the remote error's name, message and stack in the user's file", () => {
    const cause = resultOf<ErrorsResult>(run).direct.error?.cause;
    expect(cause?.name).toBe("QuotaError");
    expect(cause?.message).toBe("Quota exceeded by 7");
    expect(cause?.stack).toContain("errors.ts");
    expect(cause?.stack).toContain("checkQuota");
  });

  test("a TaskError from a nested task arrives as the cause chain", () => {
    const error = resultOf<ErrorsResult>(run).nested.error;
    expect(error?.isTaskError).toBe(true);
    expect(error?.message.startsWith("outer() (pid=")).toBe(true);
    expect(error?.cause?.isTaskError).toBe(true);
    expect(error?.cause?.message.startsWith("inner() (pid=")).toBe(true);
    expect(error?.cause?.cause).toEqual({ name: "RangeError", message: "Inner out of range" });
  });

  test("an actor method that throws rejects with a TaskError named Class.method", () => {
    const error = resultOf<ErrorsResult>(run).method.error;
    expect(error?.isTaskError).toBe(true);
    expect(error?.message.startsWith("Account.withdraw() (pid=")).toBe(true);
    expect(error?.cause).toMatchObject({ name: "QuotaError", message: "Quota exceeded by 9" });
  });

  test("retryExceptions with error names retries those errors only", () => {
    const r = resultOf<ErrorsResult>(run);
    expect(r.retriedByName.value).toBe(3);
    expect(r.otherNameNotRetried.error?.cause?.name).toBe("TypeError");
    expect(r.notRetriedByDefault.error?.cause?.name).toBe("QuotaError");
    expect(r.retriedWhenTrue.value).toBe(3);
    expect(r.retriesUsedUp.error?.cause).toMatchObject({ name: "QuotaError", message: "Attempt 2" });
    expect(r.attempts).toEqual({ a: 3, b: 1, c: 1, d: 3, e: 2 });
  });

  test("a TaskError the script lets escape exits 1 and prints the error on stderr", () => {
    expect(escaped.code).toBe(1);
    expect(escaped.stdout).not.toContain("unreachable");
    expect(escaped.stderr).toContain("TaskError");
    expect(escaped.stderr).toContain("closeBooks() (pid=");
    expect(escaped.stderr).toContain("RangeError: Ledger went negative: -5");
    expect(escaped.stderr).toContain("escape.ts");
  });
});
