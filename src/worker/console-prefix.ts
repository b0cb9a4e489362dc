/**
 * Worker console output, as the driver shows it: every line prefixed `(NAME pid=PID)` where NAME is
 * the running task's name or `Class.method`. Output of code a worker runs while loading a module
 * (the entry script's driver code) is dropped: it already ran on the driver.
 */
import { format } from "node:util";
import { isDriverCodeOnWorker } from "../runtime/loading-mode.ts";

type Method = "log" | "info" | "warn" | "error" | "debug";

export function installConsolePrefix(name: () => string, enabled: boolean): void {
  const methods: Method[] = ["log", "info", "warn", "error", "debug"];
  for (const m of methods) {
    const original = console[m].bind(console);
    console[m] = (...args: unknown[]) => {
      if (!enabled || isDriverCodeOnWorker()) return;
      const prefix = `(${name()} pid=${process.pid})`;
      const text = format(...args);
      original(
        text
          .split("\n")
          .map((line) => `${prefix} ${line}`)
          .join("\n"),
      );
    };
  }
}
