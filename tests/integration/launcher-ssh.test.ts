/**
 * `rayts up | down | exec` with the ssh provider, for real: the suite starts its own sshd (Debian's
 * openssh-server) on a free loopback port, with a temp host key, an authorized key made for the test
 * and its own HOME and TMPDIR for every session, so nothing touches the user's `~/.ssh`, home or the
 * session root of other tests. The "remote" hosts are `127.0.0.1` (head) and `localhost` (worker),
 * two addresses of this machine.
 */
import { afterAll, beforeAll, describe, expect, setDefaultTimeout, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import type { ClusterStatus } from "../../src/cluster/cluster-protocol.ts";
import { isAlive } from "../../src/cluster/process-alive.ts";
import { Sandbox, TEST_STORE_BYTES } from "../cluster-harness.ts";
import { RAYTS_BIN, type RunResult, runRayts, tempDir, testEnv } from "../harness.ts";

setDefaultTimeout(180_000);

const SSHD = "/usr/sbin/sshd";
/** sshd is what the provider is tested against; CI installs it (`.ci/run`), a dev machine may not have it. */
const NO_SSHD = !existsSync(SSHD) || Bun.which("ssh") === null || Bun.which("ssh-keygen") === null;

const dir = tempDir("rayts-ssh-");
/** The "remote" side: HOME and TMPDIR of every ssh session. */
const remote = new Sandbox(tempDir("rayts-ssh-remote-"));
const remoteHome = join(remote.dir.path, "home");
const localTmp = join(dir.path, "local-tmp");
const localHome = join(dir.path, "local-home");
let sshd: Subprocess<"ignore", "pipe", "pipe"> | undefined;
let port = 0;
/** The user this test runs as: the ssh user (sshd serves the current user only when not root). */
const user = Bun.spawnSync(["id", "-un"], { stdout: "pipe" }).stdout.toString().trim();

function sh(cmd: string[]): void {
  const r = Bun.spawnSync(cmd, { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed: ${r.stderr.toString()}`);
}

async function freePort(): Promise<number> {
  const server = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
  const p = server.port;
  server.stop(true);
  return p;
}

function sshArgs(): string[] {
  return [
    "ssh",
    ...["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes"],
    ...["-o", "LogLevel=ERROR", "-p", String(port), "-i", join(dir.path, "client_key")],
    `${user}@127.0.0.1`,
  ];
}

beforeAll(async () => {
  if (NO_SSHD) return;
  for (const d of [remoteHome, join(remote.dir.path), localTmp, localHome]) mkdirSync(d, { recursive: true });
  sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", join(dir.path, "host_key")]);
  sh(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", join(dir.path, "client_key")]);
  writeFileSync(join(dir.path, "authorized_keys"), readFileSync(join(dir.path, "client_key.pub")));
  // sshd run as root needs its privilege-separation directory (Debian's service script makes it).
  if (process.getuid?.() === 0) mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  port = await freePort();
  writeFileSync(
    join(dir.path, "sshd_config"),
    `Port ${port}
ListenAddress 127.0.0.1
HostKey ${join(dir.path, "host_key")}
PidFile ${join(dir.path, "sshd.pid")}
AuthorizedKeysFile ${join(dir.path, "authorized_keys")}
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
PermitRootLogin prohibit-password
SetEnv HOME=${remoteHome} TMPDIR=${remote.dir.path}
`,
  );
  sshd = Bun.spawn([SSHD, "-D", "-e", "-f", join(dir.path, "sshd_config")], {
    env: testEnv(),
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  // Ready once a login works (bounded: a broken sshd fails the suite instead of hanging).
  for (let i = 0; ; i++) {
    const r = Bun.spawnSync([...sshArgs(), "true"], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode === 0) break;
    if (sshd.exitCode !== null || i > 100) {
      throw new Error(`sshd did not accept a login: ${r.stderr.toString()}`);
    }
    await Bun.sleep(50);
  }
});

afterAll(async () => {
  if (sshd !== undefined) {
    sshd.kill("SIGKILL");
    await sshd.exited;
  }
  await remote[Symbol.asyncDispose]();
  dir[Symbol.dispose]();
});

/** Writes the local sources of the `file_mounts` every config of this file has (the same each time). */
function writeMountSources(): void {
  mkdirSync(join(dir.path, "data", "sub"), { recursive: true });
  writeFileSync(join(dir.path, "data", "sub", "a.txt"), "mounted\n");
  writeFileSync(join(dir.path, "settings.txt"), "one file\n");
}

/** Writes `<name>.yaml` (and the sources it mounts) and returns its path. */
function yaml(
  name: string,
  extra: { workerSetup?: string; workerIp?: string; mounts?: boolean } = {},
): string {
  writeMountSources();
  const file = join(dir.path, `${name}.yaml`);
  writeFileSync(
    file,
    `cluster_name: ${name}
provider:
  type: ssh
  head_ip: 127.0.0.1
  worker_ips: [${extra.workerIp ?? "localhost"}]
auth:
  ssh_user: ${user}
  ssh_private_key: ./client_key
  ssh_port: ${port}
head: { port: 0, num_cpus: 1, object_store_memory: ${TEST_STORE_BYTES} }
workers: { num_cpus: 1, resources: { side: 1 }, object_store_memory: ${TEST_STORE_BYTES} }
${
  extra.mounts === false
    ? ""
    : `file_mounts:
  "~/data": ./data
  "~/conf/settings.txt": ./settings.txt
`
}setup_commands: ["echo common >> ~/setup.log"]
head_setup_commands: ["echo head-setup-ran"]
worker_setup_commands: [${JSON.stringify(extra.workerSetup ?? "echo worker-setup-ran")}]
`,
  );
  return file;
}

function rayts(args: string[]): Promise<RunResult> {
  return runRayts(args, { env: { TMPDIR: localTmp, HOME: localHome }, cwd: dir.path, timeoutMs: 150_000 });
}

function ok(r: RunResult): RunResult {
  if (r.code !== 0) throw new Error(`exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`);
  return r;
}

/** `rayts status` run on the head through `rayts exec`, until `predicate` holds. */
async function headStatus(file: string, predicate: (s: ClusterStatus) => boolean): Promise<ClusterStatus> {
  let last = "";
  for (let i = 0; i < 100; i++) {
    const r = await rayts(["exec", file, "--", "rayts", "status", "--format", "json"]);
    last = `${r.code} ${r.stdout} ${r.stderr}`;
    if (r.code === 0) {
      const s = JSON.parse(r.stdout) as ClusterStatus;
      if (predicate(s)) return s;
    }
    await Bun.sleep(100);
  }
  throw new Error(`The cluster did not reach the state: ${last}`);
}

const alive = (s: ClusterStatus) => s.nodes.filter((n) => n.state === "ALIVE");

describe("rayts up with the ssh provider", () => {
  const file = join(dir.path, "sshdemo.yaml");
  const binary = () => join(remoteHome, ".rayts", "bin");
  /**
   * The first `up` of cluster sshdemo and its status once both nodes are alive, run once for the
   * tests that need the running cluster (each works when run alone; together they share one up).
   */
  let started: Promise<{ up: RunResult; first: ClusterStatus }> | undefined;
  const upOnce = () => {
    started ??= (async () => {
      yaml("sshdemo");
      const up = ok(await rayts(["up", file]));
      return { up, first: await headStatus(file, (s) => alive(s).length === 2) };
    })();
    return started;
  };

  test.skipIf(NO_SSHD)(
    "up copies the binary, applies file_mounts, runs setup with node-prefixed output, then starts the head and the worker",
    async () => {
      const { up: r, first } = await upOnce();
      expect(r.stdout).toContain("(127.0.0.1) copying rayts");
      expect(r.stdout).toContain("(head 127.0.0.1) head-setup-ran");
      expect(r.stdout).toContain("(worker localhost) worker-setup-ran");
      expect(r.stdout).toContain("2 started");
      const copied = readFileSync(join(binary(), "rayts"));
      expect(copied.byteLength).toBe(statSync(RAYTS_BIN).size);
      expect(Bun.hash(copied)).toBe(Bun.hash(readFileSync(RAYTS_BIN)));
      expect(readFileSync(join(remoteHome, "data", "sub", "a.txt"), "utf8")).toBe("mounted\n");
      expect(readFileSync(join(remoteHome, "conf", "settings.txt"), "utf8")).toBe("one file\n");
      // Both nodes ran the common setup command.
      expect(readFileSync(join(remoteHome, "setup.log"), "utf8")).toBe("common\ncommon\n");
      expect(first.total.side).toBe(1);
      expect(alive(first).map((n) => n.address)).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^127\.0\.0\.1:/),
          expect.stringMatching(/^localhost:/),
        ]),
      );
    },
  );

  test.skipIf(NO_SSHD)("a second up changes nothing: no copy, no setup, the same processes", async () => {
    const { first } = await upOnce();
    const binStat = statSync(join(binary(), "rayts"));
    const r = ok(await rayts(["up", file]));
    expect(r.stdout).toContain("is already there; not copied");
    expect(r.stdout).not.toContain("copying rayts");
    expect(r.stdout).toContain("(head 127.0.0.1) setup unchanged");
    expect(r.stdout).toContain("(worker localhost) setup unchanged");
    expect(r.stdout).toContain("2 kept");
    expect(statSync(join(binary(), "rayts")).mtimeMs).toBe(binStat.mtimeMs);
    expect(readFileSync(join(remoteHome, "setup.log"), "utf8")).toBe("common\ncommon\n");
    const now = await headStatus(file, (s) => alive(s).length === 2);
    expect(
      alive(now)
        .map((n) => n.pid)
        .sort(),
    ).toEqual(
      alive(first)
        .map((n) => n.pid)
        .sort(),
    );
  });

  test.skipIf(NO_SSHD)(
    "a failing setup command stops up with a non-zero exit naming the node and the command",
    async () => {
      // No file_mounts: the head and the worker are one machine with one home here, and their two
      // concurrent extractions into ~/data can collide (hosts of a real cluster have homes of their own).
      const bad = yaml("sshbad", { workerSetup: "echo about to fail; exit 3", mounts: false });
      const r = await rayts(["up", bad]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain("(worker localhost) about to fail");
      expect(r.stderr).toContain(
        "setup failed on worker localhost: `echo about to fail; exit 3` exited with code 3",
      );
      const exec = await rayts(["exec", bad, "--", "true"]);
      expect(exec.code).toBe(1);
      expect(exec.stderr).toContain("Cluster sshbad has no running head");
    },
  );

  test.skipIf(NO_SSHD)(
    "a host sshd does not answer on is named: up stops before setup, down still stops the hosts it reaches",
    async () => {
      // sshd listens on 127.0.0.1 only: 127.0.0.2 (loopback too) refuses the connection.
      const unreachable = yaml("sshgone", { workerIp: "127.0.0.2" });
      const r = await rayts(["up", unreachable]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`Cannot reach ${user}@127.0.0.2:${port} over ssh`);
      expect(r.stdout).not.toContain("head-setup-ran");
      const d = await rayts(["down", unreachable]);
      expect(d.code).toBe(1);
      expect(d.stderr).toContain("127.0.0.2");
      expect(d.stderr).toContain("the hosts above were not reached");
    },
  );

  test.skipIf(NO_SSHD)("down stops the head and the worker; exec then finds no head", async () => {
    const { first } = await upOnce();
    const r = ok(await rayts(["down", file]));
    expect(r.stdout).toContain("Stopped cluster sshdemo: 2 processes");
    for (const n of first.nodes) expect(isAlive(n.pid)).toBe(false);
    const exec = await rayts(["exec", file, "--", "true"]);
    expect(exec.code).toBe(1);
    expect(exec.stderr).toContain("has no running head");
  });
});
