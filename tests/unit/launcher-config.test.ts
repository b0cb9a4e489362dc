/**
 * The cluster file of `rayts up | down | exec`: a valid file becomes the config the launcher uses,
 * and every kind of mistake is one clear error naming the key (through the real binary too, with
 * exit code 1, and a missing file argument as a usage error with exit code 2).
 */
import { describe, expect, setDefaultTimeout, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RaytsError } from "../../src/errors.ts";
import { loadClusterConfig, parseClusterConfig } from "../../src/launcher/cluster-config.ts";
import { runRayts, tempDir } from "../harness.ts";

setDefaultTimeout(60_000);

function parse(yaml: string, dir = "/nowhere"): ReturnType<typeof parseClusterConfig> {
  return parseClusterConfig(Bun.YAML.parse(yaml), join(dir, "cluster.yaml"));
}

function errorOf(yaml: string, dir?: string): string {
  try {
    parse(yaml, dir);
  } catch (err) {
    expect(err).toBeInstanceOf(RaytsError);
    return (err as Error).message;
  }
  throw new Error("no error");
}

describe("cluster file", () => {
  test("a full ssh file is read with defaults filled and relative local paths resolved against the file's folder", () => {
    using dir = tempDir();
    mkdirSync(join(dir.path, "data"));
    writeFileSync(join(dir.path, "key"), "k");
    const c = parse(
      `cluster_name: demo
provider: { type: ssh, head_ip: 10.0.0.1, worker_ips: [10.0.0.2, 10.0.0.3] }
auth: { ssh_user: ubuntu, ssh_private_key: ${join(dir.path, "key")} }
head: { num_cpus: 0 }
workers: { num_cpus: 2, resources: { side: 1 } }
file_mounts: { "~/data": ./data }
setup_commands: ["npm i -g some-cli"]
head_setup_commands: []
`,
      dir.path,
    );
    expect(c.name).toBe("demo");
    expect(c.provider).toEqual({
      type: "ssh",
      headIp: "10.0.0.1",
      workerIps: ["10.0.0.2", "10.0.0.3"],
      auth: { user: "ubuntu", privateKey: join(dir.path, "key"), port: 22 },
    });
    expect(c.head).toEqual({ port: 6380, numCpus: 0, resources: {} });
    expect(c.workers).toEqual({ numCpus: 2, resources: { side: 1 } });
    expect(c.fileMounts).toEqual([["~/data", join(dir.path, "data")]]);
    expect(c.setupCommands).toEqual(["npm i -g some-cli"]);
    expect(c.workerSetupCommands).toEqual([]);
  });

  test("a local file takes workers.count (default 0)", () => {
    expect(parse("cluster_name: a\nprovider: { type: local }\nworkers: { count: 3 }").provider).toEqual({
      type: "local",
      workerCount: 3,
    });
    expect(parse("cluster_name: a\nprovider: { type: local }").provider).toEqual({
      type: "local",
      workerCount: 0,
    });
  });

  test("mistakes name the key and what to write", () => {
    const local = "cluster_name: a\nprovider: { type: local }\n";
    expect(errorOf(`${local}head: { num_cpu: 1 }`)).toContain(
      "unknown key head.num_cpu (did you mean head.num_cpus?)",
    );
    expect(errorOf(`${local}setup_command: []`)).toContain("did you mean setup_commands?");
    expect(errorOf("provider: { type: local }")).toContain("missing cluster_name");
    expect(errorOf("cluster_name: a")).toContain("missing provider");
    expect(errorOf("cluster_name: a\nprovider: { type: aws }")).toContain(
      'provider.type must be local or ssh: got string "aws"',
    );
    expect(errorOf("cluster_name: a\nprovider: { type: ssh }")).toContain("missing provider.head_ip");
    expect(errorOf("cluster_name: a\nprovider: { type: ssh, head_ip: h, worker_ips: x }")).toContain(
      "provider.worker_ips must be a list of hosts",
    );
    expect(errorOf("cluster_name: a\nprovider: { type: ssh, head_ip: h }\nworkers: { count: 2 }")).toContain(
      "workers.count is for the local provider",
    );
    expect(errorOf(`${local}auth: { ssh_user: u }`)).toContain("auth is for the ssh provider");
    expect(errorOf(`${local}head: { port: 70000 }`)).toContain(
      "head.port must be a port number from 0 to 65535",
    );
    expect(errorOf(`${local}workers: { count: 1.5 }`)).toContain("workers.count must be a whole number");
    expect(errorOf(`${local}workers: { num_cpus: "2" }`)).toContain(
      'workers.num_cpus must be a non-negative number: got string "2"',
    );
    expect(errorOf(`${local}head: { resources: { CPU: 2 } }`)).toContain("set it with head.num_cpus");
    expect(errorOf(`${local}setup_commands: "echo hi"`)).toContain(
      "setup_commands must be a list of shell commands",
    );
    expect(errorOf(`${local}setup_commands: [1]`)).toContain(
      "setup_commands[0] must be a non-empty shell command",
    );
    expect(errorOf(`${local}file_mounts: { "~/x": ./missing }`)).toContain(
      "the local path /nowhere/missing does not exist",
    );
    expect(
      errorOf("cluster_name: a\nprovider: { type: ssh, head_ip: h }\nauth: { ssh_private_key: /no/key }"),
    ).toContain("auth.ssh_private_key: no such file /no/key");
    expect(errorOf("cluster_name: 'a b'\nprovider: { type: local }")).toContain(
      "cluster_name must be a name",
    );
    expect(errorOf("- a\n- b")).toContain("the file must be a mapping");
  });

  test("a missing or unparsable file says so", () => {
    using dir = tempDir();
    expect(() => loadClusterConfig(join(dir.path, "none.yaml"))).toThrow("no such file");
    writeFileSync(join(dir.path, "bad.yaml"), "a: [1,\nb");
    expect(() => loadClusterConfig(join(dir.path, "bad.yaml"))).toThrow("not valid YAML");
  });

  test("through the binary: an invalid file exits 1 with the reason, a missing argument is a usage error", async () => {
    await using dir = tempDir();
    writeFileSync(
      join(dir.path, "c.yaml"),
      "cluster_name: a\nprovider: { type: local }\nhead: { prot: 1 }\n",
    );
    for (const cmd of ["up", "down"]) {
      const r = await runRayts([cmd, join(dir.path, "c.yaml")]);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(
        `rayts ${cmd}: ${join(dir.path, "c.yaml")}: unknown key head.prot (did you mean head.port?)`,
      );
    }
    const missing = await runRayts(["up"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain("Missing CLUSTER.yaml");
    const noCmd = await runRayts(["exec", join(dir.path, "c.yaml")]);
    expect(noCmd.code).toBe(2);
    expect(noCmd.stderr).toContain("Missing command");
  });
});
