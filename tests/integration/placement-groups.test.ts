/**
 * Placement groups on the embedded cluster (one node), as a user runs them through the binary:
 * atomic reservation, waiting groups placed when resources free up, scheduling into bundles, removal
 * and bad input. Multi-node strategies come with the cluster.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { runJob } from "../fixtures/tasks-job-runner.ts";

setDefaultTimeout(60_000);

describe("creating groups", () => {
  test("a group reserves every bundle at once, and its resources appear as group resources", async () => {
    const { report } = await runJob(`
await rayts.init({ numCpus: 4 });
const pg = rayts.placementGroup([{ CPU: 1 }, { CPU: 2 }], { strategy: "PACK", name: "pg1" });
await pg.ready();
const table = await rayts.placementGroupTable(pg);
report.state = table.state;
report.bundles = table.bundles;
report.sameNode = Object.values(table.bundlesToNode).every((n) => n === rayts.getRuntimeContext().nodeId);
report.nodeCount = Object.keys(table.bundlesToNode).length;
const avail = await rayts.availableResources();
report.cpuLeft = avail.CPU;
report.groupCpu = avail["CPU_group_" + pg.id];
report.byName = (await rayts.getPlacementGroup("pg1")).id === pg.id;
report.all = Object.keys(await rayts.placementGroupTable());
report.id = pg.id;
done();
`);
    expect(report.state).toBe("CREATED");
    expect(report.bundles).toEqual([{ CPU: 1 }, { CPU: 2 }]);
    expect(report.sameNode).toBe(true);
    expect(report.nodeCount).toBe(2);
    expect(report.cpuLeft).toBe(1);
    expect(report.groupCpu).toBe(3);
    expect(report.byName).toBe(true);
    expect(report.all).toEqual([report.id]);
  });

  test("every strategy places on one node except STRICT_SPREAD over several bundles, which stays PENDING", async () => {
    const { report } = await runJob(`
await rayts.init({ numCpus: 8 });
for (const strategy of ["PACK", "SPREAD", "STRICT_PACK", "STRICT_SPREAD"]) {
  const pg = rayts.placementGroup([{ CPU: 1 }, { CPU: 1 }], { strategy });
  report[strategy] = (await pg.wait(300)) ? "CREATED" : (await rayts.placementGroupTable(pg)).state;
}
const one = rayts.placementGroup([{ CPU: 1 }], { strategy: "STRICT_SPREAD" });
report.strictSpreadOfOne = await one.wait(2000);
done();
`);
    expect(report).toEqual({
      PACK: "CREATED",
      SPREAD: "CREATED",
      STRICT_PACK: "CREATED",
      STRICT_SPREAD: "PENDING",
      strictSpreadOfOne: true,
    });
  });

  test("groups racing for the same CPUs never over-commit the node, and waiting ones are placed as others go", async () => {
    const { report } = await runJob(`
await rayts.init({ numCpus: 4 });
const groups = [];
for (let i = 0; i < 40; i++) groups.push(rayts.placementGroup([{ CPU: 1 }, { CPU: 0.5 }]));
await Bun.sleep(200);
const states = async () => Promise.all(groups.map(async (g) => (await rayts.placementGroupTable(g)).state));
const first = await states();
report.createdFirst = first.filter((s) => s === "CREATED").length;
report.cpuLeft = (await rayts.availableResources()).CPU ?? 0;
// Remove the created ones: the next ones in creation order take their place.
for (let i = 0; i < groups.length; i++) if (first[i] === "CREATED") await rayts.removePlacementGroup(groups[i]);
await Promise.all(groups.slice(report.createdFirst, report.createdFirst * 2).map((g) => g.ready()));
const second = await states();
report.createdSecond = second.map((s, i) => (s === "CREATED" ? i : -1)).filter((i) => i >= 0);
report.removed = second.filter((s) => s === "REMOVED").length;
done();
`);
    // 1.5 CPU per group on 4 CPUs: exactly two fit at a time.
    expect(report.createdFirst).toBe(2);
    expect(report.cpuLeft).toBe(1);
    expect(report.removed).toBe(2);
    expect(report.createdSecond).toEqual([2, 3]);
  });

  test("bad bundles, strategies and options fail at creation with a clear error", async () => {
    const { report } = await runJob(`
await rayts.init({ numCpus: 2 });
const cases = {
  empty: [[]],
  notArray: [{ CPU: 1 }],
  allZero: [[{ CPU: 0 }]],
  emptyBundle: [[{}]],
  negative: [[{ CPU: -1 }]],
  nan: [[{ CPU: NaN }]],
  reserved: [[{ CPU_group_0_abc: 1 }]],
  strategy: [[{ CPU: 1 }], { strategy: "ANYWHERE" }],
  option: [[{ CPU: 1 }], { stratgy: "PACK" }],
  name: [[{ CPU: 1 }], { name: "" }],
};
for (const [k, args] of Object.entries(cases)) report[k] = settleSync(() => rayts.placementGroup(...args)).error?.message ?? "no error";
rayts.placementGroup([{ CPU: 1 }], { name: "taken" });
report.taken = settleSync(() => rayts.placementGroup([{ CPU: 1 }], { name: "taken" })).error?.message ?? "no error";
done();
`);
    expect(report.empty).toContain("non-empty array of bundles");
    expect(report.notArray).toContain("non-empty array of bundles");
    expect(report.allZero).toContain("asks for nothing");
    expect(report.emptyBundle).toContain("asks for nothing");
    expect(report.negative).toContain("-1 CPU");
    expect(report.nan).toContain("NaN CPU");
    expect(report.reserved).toContain("reserved resource name");
    expect(report.strategy).toContain("Unknown placement strategy");
    expect(report.option).toContain('"stratgy"');
    expect(report.name).toContain("non-empty string");
    expect(report.taken).toContain("already taken");
  });
});

describe("scheduling into groups", () => {
  test("tasks and actors run in a bundle; a bad bundle index or a demand larger than the bundle fails clearly", async () => {
    const { report } = await runJob(`
await rayts.init({ numCpus: 4 });
const f = rayts.remote(() => rayts.getRuntimeContext().getAssignedResources());
class A { hello() { return "hi"; } }
const pg = rayts.placementGroup([{ CPU: 1 }, { CPU: 2 }]);
await pg.ready();
report.inBundle = await rayts.get(f.options({ scheduling: { placementGroup: pg, bundleIndex: 1 } }).remote());
report.anyBundle = await rayts.get(f.options({ scheduling: { placementGroup: pg } }).remote());
const a = rayts.remote(A).options({ scheduling: { placementGroup: pg, bundleIndex: 0 } }).remote();
report.actor = await rayts.get(a.hello.remote());
report.outOfRange = (await settle(() => rayts.get(f.options({ scheduling: { placementGroup: pg, bundleIndex: 2 } }).remote()))).error;
report.tooBig = (await settle(() => rayts.get(f.options({ numCpus: 2, scheduling: { placementGroup: pg, bundleIndex: 0 } }).remote()))).error;
report.actorTooBig = settleSync(() => rayts.remote(A).options({ numCpus: 3, scheduling: { placementGroup: pg } }).remote()).error;
done();
`);
    expect(report.inBundle).toEqual({ CPU: 1 });
    expect(report.anyBundle).toEqual({ CPU: 1 });
    expect(report.actor).toBe("hi");
    expect(report.outOfRange.code).toBe("ERR_UNSCHEDULABLE");
    expect(report.outOfRange.message).toContain("bundleIndex 2 is out of range");
    expect(report.tooBig.code).toBe("ERR_UNSCHEDULABLE");
    expect(report.tooBig.message).toContain("more than bundle 0");
    expect(report.actorTooBig.name).toBe("ActorUnschedulableError");
  });

  test("reserved resources serve only the group: other work waits while the group holds them", async () => {
    const { report } = await runJob(`
await rayts.init({ numCpus: 2 });
const f = rayts.remote(() => "ran");
const pg = rayts.placementGroup([{ CPU: 2 }]);
await pg.ready();
report.outside = (await settle(() => rayts.get(f.remote(), { timeoutMs: 500 }))).error?.code;
report.inside = await rayts.get(f.options({ scheduling: { placementGroup: pg } }).remote());
const waiting = f.remote();
await rayts.removePlacementGroup(pg);
report.afterRemoval = await rayts.get(waiting);
done();
`);
    expect(report.outside).toBe("ERR_GET_TIMEOUT");
    expect(report.inside).toBe("ran");
    expect(report.afterRemoval).toBe("ran");
  });

  test("captureChildTasks puts the tasks a task submits into the same group", async () => {
    const { report } = await runJob(`
await rayts.init({ numCpus: 3 });
// What is free while the child runs tells where it runs: in the group, or on the one CPU outside it.
const child = rayts.remote(async (pgId) => {
  const avail = await rayts.availableResources();
  return { group: avail["CPU_group_" + pgId] ?? 0, cpu: avail.CPU ?? 0 };
});
const parent = rayts.remote(async (pgId) => rayts.get(child.remote(pgId)));
const pg = rayts.placementGroup([{ CPU: 1 }, { CPU: 1 }]);
await pg.ready();
report.captured = await rayts.get(parent.options({ scheduling: { placementGroup: pg, captureChildTasks: true } }).remote(pg.id));
report.notCaptured = await rayts.get(parent.options({ scheduling: { placementGroup: pg } }).remote(pg.id));
done();
`);
    expect(report.captured).toEqual({ group: 0, cpu: 1 });
    expect(report.notCaptured).toEqual({ group: 1, cpu: 0 });
  });
});

describe("removing groups", () => {
  test("removal kills the group's actors and running tasks, is idempotent, and frees the resources", async () => {
    const { report } = await runJob(`
await rayts.init({ numCpus: 2 });
const slow = rayts.remote(async () => { await Bun.sleep(30_000); return "finished"; });
class A { hi() { return "hi"; } }
const pg = rayts.placementGroup([{ CPU: 1 }, { CPU: 1 }], { name: "doomed" });
await pg.ready();
const a = rayts.remote(A).options({ scheduling: { placementGroup: pg, bundleIndex: 0 } }).remote();
report.before = await rayts.get(a.hi.remote());
const running = slow.options({ scheduling: { placementGroup: pg, bundleIndex: 1 } }).remote();
await Bun.sleep(200);
await rayts.removePlacementGroup(pg);
await rayts.removePlacementGroup(pg);
report.task = (await settle(() => rayts.get(running))).error?.code;
report.actor = (await settle(() => rayts.get(a.hi.remote()))).error?.code;
report.state = (await rayts.placementGroupTable(pg)).state;
report.cpu = (await rayts.availableResources()).CPU;
report.byName = (await settle(() => rayts.getPlacementGroup("doomed"))).error?.message;
report.readyAfter = (await settle(() => pg.ready())).error?.message;
report.newTask = (await settle(() => rayts.get(slow.options({ scheduling: { placementGroup: pg } }).remote()))).error?.code;
done();
`);
    expect(report.before).toBe("hi");
    expect(report.task).toBe("ERR_UNSCHEDULABLE");
    expect(report.actor).toBe("ERR_ACTOR_DIED");
    expect(report.state).toBe("REMOVED");
    expect(report.cpu).toBe(2);
    expect(report.byName).toContain('No placement group named "doomed"');
    expect(report.readyAfter).toContain("was removed");
    expect(report.newTask).toBe("ERR_UNSCHEDULABLE");
  });
});
