/**
 * Keeps the process alive while the driver waits for something. Workers are unref'd so a finished
 * script exits on its own; a pending `get`/`wait` holds this handle so the process does not exit
 * while a task it waits for is still running.
 */
let pending = 0;
let timer: ReturnType<typeof setInterval> | undefined;

export function holdAlive(): void {
  pending++;
  if (pending === 1) {
    timer ??= setInterval(() => {}, 1 << 30);
    timer.ref();
  }
}

export function releaseAlive(): void {
  pending--;
  if (pending === 0) timer?.unref();
}

/**
 * Wraps a promise so the process stays alive until it settles. One reaction, not `finally` (which
 * settles its promise two more turns later, on every `get` of the driver).
 */
export function keptAlive<T>(p: Promise<T>): Promise<T> {
  holdAlive();
  return p.then(
    (v) => {
      releaseAlive();
      return v;
    },
    (e: unknown) => {
      releaseAlive();
      throw e;
    },
  );
}
