/** `rayts __worker-host`: hidden; a node starts it to run work with a runtime environment (see `src/worker/worker-host.ts`). */
import type { Command } from "./command.ts";

export const command: Command = {
  help: "Usage: rayts __worker-host\n\nInternal: started by a node to host a worker in a runtime environment's directory.",
  async run() {
    const { runWorkerHost } = await import("../worker/worker-host.ts");
    return await runWorkerHost();
  },
};
