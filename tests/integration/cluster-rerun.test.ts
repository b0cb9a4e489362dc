/**
 * Running a script again against the same cluster after editing it: a real head (its own node runs
 * the driver's work on the driver's machine) and a second node (reached through the job's package).
 * Workers import a module once per path, so the edited script must run on fresh workers on both
 * nodes, while an unchanged script keeps reusing the workers that already loaded it.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { driverArgs, reportOf, startCluster } from "../cluster-harness.ts";

setDefaultTimeout(180_000);

/** A job whose task reports its version and the worker's own copy of the module (`born`). */
function job(body: string): string {
  return `
import { get, getRuntimeContext, remote } from "rayts";

const born = crypto.randomUUID();
${body}
const here = await get(f.remote());
const there = await get(f.options({ resources: { other: 1 } }).remote());
console.log("REPORT " + JSON.stringify({ here, there }));
`;
}

const V1 = job(`const f = remote(() => ({ v: "v1", born, node: getRuntimeContext().nodeId }));`);
const V2 = job(`const helper = (x: string) => x + "!";
const f = remote(() => ({ v: helper("v2"), born, node: getRuntimeContext().nodeId }));`);

interface Sample {
  v: string;
  born: string;
  node: string;
}

describe("running an edited script again on the same cluster", () => {
  test("the new code runs on the head's node and on the other node; an unchanged script reuses the workers", async () => {
    await using cluster = await startCluster({ numCpus: 2 });
    const node = await cluster.addNode({ numCpus: 1, resources: { other: 1 } });
    await cluster.waitForStatus((s) => s.nodes.filter((n) => n.state === "ALIVE").length === 2);
    const proj = join(cluster.dir.path, "proj");
    mkdirSync(proj, { recursive: true });
    const script = join(proj, "job.ts");
    const run = async () =>
      reportOf<{ here: Sample; there: Sample }>(
        await cluster.rayts(driverArgs(cluster, script), {
          cwd: proj,
          timeoutMs: 120_000,
        }),
      );

    writeFileSync(script, V1);
    const first = await run();
    expect(first.here.v).toBe("v1");
    expect(first.there.v).toBe("v1");
    expect(first.there.node).toBe(node.nodeId);
    expect(first.here.node).not.toBe(node.nodeId);

    // Unchanged: the same workers, with the module they already imported, run it again.
    const again = await run();
    expect(again.here).toEqual(first.here);
    expect(again.there).toEqual(first.there);

    // Edited: a helper the task needs, defined above it. Fresh workers load the new file.
    writeFileSync(script, V2);
    const edited = await run();
    expect(edited.here.v).toBe("v2!");
    expect(edited.there.v).toBe("v2!");
    expect(edited.there.node).toBe(node.nodeId);
    expect(edited.here.node).toBe(first.here.node);
    expect(edited.here.born).not.toBe(first.here.born);
    expect(edited.there.born).not.toBe(first.there.born);

    // And the edited script, unchanged since, reuses its workers again.
    const editedAgain = await run();
    expect(editedAgain.here).toEqual(edited.here);
    expect(editedAgain.there).toEqual(edited.there);
  });
});
