/** One machine of a launched cluster as `rayts up | down | exec` use it, whatever the provider. */
import type { AgentRequest, AgentResult } from "./host-agent.ts";
import type { CommandResult } from "./node-output.ts";

export interface ClusterHost {
  /** The host name or IP the cluster's processes bind and advertise there. */
  readonly address: string;
  /** What identifies the rayts program the processes run there (a restart is due when it changes). */
  readonly binary: string;
  /** Makes rayts runnable there (the ssh provider copies the binary unless it is already there). */
  prepare(prefix: string): Promise<void>;
  /** Runs a shell command there, its output streamed with `prefix`. */
  run(command: string, prefix: string): Promise<CommandResult>;
  /** Serves a host-agent request there; progress lines are printed with `prefix`. */
  agent(req: AgentRequest, prefix: string): Promise<AgentResult>;
  /** Copies the local file or folder `local` to `remote` there (`~/` is that host's home). */
  mount(remote: string, local: string): Promise<void>;
  /** Runs `command` there with `env` added, attached to this terminal; resolves with its exit code. */
  exec(command: string, env: Record<string, string>): Promise<number>;
}
