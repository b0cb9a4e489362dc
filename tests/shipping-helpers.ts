/**
 * Helpers of the tests that ship a job's files to other nodes: a node started from a directory of its
 * own with an environment cache of its own (as on another machine), a command that must succeed, and
 * the lines of a log file the node's cache appends to.
 */
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import type { TestCluster, TestNode } from "./cluster-harness.ts";
import { testEnv } from "./harness.ts";

/** Runs `cmd` in `cwd` (with `env`, default the test environment); throws with its output if it fails. */
export function sh(cmd: string[], cwd: string, env: Record<string, string> = testEnv()): void {
  const r = Bun.spawnSync(cmd, { cwd, env, stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0)
    throw new Error(`${cmd.join(" ")} failed: ${r.stderr.toString()}${r.stdout.toString()}`);
}

/** The non-empty lines of `file`, none when it does not exist. */
export function lines(file: string): string[] {
  return existsSync(file)
    ? readFileSync(file, "utf8")
        .trim()
        .split("\n")
        .filter((l) => l !== "")
    : [];
}

/**
 * Starts a node of `cluster` with `cwd` as its working directory and `cache` as its environment cache
 * (as on another machine), and waits until the head lists it alive.
 */
export async function addNodeFrom(
  cluster: TestCluster,
  cwd: string,
  cache: string,
  numCpus = 1,
): Promise<TestNode> {
  mkdirSync(cwd, { recursive: true });
  const node = await cluster.addNode({ numCpus, cwd, env: { RAYTS_ENV_CACHE: cache } });
  await cluster.waitForStatus((s) => s.nodes.some((n) => n.nodeId === node.nodeId && n.state === "ALIVE"));
  return node;
}
