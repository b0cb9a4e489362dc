/**
 * Output of commands run for a node, streamed line by line with the node's prefix, e.g.
 * `(head 10.0.0.1) added 3 packages`, so the setup of several nodes at once stays readable.
 */
import type { Subprocess } from "bun";

/** Where prefixed lines go (stdout or stderr of `rayts up`). */
export type LineSink = (line: string) => void;

/** The default sinks: this process's stdout and stderr. */
export const STDOUT: LineSink = (line) => process.stdout.write(`${line}\n`);
export const STDERR: LineSink = (line) => process.stderr.write(`${line}\n`);

/** Writes each line of `stream` to `sink` behind `prefix`; resolves at its end with every line read. */
export async function pumpLines(
  stream: ReadableStream<Uint8Array>,
  prefix: string,
  sink: LineSink | undefined,
  hide?: (line: string) => boolean,
): Promise<string[]> {
  const decoder = new TextDecoder();
  const lines: string[] = [];
  let rest = "";
  const emit = (line: string) => {
    lines.push(line);
    if (hide?.(line) !== true) sink?.(`${prefix}${line}`);
  };
  for await (const chunk of stream) {
    rest += decoder.decode(chunk, { stream: true });
    let nl = rest.indexOf("\n");
    while (nl >= 0) {
      emit(rest.slice(0, nl).replace(/\r$/, ""));
      rest = rest.slice(nl + 1);
      nl = rest.indexOf("\n");
    }
  }
  rest += decoder.decode();
  if (rest !== "") emit(rest);
  return lines;
}

/** A finished command: its exit code and the lines it printed. */
export interface CommandResult {
  readonly code: number;
  readonly stdout: string[];
  readonly stderr: string[];
}

/**
 * Runs `cmd` with stdin from `input` (or none), streaming its output with `prefix` (stdout lines for
 * which `hide` is true are only collected). Resolves once it exited.
 */
export async function runStreamed(
  cmd: string[],
  options: {
    readonly prefix: string;
    readonly input?: Blob | Uint8Array | string | ReadableStream<Uint8Array>;
    readonly env?: Record<string, string | undefined>;
    readonly hide?: (line: string) => boolean;
  },
): Promise<CommandResult> {
  let proc: Subprocess<"pipe" | "ignore" | ReadableStream<Uint8Array>, "pipe", "pipe">;
  const piped = options.input instanceof ReadableStream ? options.input : undefined;
  try {
    proc = Bun.spawn(cmd, {
      stdin: piped ?? (options.input === undefined ? "ignore" : "pipe"),
      stdout: "pipe",
      stderr: "pipe",
      env: options.env ?? process.env,
    });
  } catch (err) {
    return { code: 127, stdout: [], stderr: [`cannot run ${cmd[0]}: ${(err as Error).message}`] };
  }
  if (options.input !== undefined && piped === undefined) {
    const sink = proc.stdin as import("bun").FileSink;
    const input = options.input as Blob | Uint8Array | string;
    void (async () => {
      try {
        if (input instanceof Blob) {
          for await (const chunk of input.stream()) {
            sink.write(chunk);
            await sink.flush();
          }
        } else sink.write(input);
        await sink.end();
      } catch {
        // The command exited before reading everything: its exit code says why.
      }
    })();
  }
  const [stdout, stderr, code] = await Promise.all([
    pumpLines(proc.stdout, options.prefix, STDOUT, options.hide),
    pumpLines(proc.stderr, options.prefix, STDERR),
    proc.exited,
  ]);
  return { code, stdout, stderr };
}
