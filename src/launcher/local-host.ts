/**
 * The local provider's host: this machine. Setup commands run with `sh -c`, file mounts are copied
 * with `cp`, and the host agent runs in this process, starting the head and nodes as detached
 * processes of this same program (`rayts head` / `rayts node`), so `--address auto` finds them.
 */
import { cpSync, mkdirSync, statSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import { selfCommand } from "../cluster/self-command.ts";
import type { ClusterHost } from "./cluster-host.ts";
import { type AgentRequest, type AgentResult, serveAgent } from "./host-agent.ts";
import { type CommandResult, runStreamed, STDOUT } from "./node-output.ts";

export class LocalHost implements ClusterHost {
  readonly address = "127.0.0.1";

  /** What identifies the program the processes run: restarting is needed when it changes. */
  readonly binary = selfCommand().join(" ");

  async prepare(): Promise<void> {}

  run(command: string, prefix: string): Promise<CommandResult> {
    return runStreamed(["sh", "-c", command], { prefix });
  }

  async agent(req: AgentRequest, prefix: string): Promise<AgentResult> {
    return serveAgent(req, (line) => STDOUT(`${prefix}${line}`));
  }

  async mount(remote: string, local: string): Promise<void> {
    const target = remote === "~" || remote.startsWith("~/") ? join(homedir(), remote.slice(1)) : remote;
    mkdirSync(dirname(target), { recursive: true });
    cpSync(local, target, { recursive: statSync(local).isDirectory(), force: true });
  }

  /** Runs `command` here with the cluster's address and token in its environment; resolves with its exit code. */
  async exec(command: string, env: Record<string, string>): Promise<number> {
    const [exe] = selfCommand();
    const path = Bun.isStandaloneExecutable ? `${dirname(exe!)}:${process.env.PATH ?? ""}` : process.env.PATH;
    const proc = Bun.spawn(["sh", "-c", command], {
      stdio: ["inherit", "inherit", "inherit"],
      env: { ...process.env, PATH: path, ...env },
    });
    return proc.exited;
  }
}
