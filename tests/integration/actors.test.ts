import { beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync } from "node:fs";
import { join } from "node:path";
import { type RunResult, runRayts, tempDir } from "../harness.ts";

const FIXTURES = join(import.meta.dir, "..", "fixtures");

/** Copies a fixture script into a fresh temp dir and runs it there; argv[2] is that dir. */
async function runFixture(name: string): Promise<RunResult> {
  await using dir = tempDir();
  const script = join(dir.path, name);
  copyFileSync(join(FIXTURES, name), script);
  return await runRayts(["run", script, dir.path], { cwd: dir.path });
}

/** The JSON a fixture printed on its `RESULT ` line; fails with the run's output when there is none. */
function resultOf<T>(run: RunResult): T {
  const line = run.stdout.split("\n").find((l) => l.startsWith("RESULT "));
  if (line === undefined) {
    throw new Error(`The script printed no RESULT line (exit ${run.code})\n${run.stdout}\n${run.stderr}`);
  }
  return JSON.parse(line.slice("RESULT ".length)) as T;
}

interface Failure {
  name: string;
  code?: string;
  message: string;
  isRaytsError?: boolean;
  causeName?: string;
  causeMessage?: string;
}

type Outcome<T> = { value: T; error?: undefined } | { value?: undefined; error: Failure };

describe("an actor class", () => {
  interface Basics {
    afterInc: number;
    described: string;
    lengths: number[];
    appended: number[];
    actorId: string;
    contextActorId: string;
    isHandle: boolean;
    split: [number, string];
    missing: { thrown: boolean; name?: string; message?: string };
  }
  let run: RunResult;
  beforeAll(async () => {
    run = await runFixture("actors-basics.ts");
  });

  test("exits cleanly", () => {
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
  });

  test("is constructed with the arguments given to .remote()", () => {
    const r = resultOf<Basics>(run);
    expect(r.afterInc).toBe(15);
    expect(r.described).toBe("clicks=15");
  });

  test("runs one caller's 100 calls in submission order", () => {
    const r = resultOf<Basics>(run);
    const expected = Array.from({ length: 100 }, (_, i) => i);
    expect(r.appended).toEqual(expected);
    expect(r.lengths).toEqual(expected.map((i) => i + 1));
  });

  test("gives a handle that is an ActorHandle with a hex actorId", () => {
    const r = resultOf<Basics>(run);
    expect(r.isHandle).toBe(true);
    expect(r.actorId).toMatch(/^[0-9a-f]+$/);
  });

  test("sees its own actorId in getRuntimeContext() inside a method", () => {
    const r = resultOf<Basics>(run);
    expect(r.contextActorId).toBe(r.actorId);
  });

  test("prefixes a method's console output with (Class.method pid=…)", () => {
    expect(run.stdout).toMatch(/^\(Counter\.whoAmI pid=\d+\) hello from clicks$/m);
  });

  test("splits a method's result into refs with .options({ numReturns: 2 })", () => {
    expect(resultOf<Basics>(run).split).toEqual([15, "clicks"]);
  });

  test("throws a TypeError naming a method that does not exist at .remote() time", () => {
    const { missing } = resultOf<Basics>(run);
    expect(missing.thrown).toBe(true);
    expect(missing.name).toBe("TypeError");
    expect(missing.message).toContain("reset");
  });
});

describe("actor concurrency", () => {
  interface Report {
    results: number[];
    events: string[];
    maxActive: number;
  }
  let run: RunResult;
  beforeAll(async () => {
    run = await runFixture("actors-concurrency.ts");
  });

  test("with maxConcurrency 1 each call's async body finishes before the next starts", () => {
    expect(run.code).toBe(0);
    const { serial } = resultOf<{ serial: Report }>(run);
    expect(serial.results).toEqual([0, 1, 2, 3]);
    expect(serial.events).toEqual([
      "start 0",
      "end 0",
      "start 1",
      "end 1",
      "start 2",
      "end 2",
      "start 3",
      "end 3",
    ]);
    expect(serial.maxActive).toBe(1);
  });

  test("with maxConcurrency 4 up to four calls interleave at their awaits, never more", () => {
    const { parallel } = resultOf<{ parallel: Report }>(run);
    expect(parallel.results).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(parallel.events.slice(0, 4)).toEqual(["start 0", "start 1", "start 2", "start 3"]);
    expect(parallel.events).toHaveLength(16);
    expect(parallel.maxActive).toBe(4);
  });
});

describe("named actors and namespaces", () => {
  interface Names {
    namespace: string;
    lists: Record<"shelf" | "found" | "foundInNamespace" | "reused" | "garage", string[]>;
    ids: Record<"shelf" | "found" | "reused" | "garage" | "garageFound", string>;
    duplicate?: Failure;
    unknown?: Failure;
    afterKill?: Failure;
    replacementList: string[];
  }
  let run: RunResult;
  beforeAll(async () => {
    run = await runFixture("actors-names.ts");
  });

  test("init({ namespace }) sets the job's namespace", () => {
    expect(run.code).toBe(0);
    expect(resultOf<Names>(run).namespace).toBe("inventory");
  });

  test("getActor finds a named actor by name, with or without its namespace", () => {
    const { lists, ids } = resultOf<Names>(run);
    expect(ids.found).toBe(ids.shelf);
    expect(lists.found).toEqual(lists.shelf);
    expect(lists.foundInNamespace).toEqual(lists.shelf);
  });

  test("a name taken twice in one namespace fails with a clear error", () => {
    const { duplicate } = resultOf<Names>(run);
    expect(duplicate).toBeDefined();
    expect(duplicate?.message).toContain('"shelf"');
    expect(duplicate?.message).toMatch(/already|taken/i);
  });

  test("getIfExists returns the existing actor, whose state is shared", () => {
    const { lists, ids } = resultOf<Names>(run);
    expect(lists.shelf).toEqual(["apple", "pear", "plum"]);
    expect(lists.reused).toEqual(["apple", "pear", "plum"]);
    expect(ids.reused).toBe(ids.shelf);
  });

  test("the same name in another namespace is another actor", () => {
    const { lists, ids } = resultOf<Names>(run);
    expect(lists.garage).toEqual(["wrench"]);
    expect(ids.garageFound).toBe(ids.garage);
    expect(ids.garage).not.toBe(ids.shelf);
  });

  test("getActor of an unknown name rejects naming it", () => {
    const { unknown } = resultOf<Names>(run);
    expect(unknown?.message).toContain('"nobody"');
  });

  test("kill frees the name: getActor rejects and the name can be taken again", () => {
    const { afterKill, replacementList } = resultOf<Names>(run);
    expect(afterKill?.message).toContain('"shelf"');
    expect(replacementList).toEqual([]);
  });
});

describe("actor lifecycle and handles", () => {
  interface Lifecycle {
    beforeKill: string;
    afterKill?: Failure;
    brokenCalls: Failure[];
    fromTask: number;
    fromActor: number;
    fromNested: number;
    relaySeesHandle: boolean;
    entries: string[];
  }
  let run: RunResult;
  beforeAll(async () => {
    run = await runFixture("actors-lifecycle.ts");
  });

  test("after kill, calls fail with ActorDiedError", () => {
    expect(run.code).toBe(0);
    const { beforeKill, afterKill } = resultOf<Lifecycle>(run);
    expect(beforeKill).toBe("hi ada");
    expect(afterKill).toMatchObject({ name: "ActorDiedError", code: "ERR_ACTOR_DIED", isRaytsError: true });
  });

  test("a constructor that throws makes every call fail with ActorDiedError caused by its error", () => {
    const { brokenCalls } = resultOf<Lifecycle>(run);
    expect(brokenCalls).toHaveLength(2);
    for (const call of brokenCalls) {
      expect(call).toMatchObject({
        name: "ActorDiedError",
        code: "ERR_ACTOR_DIED",
        causeName: "RangeError",
        causeMessage: "Limit 5 is too high",
      });
    }
  });

  test("a task and another actor call the actor through the handle they received", () => {
    const r = resultOf<Lifecycle>(run);
    expect([r.fromTask, r.fromActor, r.fromNested]).toEqual([1, 2, 3]);
    expect(r.relaySeesHandle).toBe(true);
    expect(r.entries).toEqual(["from a task", "from an actor", "from a nested handle"]);
  });
});

describe("actor restarts", () => {
  interface Restarts {
    noRestart: Record<"inc" | "crash" | "next", Outcome<number>>;
    restarts: {
      before: Outcome<number[]>;
      firstCrash: Outcome<never>;
      afterRestart: Outcome<number>;
      secondCrash: Outcome<never>;
      afterRestartsUsedUp: Outcome<number>;
    };
    retries: { before: Outcome<number>; crashOnce: Outcome<string>; after: Outcome<number> };
  }
  let run: RunResult;
  beforeAll(async () => {
    run = await runFixture("actors-restarts.ts");
  });

  test("without maxRestarts, an actor whose worker exits is dead for every later call", () => {
    expect(run.code).toBe(0);
    const { noRestart } = resultOf<Restarts>(run);
    expect(noRestart.inc.value).toBe(1);
    expect(noRestart.crash.error).toMatchObject({ name: "ActorDiedError", isRaytsError: true });
    expect(noRestart.next.error).toMatchObject({ name: "ActorDiedError", code: "ERR_ACTOR_DIED" });
  });

  test("with maxRestarts 1 the next call runs on a restarted actor with fresh state", () => {
    const { restarts } = resultOf<Restarts>(run);
    expect(restarts.before.value).toEqual([1, 2]);
    expect(restarts.firstCrash.error).toMatchObject({ name: "ActorDiedError" });
    expect(restarts.afterRestart.value).toBe(1);
  });

  test("once its restarts are used up the actor fails with ActorDiedError", () => {
    const { restarts } = resultOf<Restarts>(run);
    expect(restarts.secondCrash.error).toMatchObject({ name: "ActorDiedError" });
    expect(restarts.afterRestartsUsedUp.error).toMatchObject({
      name: "ActorDiedError",
      code: "ERR_ACTOR_DIED",
    });
  });

  test("maxTaskRetries retries the in-flight call on the restarted actor", () => {
    const { retries } = resultOf<Restarts>(run);
    expect(retries.before.value).toBe(1);
    expect(retries.crashOnce.value).toBe("survived with n=0");
    expect(retries.after.value).toBe(1);
  });
});
