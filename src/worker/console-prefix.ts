/**
 * Worker console output, as the driver shows it: every line prefixed `(NAME pid=PID)` where NAME is
 * the running task's name or `Class.method`, whether it came from `console.*` or from
 * `process.stdout.write`/`process.stderr.write`. Output of code a worker runs while loading a module
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

/** Prefixes what remote code writes to process.stdout/stderr directly, line by line. */
export function installStreamPrefix(name: () => string, enabled: boolean): void {
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    let atLineStart = true;
    stream.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
      if (!enabled || isDriverCodeOnWorker()) return true;
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8");
      const prefix = `(${name()} pid=${process.pid}) `;
      let out = "";
      for (const part of text.split(/(?<=\n)/)) {
        if (part === "") continue;
        out += atLineStart ? prefix + part : part;
        atLineStart = part.endsWith("\n");
      }
      return original(out, ...rest);
    }) as typeof stream.write;
  }
}
