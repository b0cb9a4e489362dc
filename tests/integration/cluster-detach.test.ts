import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { isAlive } from "../../src/cluster/process-alive.ts";
import { Sandbox, TEST_STORE_BYTES } from "../cluster-harness.ts";

const TIMEOUT = 60_000;
const STORE = String(TEST_STORE_BYTES);

/** Running and not a zombie (detached processes are reparented, and may wait a while to be reaped). */
const alive = isAlive;

function segmentsOf(pid: number): string[] {
  return readdirSync("/dev/shm").filter((name) => name.startsWith(`rayts_${pid}_`));
}

describe("detached processes", () => {
  test(
    "head and node --detach return once ready, status finds them, and stop ends them",
    async () => {
      await using sandbox = new Sandbox();
      const head = await sandbox.rayts([
        "head",
        "--detach",
        "--port",
        "0",
        "--num-cpus",
        "1",
        "--object-store-memory",
        STORE,
      ]);
      expect(head.code).toBe(0);
      const address = head.stdout.match(/Started rayts head at (\S+)/)?.[1];
      expect(address).toBeDefined();
      expect(head.stdout).toContain(`rayts node --join ${address} --token `);
      expect(head.stdout).toContain(`RAYTS_ADDRESS=${address}`);
      expect(head.stdout).toContain("rayts status");
      expect(head.stdout).toContain("rayts stop");

      const session = join(sandbox.dir.path, "rayts", "session_latest");
      expect(statSync(join(session, "token")).mode & 0o777).toBe(0o600);
      expect(JSON.parse(readFileSync(join(session, "head.json"), "utf8")).address).toBe(address);

      // The token comes from the local head's token file.
      const node = await sandbox.rayts([
        "node",
        "--detach",
        "--join",
        address!,
        "--num-cpus",
        "2",
        "--object-store-memory",
        STORE,
      ]);
      expect(node.code).toBe(0);
      expect(node.stdout).toContain("Started rayts node");

      const pids = sandbox.recordedPids();
      expect(pids).toHaveLength(2);
      for (const pid of pids) expect(alive(pid)).toBe(true);
      const logs = readdirSync(join(session, "logs"));
      for (const pid of pids) expect(logs.some((name) => name.endsWith(`-${pid}.log`))).toBe(true);

      // No --address: the latest head on this machine.
      const status = await sandbox.rayts(["status"]);
      expect(status.code).toBe(0);
      expect(status.stdout).toContain("Nodes: 2 alive, 0 dead");
      expect(status.stdout).toContain("CPU                  0 / 3");

      const stop = await sandbox.rayts(["stop"]);
      expect(stop.code).toBe(0);
      expect(stop.stdout).toContain("Stopped head");
      expect(stop.stdout).toContain("Stopped node");
      for (const pid of pids) {
        expect(alive(pid)).toBe(false);
        expect(segmentsOf(pid)).toEqual([]);
      }
      expect(readdirSync(join(session, "pids"))).toEqual([]);

      const none = await sandbox.rayts(["status"]);
      expect(none.code).toBe(1);
      expect(none.stderr).toContain("No cluster found");
      expect((await sandbox.rayts(["stop"])).stdout).toContain("No rayts head or node runs on this machine");
    },
    TIMEOUT,
  );

  test(
    "stop --force kills at once and removes the segments a SIGKILLed node left",
    async () => {
      await using sandbox = new Sandbox();
      const head = await sandbox.rayts([
        "head",
        "--token",
        "given-token",
        "--detach",
        "--port",
        "0",
        "--num-cpus",
        "1",
        "--object-store-memory",
        STORE,
      ]);
      const address = head.stdout.match(/Started rayts head at (\S+)/)![1]!;
      await sandbox.rayts([
        "node",
        "--detach",
        "--join",
        address,
        "--num-cpus",
        "1",
        "--object-store-memory",
        STORE,
      ]);
      const session = join(sandbox.dir.path, "rayts", "session_latest");
      const pidFiles = readdirSync(join(session, "pids"));
      const headPid = Number(pidFiles.find((f) => f.startsWith("head-"))!.match(/\d+/)![0]);
      const nodeRecord = Number(pidFiles.find((f) => f.startsWith("node-"))!.match(/\d+/)![0]);
      process.kill(nodeRecord, "SIGKILL");
      while (alive(nodeRecord)) await Bun.sleep(20);
      expect(segmentsOf(nodeRecord)).toHaveLength(1);
      // The detached head got the token through its environment, not its command line.
      expect(readFileSync(`/proc/${headPid}/cmdline`, "latin1")).not.toContain("given-token");
      expect(head.stdout).toContain("Token:   given-token");

      const stop = await sandbox.rayts(["stop", "--force"]);
      expect(stop.code).toBe(0);
      expect(stop.stdout).toContain("(SIGKILL)");
      expect(stop.stdout).toContain(`rayts_${nodeRecord}_`);
      expect(alive(headPid)).toBe(false);
      expect(segmentsOf(nodeRecord)).toEqual([]);
      expect(segmentsOf(headPid)).toEqual([]);
    },
    TIMEOUT,
  );

  test(
    "a detached head that cannot start reports why and exits 1",
    async () => {
      await using sandbox = new Sandbox();
      const first = await sandbox.rayts([
        "head",
        "--detach",
        "--port",
        "0",
        "--num-cpus",
        "1",
        "--object-store-memory",
        STORE,
      ]);
      const port = first.stdout.match(/Started rayts head at [^:\s]+:(\d+)/)![1]!;
      const second = await sandbox.rayts([
        "head",
        "--detach",
        "--port",
        port,
        "--num-cpus",
        "1",
        "--object-store-memory",
        STORE,
      ]);
      expect(second.code).toBe(1);
      expect(second.stderr).toContain(`Cannot listen on 127.0.0.1:${port}`);
      expect(existsSync(join(sandbox.dir.path, "rayts"))).toBe(true);
    },
    TIMEOUT,
  );
});
