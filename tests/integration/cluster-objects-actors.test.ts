/**
 * Actors on another node get their arguments and give their returns by the same HTTP pull path as
 * forwarded tasks: a 24 MiB argument (above the 16 MiB control frame) is pulled by the actor's node
 * from the owner, and the 24 MiB return is pulled by the driver's node from the actor's node.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { resolve } from "node:path";
import { startCluster } from "../cluster-harness.ts";

setDefaultTimeout(120_000);
const JOB = resolve(import.meta.dir, "..", "fixtures", "cluster-objects-job.ts");

function reportOf(out: { stdout: string; stderr: string }): Record<string, unknown> {
  const line = out.stdout.split("\n").find((l) => l.startsWith("REPORT "));
  if (line === undefined) throw new Error(`No report in the driver's output: ${out.stdout}\n${out.stderr}`);
  return JSON.parse(line.slice("REPORT ".length)) as Record<string, unknown>;
}

describe("actor arguments and returns over HTTP", () => {
  test("a 24 MiB argument and a 24 MiB return cross between the driver and an actor on another node", async () => {
    await using cluster = await startCluster({ numCpus: 0, headEnv: { RAYTS_OBJECT_TRANSFER: "http" } });
    const a = await cluster.addNode({ numCpus: 1 });
    const out = await cluster.rayts([
      "--address",
      cluster.address,
      "--token",
      cluster.token,
      JOB,
      "actor-big",
      cluster.token,
      a.nodeId,
      a.nodeId,
    ]);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    expect(reportOf(out)).toEqual({
      bytes: 24 * 1024 * 1024,
      mismatches: 0,
      argPulledByA: 1,
      argServedByHead: 1,
      returnServedByA: 1,
      returnPulledByHead: 1,
    });
  });
});
