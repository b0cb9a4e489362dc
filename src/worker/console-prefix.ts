/**
 * Worker console output, as the driver shows it: every line prefixed `(NAME pid=PID)` where NAME is
 * the running task's name or `Class.method`, whether it came from `console.*` or from
 * `process.stdout.write`/`process.stderr.write`. Output of code a worker runs while loading a module
 * (the entry script's driver code) is dropped: it already ran on the driver.
 *
 * On a cluster's nodes a {@link LogSink} takes the prefixed text instead of the process's own
 * streams (the prefix then names the node too): the node relays it to the driver that submitted the
 * work (`Node.relayLog`).
 */
import { format } from "node:util";
import { isDriverCodeOnWorker } from "../runtime/loading-mode.ts";

type Method = "log" | "info" | "warn" | "error" | "debug";

/** Where prefixed output goes instead of this process's streams: `err` for stderr. */
export type LogSink = (text: string, err: boolean) => void;

/** Where output is relayed from, and to what (see the module comment). */
export interface LogRelay {
  readonly sink: LogSink;
  /** Added to the prefix, e.g. `node=1a2b3c4d`. */
  readonly where: string;
}

function prefixOf(name: string, relay: LogRelay | undefined): string {
  return relay === undefined ? `(${name} pid=${process.pid})` : `(${name} pid=${process.pid} ${relay.where})`;
}

export function installConsolePrefix(name: () => string, enabled: boolean, relay?: LogRelay): void {
  const methods: Method[] = ["log", "info", "warn", "error", "debug"];
  for (const m of methods) {
    const original = console[m].bind(console);
    const err = m === "warn" || m === "error";
    console[m] = (...args: unknown[]) => {
      if (!enabled || isDriverCodeOnWorker()) return;
      const prefix = prefixOf(name(), relay);
      const text = format(...args)
        .split("\n")
        .map((line) => `${prefix} ${line}`)
        .join("\n");
      if (relay === undefined) original(text);
      else relay.sink(`${text}\n`, err);
    };
  }
}

/** Prefixes what remote code writes to process.stdout/stderr directly, line by line. */
export function installStreamPrefix(name: () => string, enabled: boolean, relay?: LogRelay): void {
  for (const stream of [process.stdout, process.stderr]) {
    const original = stream.write.bind(stream) as (chunk: unknown, ...rest: unknown[]) => boolean;
    const err = stream === process.stderr;
    let atLineStart = true;
    stream.write = ((chunk: unknown, ...rest: unknown[]): boolean => {
      if (!enabled || isDriverCodeOnWorker()) return true;
      const text = typeof chunk === "string" ? chunk : Buffer.from(chunk as Uint8Array).toString("utf8");
      const prefix = `${prefixOf(name(), relay)} `;
      let out = "";
      for (const part of text.split(/(?<=\n)/)) {
        if (part === "") continue;
        out += atLineStart ? prefix + part : part;
        atLineStart = part.endsWith("\n");
      }
      if (relay === undefined) return original(out, ...rest);
      relay.sink(out, err);
      return true;
    }) as typeof stream.write;
  }
}
