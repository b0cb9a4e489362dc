/**
 * The log of a head or node process: timestamped lines in its session's log file. In the foreground
 * they are echoed to stderr as well; a detached process has stdout and stderr pointed at the file
 * already, so it writes there once.
 */
import { appendFileSync } from "node:fs";

/** Writes log lines for one process. */
export class ProcessLog {
  readonly file: string;
  readonly #echo: boolean;
  readonly #role: string;

  /** `echo`: also print to stderr (foreground); otherwise stderr already is the file (detached). */
  constructor(file: string, role: string, echo: boolean) {
    this.file = file;
    this.#role = role;
    this.#echo = echo;
  }

  /** Appends one line. Never throws: a full disk must not stop the process. */
  write(message: string): void {
    const line = `${new Date().toISOString()} [${this.#role} pid=${process.pid}] ${message}\n`;
    if (this.#echo) {
      process.stderr.write(line);
      try {
        appendFileSync(this.file, line);
      } catch {}
    } else process.stderr.write(line);
  }
}
