import { describe, expect, test } from "bun:test";
import { startCluster } from "../cluster-harness.ts";

const TIMEOUT = 60_000;

/** Opens a WebSocket to `address` and resolves with how it ended up: open, or closed with a code. */
function tryWebSocket(url: string, headers: Record<string, string> = {}): Promise<"open" | number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.addEventListener("open", () => {
      resolve("open");
      ws.close();
    });
    ws.addEventListener("close", (event) => resolve(event.code));
  });
}

describe("cluster token", () => {
  test(
    "a node with a wrong token is refused with a reason and exits non-zero",
    async () => {
      await using cluster = await startCluster();
      const node = cluster.spawn([
        "node",
        "--join",
        cluster.address,
        "--token",
        "not-the-token",
        "--num-cpus",
        "1",
      ]);
      expect(await node.proc.exited).toBe(1);
      expect(node.stderr).toContain(`Cannot join the cluster at ${cluster.address}`);
      expect(node.stderr).toContain("wrong cluster token");
      const status = await cluster.status();
      expect(status.nodes).toHaveLength(1);
    },
    TIMEOUT,
  );

  test(
    "a wrong RAYTS_TOKEN is refused the same way",
    async () => {
      await using cluster = await startCluster();
      const result = await cluster.rayts(["node", "--join", cluster.address, "--num-cpus", "1"], {
        env: { RAYTS_TOKEN: "also-wrong" },
      });
      expect(result.code).toBe(1);
      expect(result.stderr).toContain("wrong cluster token");
    },
    TIMEOUT,
  );

  test(
    "the dashboard the head's banner names shows the nodes with the token and answers 401 without it",
    async () => {
      await using cluster = await startCluster();
      const node = await cluster.addNode();
      const [, url] = await cluster.head.waitForOutput(/Dashboard[^\n]*\n\s+(\S+)/);
      expect(url).toBe(`http://${cluster.address}/?token=${cluster.token}`);
      const page = await fetch(url!);
      expect(page.status).toBe(200);
      expect(page.headers.get("content-type")).toContain("text/html");
      const html = await page.text();
      const status = await cluster.status();
      for (const n of status.nodes) expect(html).toContain(n.nodeId);
      expect(html).toContain(node.nodeId);
      expect(html).toContain("Object store:");
      expect(html).not.toMatch(/<script|src=|href=/);
      const viaPath = await fetch(`http://${cluster.address}/dashboard`, {
        headers: { authorization: `Bearer ${cluster.token}` },
      });
      expect(await viaPath.text()).toContain(node.nodeId);
      for (const path of ["/", "/dashboard", "/?token=wrong"]) {
        const refused = await fetch(`http://${cluster.address}${path}`);
        expect({ path, status: refused.status }).toEqual({ path, status: 401 });
        expect(await refused.text()).not.toContain(node.nodeId);
      }
    },
    TIMEOUT,
  );

  test(
    "HTTP requests without the token get 401 and change nothing",
    async () => {
      await using cluster = await startCluster();
      const node = await cluster.addNode();
      const before = await cluster.status();
      const base = `http://${cluster.address}`;
      for (const [method, path] of [
        ["GET", "/api/status"],
        ["GET", "/api/hello"],
        ["POST", "/api/status"],
        ["GET", "/no/such/route"],
        ["GET", "/ws"],
      ] as const) {
        const response = await fetch(`${base}${path}`, { method });
        expect(response.status).toBe(401);
        expect(((await response.json()) as { code: string }).code).toBe("ERR_UNAUTHORIZED");
      }
      const wrong = await fetch(`${base}/api/status`, { headers: { authorization: "Bearer wrong" } });
      expect(wrong.status).toBe(401);
      expect((await fetch(`${base}/api/status?token=wrong`)).status).toBe(401);
      expect((await fetch(`http://${node.address}/api/hello`)).status).toBe(401);

      const right = await fetch(`${base}/api/status`, {
        headers: { authorization: `Bearer ${cluster.token}` },
      });
      expect(right.status).toBe(200);
      const after = await cluster.status();
      expect(after.nodes.map((n) => [n.nodeId, n.state])).toEqual(
        before.nodes.map((n) => [n.nodeId, n.state]),
      );
    },
    TIMEOUT,
  );

  test(
    "a WebSocket without the token is refused and cannot register a node",
    async () => {
      await using cluster = await startCluster();
      expect(await tryWebSocket(`ws://${cluster.address}/ws`)).not.toBe("open");
      expect(await tryWebSocket(`ws://${cluster.address}/ws`, { authorization: "Bearer wrong" })).not.toBe(
        "open",
      );
      expect(await tryWebSocket(`ws://${cluster.address}/ws?token=${cluster.token}`)).toBe("open");
      expect(
        await tryWebSocket(`ws://${cluster.address}/ws`, { authorization: `Bearer ${cluster.token}` }),
      ).toBe("open");
      // Nothing an unauthenticated client sent reached the head: still only its own node.
      expect((await cluster.status()).nodes).toHaveLength(1);
    },
    TIMEOUT,
  );
});
