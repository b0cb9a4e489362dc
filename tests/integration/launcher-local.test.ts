/**
 * `rayts up | down | exec` with the local provider, through the real binary: the head and
 * `workers.count` nodes start as detached processes of this machine, `--address auto` finds them, a
 * second `up` leaves them alone, changes that stop or restart something need `--yes`, a failing setup
 * command stops `up` naming the node and the command, and `down` stops exactly this cluster. Each test
 * has its own TMPDIR (session root) and HOME.
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ClusterStatus } from "../../src/cluster/cluster-protocol.ts";
import { isAlive } from "../../src/cluster/process-alive.ts";
import { Sandbox, TEST_STORE_BYTES } from "../cluster-harness.ts";
import type { RunResult } from "../harness.ts";

setDefaultTimeout(120_000);

function clusterFile(sandbox: Sandbox, name: string, body: string): string {
  const path = join(sandbox.dir.path, `${name}.yaml`);
  writeFileSync(path, body);
  return path;
}

function localYaml(opts: { name?: string; count: number; headCpus?: number; setup?: string[] }): string {
  return `cluster_name: ${opts.name ?? "demo"}
provider:
  type: local
head: { port: 0, num_cpus: ${opts.headCpus ?? 1}, object_store_memory: ${TEST_STORE_BYTES} }
workers:
  count: ${opts.count}
  num_cpus: 1
  resources: { side: 1 }
  object_store_memory: ${TEST_STORE_BYTES}
setup_commands: ${JSON.stringify(opts.setup ?? ['echo setup-ran >> "$HOME/setup.log"'])}
worker_setup_commands: ["echo worker-setup-ran"]
`;
}

/** `rayts ARGS` in the sandbox with its own HOME. */
function rayts(sandbox: Sandbox, args: string[]): Promise<RunResult> {
  const home = join(sandbox.dir.path, "home");
  mkdirSync(home, { recursive: true });
  return sandbox.rayts(args, { env: { HOME: home }, timeoutMs: 90_000 });
}

async function status(sandbox: Sandbox): Promise<ClusterStatus> {
  const r = await rayts(sandbox, ["status", "--address", "auto", "--format", "json"]);
  if (r.code !== 0) throw new Error(`rayts status exited ${r.code}: ${r.stderr}`);
  return JSON.parse(r.stdout) as ClusterStatus;
}

function alivePids(s: ClusterStatus): number[] {
  return s.nodes
    .filter((n) => n.state === "ALIVE")
    .map((n) => n.pid)
    .sort((a, b) => a - b);
}

function ok(r: RunResult): RunResult {
  if (r.code !== 0) throw new Error(`exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r;
}

/** Polls `rayts status` until `predicate` holds (a restarted head's workers join within seconds). */
async function waitForStatus(
  sandbox: Sandbox,
  predicate: (s: ClusterStatus) => boolean,
): Promise<ClusterStatus> {
  let last: ClusterStatus | undefined;
  for (let i = 0; i < 300; i++) {
    last = await status(sandbox);
    if (predicate(last)) return last;
    await Bun.sleep(100);
  }
  throw new Error(`The cluster did not reach the state: ${JSON.stringify(last)}`);
}

describe("rayts up with the local provider", () => {
  test("up starts the head and the workers, --address auto finds them, a second up keeps them, exec runs on the head, down stops them", async () => {
    await using sandbox = new Sandbox();
    const file = clusterFile(sandbox, "cluster", localYaml({ count: 2 }));

    const first = ok(await rayts(sandbox, ["up", file]));
    expect(first.stdout).toContain('(head) $ echo setup-ran >> "$HOME/setup.log"');
    expect(first.stdout).toContain("(workers) worker-setup-ran");
    expect(first.stdout).toContain("3 started");
    const s1 = await waitForStatus(sandbox, (s) => s.nodes.filter((n) => n.state === "ALIVE").length === 3);
    expect(s1.total.side).toBe(2);
    expect(s1.total.CPU).toBe(3);

    // A driver with --address auto runs against it.
    const script = join(sandbox.dir.path, "job.ts");
    writeFileSync(
      script,
      `import { clusterResources, nodes } from "rayts";
console.log("@@" + JSON.stringify({ side: (await clusterResources()).side, nodes: (await nodes()).length }));`,
    );
    const job = ok(await rayts(sandbox, ["--address", "auto", script]));
    expect(JSON.parse(job.stdout.split("@@")[1]!)).toEqual({ side: 2, nodes: 3 });

    // Nothing changes on a second up: same processes, setup not run again.
    const second = ok(await rayts(sandbox, ["up", file]));
    expect(second.stdout).toContain("3 kept");
    expect(second.stdout).toContain("setup unchanged");
    expect(alivePids(await status(sandbox))).toEqual(alivePids(s1));
    const setupLog = readFileSync(join(sandbox.dir.path, "home", "setup.log"), "utf8");
    expect(setupLog.trim().split("\n")).toEqual(["setup-ran"]);

    // exec: on the head, with its address, rayts on the PATH, and the command's exit code.
    const printed = ok(await rayts(sandbox, ["exec", file, "--", "sh", "-c", 'echo "at=$RAYTS_ADDRESS"']));
    expect(printed.stdout.trim()).toBe(`at=${s1.address}`);
    expect((await rayts(sandbox, ["exec", file, "--", "exit 7"])).code).toBe(7);
    const viaExec = ok(await rayts(sandbox, ["exec", file, "--", "rayts", "status", "--format", "json"]));
    expect((JSON.parse(viaExec.stdout) as ClusterStatus).address).toBe(s1.address);

    const down = ok(await rayts(sandbox, ["down", file, "--yes"]));
    expect(down.stdout).toContain("Stopped cluster demo: 3 processes");
    for (const pid of alivePids(s1)) expect(isAlive(pid)).toBe(false);
    const after = await rayts(sandbox, ["status", "--address", "auto"]);
    expect(after.code).toBe(1);
    const exec = await rayts(sandbox, ["exec", file, "--", "true"]);
    expect(exec.code).toBe(1);
    expect(exec.stderr).toContain("has no running head");
    expect(ok(await rayts(sandbox, ["down", file])).stdout).toContain("Nothing of cluster demo was running");
  });

  test("stopping or restarting what runs needs --yes; with it, fewer workers and a changed head take effect", async () => {
    await using sandbox = new Sandbox();
    const file = clusterFile(sandbox, "cluster", localYaml({ count: 2 }));
    ok(await rayts(sandbox, ["up", file]));
    const before = await waitForStatus(
      sandbox,
      (s) => s.nodes.filter((n) => n.state === "ALIVE").length === 3,
    );

    writeFileSync(file, localYaml({ count: 1 }));
    const refused = await rayts(sandbox, ["up", file]);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toContain("no longer in the cluster file");
    expect(refused.stderr).toContain("--yes");
    // Nothing was done before asking: no worker was kept, started or stopped in this run.
    expect(refused.stdout).not.toContain("(workers) worker 0");
    expect(alivePids(await status(sandbox))).toEqual(alivePids(before));

    const fewer = ok(await rayts(sandbox, ["up", file, "--yes"]));
    expect(fewer.stdout).toContain("1 stopped");
    expect(fewer.stdout.split("worker 0 already running").length).toBe(2);
    const s2 = await waitForStatus(sandbox, (s) => s.nodes.filter((n) => n.state === "ALIVE").length === 2);
    expect(alivePids(s2).every((pid) => alivePids(before).includes(pid))).toBe(true);

    // Another head size: the head restarts, and the worker with it (it joined the old head).
    writeFileSync(file, localYaml({ count: 1, headCpus: 2 }));
    expect((await rayts(sandbox, ["up", file])).code).toBe(1);
    const restarted = ok(await rayts(sandbox, ["up", file, "-y"]));
    // The worker is restarted, or started anew when it already left with its head.
    expect(restarted.stdout).toMatch(
      /Cluster demo is up: head at \S+ \((2 restarted|1 restarted, 1 started)\)/,
    );
    const s3 = await waitForStatus(
      sandbox,
      (s) => s.nodes.filter((n) => n.state === "ALIVE").length === 2 && s.address !== s2.address,
    );
    expect(s3.total.CPU).toBe(3);
    expect(alivePids(s3).some((pid) => alivePids(s2).includes(pid))).toBe(false);
    ok(await rayts(sandbox, ["down", file]));
  });

  test("two ups at once start one cluster: the second finds the first one's processes", async () => {
    await using sandbox = new Sandbox();
    const file = clusterFile(sandbox, "cluster", localYaml({ count: 1 }));
    const [a, b] = await Promise.all([rayts(sandbox, ["up", file]), rayts(sandbox, ["up", file])]);
    ok(a);
    ok(b);
    const started = [a, b].map((r) => r.stdout.match(/\((.*)\)\n {2}Status:/)?.[1]).sort();
    expect(started).toEqual(["2 kept", "2 started"]);
    const s = await waitForStatus(sandbox, (st) => st.nodes.filter((n) => n.state === "ALIVE").length === 2);
    expect(s.nodes.filter((n) => n.isHead)).toHaveLength(1);
    expect(sandbox.recordedPids()).toHaveLength(2);
    ok(await rayts(sandbox, ["down", file]));
  });

  test("a failing setup command stops up before anything starts, naming the node and the command; down of one cluster leaves another running", async () => {
    await using sandbox = new Sandbox();
    const bad = clusterFile(
      sandbox,
      "bad",
      localYaml({ name: "bad", count: 1, setup: ["echo before", "exit 4"] }),
    );
    const r = await rayts(sandbox, ["up", bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain("(head) before");
    expect(r.stderr).toContain("setup failed on head: `exit 4` exited with code 4");
    expect((await rayts(sandbox, ["status", "--address", "auto"])).code).toBe(1);

    const one = clusterFile(sandbox, "one", localYaml({ name: "one", count: 0 }));
    const two = clusterFile(sandbox, "two", localYaml({ name: "two", count: 0 }));
    ok(await rayts(sandbox, ["up", one]));
    const s1 = await status(sandbox);
    ok(await rayts(sandbox, ["up", two]));
    const s2 = await status(sandbox);
    expect(s2.address).not.toBe(s1.address);
    ok(await rayts(sandbox, ["down", two]));
    const left = ok(await rayts(sandbox, ["exec", one, "--", "rayts", "status", "--format", "json"]));
    expect((JSON.parse(left.stdout) as ClusterStatus).address).toBe(s1.address);
    ok(await rayts(sandbox, ["down", one]));
  });
});
