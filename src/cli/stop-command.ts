/** `rayts stop`: stops the heads and nodes started on this machine. */
import type { Command } from "./command.ts";
import { flagValue, UsageError } from "./usage-error.ts";

const HELP = `Usage: rayts stop [--force] [--grace-period SECONDS]

Stops every rayts head and node started on this machine (found through the session directories under
$TMPDIR/rayts, default /tmp/rayts): SIGTERM first, SIGKILL for those still running after the grace
period, or at once with --force. Removes the shared-memory segments and pid files they leave.

Options:
  --force                  SIGKILL at once
  --grace-period SECONDS   How long SIGTERM may take before SIGKILL (default 10)

Exit code: 0 when nothing of rayts runs any more; 1 when a process could not be stopped.`;

/** The `stop` command. */
export const command: Command = {
  help: HELP,
  async run(args: string[]): Promise<number> {
    let force = false;
    let graceMs = 10_000;
    for (let i = 0; i < args.length; i++) {
      const arg = args[i]!;
      if (arg === "--help" || arg === "-h") {
        console.log(HELP);
        return 0;
      }
      if (arg === "--force") force = true;
      else if (arg === "--grace-period" || arg.startsWith("--grace-period=")) {
        const value = flagValue(
          "--grace-period",
          arg === "--grace-period" ? args[++i] : arg.slice("--grace-period=".length),
          "stop",
          "Missing value for --grace-period: give seconds",
        );
        const seconds = Number(value);
        if (!Number.isFinite(seconds) || seconds < 0) {
          throw new UsageError(`Invalid --grace-period: ${value}; give seconds`, "stop");
        }
        graceMs = seconds * 1000;
      } else throw new UsageError(`Unknown argument: ${arg}`, "stop");
    }
    const { stopLocalProcesses } = await import("../cluster/stop-processes.ts");
    const result = await stopLocalProcesses({ force, graceMs });
    for (const p of result.stopped) console.log(`Stopped ${p.role} pid ${p.pid} at ${p.address} (${p.how})`);
    for (const p of result.failed)
      console.error(`rayts stop: Cannot stop ${p.role} pid ${p.pid}: ${p.reason}`);
    for (const s of result.segments) console.log(`Removed shared-memory segment ${s}`);
    if (result.stopped.length === 0 && result.failed.length === 0)
      console.log("No rayts head or node runs on this machine");
    return result.failed.length === 0 ? 0 : 1;
  },
};
