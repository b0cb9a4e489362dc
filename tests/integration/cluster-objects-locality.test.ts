/**
 * Locality and pushed blocks: a default task whose largest argument lives on another node runs there
 * (nothing is pulled for it), while one whose argument is here stays here; and a block pushed with
 * `PUT /objects/:id` that no `putObject` claims is freed after `RAYTS_PUSH_CLAIM_MS`.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { reportOf, startCluster } from "../cluster-harness.ts";
import { runObjectsJob } from "../cluster-objects-helpers.ts";

setDefaultTimeout(120_000);

describe("locality", () => {
  test("a task goes to the node holding its largest argument", async () => {
    await using cluster = await startCluster({ numCpus: 1, headEnv: { RAYTS_OBJECT_TRANSFER: "http" } });
    const a = await cluster.addNode({ numCpus: 1 });
    const out = await runObjectsJob(cluster, "locality", [a.nodeId, a.nodeId]);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    const r = reportOf(out);
    expect(r.bigOnA).toBe(true);
    expect(r.bigOnHead).toBe(false);
    expect(r.nearBig).toBe(a.nodeId);
    expect(r.nearSmall).toBe(r.here);
    expect(r.servedByA).toBe(0);
  });
});

describe("pushed blocks", () => {
  test("a block pushed with PUT /objects/:id and never registered is freed", async () => {
    await using cluster = await startCluster({ headEnv: { RAYTS_PUSH_CLAIM_MS: "200" } });
    const headers = { authorization: `Bearer ${cluster.token}` };
    const stats = async () =>
      (await (await fetch(`http://${cluster.address}/objects`, { headers })).json()) as {
        pushesPending: number;
      };
    const usedBytes = async () =>
      (await cluster.status()).nodes.find((n) => n.isHead)?.report.store.usedBytes ?? -1;
    const base = await stats();
    expect(base.pushesPending).toBe(0);
    const put = await fetch(`http://${cluster.address}/objects/${"cd".repeat(16)}`, {
      method: "PUT",
      headers: { ...headers, "content-type": "application/octet-stream" },
      body: new Uint8Array(4 << 20),
    });
    expect(put.status).toBe(200);
    const { size } = (await put.json()) as { off: number; size: number };
    expect(size).toBe(4 << 20);
    // Nobody claims it: wait for the expiry to free it (no deadline of our own; the test timeout bounds it).
    for (;;) {
      if ((await stats()).pushesPending === 0) break;
      await Bun.sleep(50);
    }
    await cluster.waitForStatus(
      (s) => (s.nodes.find((n) => n.isHead)?.report.store.usedBytes ?? -1) < 4 << 20,
    );
    expect(await usedBytes()).toBeLessThan(4 << 20);
  });
});
