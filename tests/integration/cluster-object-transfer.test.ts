/**
 * Objects between nodes over HTTP (`GET /objects/:id`, `PUT /objects/:id`): a head forced onto the
 * HTTP path (`RAYTS_OBJECT_TRANSFER=http`) forwards tasks to a node; a 16 MiB result comes back and
 * 16 MiB arguments go there, landing in shared memory; the routes refuse requests without the token
 * and answer 404 for unknown ids.
 */
import { describe, expect, test } from "bun:test";
import { resolve } from "node:path";
import { driverArgs, reportOf, startCluster } from "../cluster-harness.ts";

const TIMEOUT = 90_000;
const JOB = resolve(import.meta.dir, "..", "fixtures", "cluster-tasks-job.ts");

describe("object transfer over HTTP", () => {
  test(
    "16 MiB results and arguments cross nodes over HTTP and land in shared memory",
    async () => {
      await using cluster = await startCluster({ numCpus: 0, headEnv: { RAYTS_OBJECT_TRANSFER: "http" } });
      const node = await cluster.addNode({ numCpus: 2 });
      const out = await cluster.rayts(driverArgs(cluster, JOB, "big"));
      expect(out.stderr).toBe("");
      expect(out.code).toBe(0);
      const n = 1 << 21;
      const report = reportOf(out.stdout);
      expect(report).toMatchObject({
        big: ["Float64Array", n, (n - 1) * 0.5],
        mismatches: 0,
        byteLength: 16 * 1024 * 1024,
        fromResult: (n * (n - 1)) / 4 + 1,
        byValue: 2 * n,
        fromPut: 3 * n,
        node: node.nodeId,
      });
      // A zero-copy view of the shm block: its buffer is the object's frame (a small header at most),
      // not a heap copy of something larger.
      expect(report.bufferOverhead as number).toBeGreaterThanOrEqual(0);
      expect(report.bufferOverhead as number).toBeLessThan(64 * 1024);
    },
    TIMEOUT,
  );

  test(
    "GET /objects/:id needs the token and answers 404 for an unknown id",
    async () => {
      await using cluster = await startCluster();
      const node = await cluster.addNode();
      for (const address of [cluster.address, node.address]) {
        const url = `http://${address}/objects/${"ab".repeat(16)}`;
        const anonymous = await fetch(url);
        expect(anonymous.status).toBe(401);
        expect(((await anonymous.json()) as { code: string }).code).toBe("ERR_UNAUTHORIZED");
        const unknown = await fetch(url, { headers: { authorization: `Bearer ${cluster.token}` } });
        expect(unknown.status).toBe(404);
        const body = (await unknown.json()) as { error: string; code: string };
        expect(body.code).toBe("ERR_OBJECT_NOT_FOUND");
        expect(body.error).toContain("Unknown object");
        const put = await fetch(url, { method: "PUT", body: new Uint8Array(8) });
        expect(put.status).toBe(401);
      }
    },
    TIMEOUT,
  );
});
