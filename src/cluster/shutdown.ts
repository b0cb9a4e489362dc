/**
 * Ending a head or node process cleanly: SIGINT and SIGTERM run the stop steps once (close sockets,
 * stop workers, unlink the shm segment, remove the pid record) and exit with the given code.
 */

/** Runs `stop` once on SIGINT/SIGTERM (or when called), then exits with `code`. */
export function onShutdown(stop: () => Promise<void> | void): (code: number, why?: string) => Promise<never> {
  let stopping: Promise<never> | undefined;
  const shutdown = (code: number): Promise<never> => {
    stopping ??= (async () => {
      try {
        await stop();
      } finally {
        process.exit(code);
      }
    })();
    return stopping;
  };
  process.on("SIGINT", () => void shutdown(0));
  process.on("SIGTERM", () => void shutdown(0));
  return shutdown;
}
