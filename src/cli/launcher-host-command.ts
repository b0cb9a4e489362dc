/**
 * `rayts __launcher-host` (internal): what `rayts up | down | exec` run over ssh on each host. Reads
 * one request as JSON on stdin, prints progress, then the result as one `@@rayts-launcher` line.
 */
import type { Command } from "./command.ts";

/** The `__launcher-host` command. */
export const command: Command = {
  help: `Usage: rayts __launcher-host < REQUEST.json

Internal: serves one request of rayts up/down/exec on this host (started by them over ssh).`,
  async run(): Promise<number> {
    const { RESULT_MARK, serveAgent } = await import("../launcher/host-agent.ts");
    let req: Parameters<typeof serveAgent>[0];
    try {
      req = JSON.parse(await Bun.stdin.text());
    } catch (err) {
      console.error(`rayts __launcher-host: the request on stdin is not JSON: ${(err as Error).message}`);
      return 2;
    }
    try {
      const result = await serveAgent(req, (line) => console.log(line));
      console.log(`${RESULT_MARK}${JSON.stringify(result)}`);
      return 0;
    } catch (err) {
      console.error(err instanceof Error ? err.message : String(err));
      return 1;
    }
  },
};
