/**
 * Objects across nodes by ownership, over HTTP (`RAYTS_OBJECT_TRANSFER=http` on the head forces the
 * path on one machine): readers pull from a node holding a copy that is not the owner, a broadcast to
 * several readers on one node is fetched once (counted on the serving side, `GET /objects`), and a
 * ref's `owner` is its owner node's address.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { reportOf, startCluster } from "../cluster-harness.ts";
import { runObjectsJob } from "../cluster-objects-helpers.ts";

setDefaultTimeout(120_000);

describe("objects pulled by ownership", () => {
  test("a broadcast to four readers on one node is fetched once; the next node pulls from that node, not the owner", async () => {
    await using cluster = await startCluster({ numCpus: 0, headEnv: { RAYTS_OBJECT_TRANSFER: "http" } });
    const a = await cluster.addNode({ numCpus: 4 });
    const b = await cluster.addNode({ numCpus: 1 });
    const out = await runObjectsJob(cluster, "broadcast", [a.nodeId, b.nodeId]);
    expect(out.stderr).toBe("");
    expect(out.code).toBe(0);
    const n = 1 << 20;
    const r = reportOf(out);
    expect(r.owner).toBe(r.head);
    expect(r.owner).toBe(cluster.address);
    expect(r.sums).toEqual([2 * n, 2 * n, 2 * n, 2 * n]);
    expect(r.onB).toBe(2 * n);
    // Four tasks on node A read the object: the owner served it once, node A pulled it once.
    expect(r.broadcast).toEqual({ servedByHead: 1, pulledByA: 1 });
    // Node B then pulled it from node A (a holder that is not the owner).
    expect(r.second).toEqual({ servedByHead: 0, servedByA: 1, pulledByB: 1 });
  });

  test("POST /objects/ops refuses a malformed body with a clear error and needs the token", async () => {
    await using cluster = await startCluster();
    const url = `http://${cluster.address}/objects/ops`;
    const anonymous = await fetch(url, { method: "POST", body: "{}" });
    expect(anonymous.status).toBe(401);
    const auth = { authorization: `Bearer ${cluster.token}`, "content-type": "application/json" };
    const bad = await fetch(url, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ from: "x:1", ops: [{ op: "steal", id: "ab" }] }),
    });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as { error: string; code: string };
    expect(body.code).toBe("ERR_BAD_REQUEST");
    expect(body.error).toContain("ops[0].op must be one of");
    const notJson = await fetch(url, { method: "POST", headers: auth, body: "{" });
    expect(notJson.status).toBe(400);
    // A well-formed request about an unknown object says it is lost.
    const unknown = await fetch(url, {
      method: "POST",
      headers: auth,
      body: JSON.stringify({ from: "127.0.0.1:1", ops: [{ op: "locate", id: "ab".repeat(16) }] }),
    });
    expect(unknown.status).toBe(200);
    expect(await unknown.json()).toEqual([{ lost: true }]);
  });
});
