/** Where to look and how long to wait when asking the driver which GPUs exist. */
export interface DetectGpusOptions {
  /** Search path for the query tool; default: this process's `PATH`. */
  path?: string;
  /** Give up (and report no GPUs) after this long; default 10 s. */
  timeoutMs?: number;
}

const QUERY = ["--query-gpu=index", "--format=csv,noheader"];

/**
 * The ids of this machine's NVIDIA GPUs, as reported by `nvidia-smi`. Resolves to `[]` (never throws)
 * when the tool is missing, fails, hangs past `timeoutMs` or prints something other than ids, so a
 * node without GPUs or drivers simply has none. A `--num-gpus`/`numGpus` override is the caller's to
 * apply: it replaces whatever this finds.
 *
 * @example
 * const ids = await detectGpus(); // [0, 1] on a two-GPU machine
 * const node = new NodeResources({ CPU: 8, GPU: ids.length }, ids);
 */
export async function detectGpus(options: DetectGpusOptions = {}): Promise<number[]> {
  const PATH = options.path ?? process.env.PATH ?? "";
  const tool = Bun.which("nvidia-smi", { PATH });
  if (tool === null) return [];
  try {
    const child = Bun.spawn([tool, ...QUERY], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "ignore",
      env: { ...process.env, PATH },
    });
    const timer = setTimeout(() => child.kill(), options.timeoutMs ?? 10_000);
    try {
      const [out, code] = await Promise.all([new Response(child.stdout).text(), child.exited]);
      return code === 0 ? parseIds(out) : [];
    } finally {
      clearTimeout(timer);
    }
  } catch {
    return [];
  }
}

/** One id per non-empty line; anything else means the output is not what we asked for. */
function parseIds(out: string): number[] {
  const ids: number[] = [];
  for (const line of out.split("\n")) {
    const text = line.trim();
    if (text === "") continue;
    if (!/^\d+$/.test(text)) return [];
    ids.push(Number(text));
  }
  return [...new Set(ids)].sort((a, b) => a - b);
}

/**
 * {@link detectGpus} for synchronous start-up (the driver's first `put` may start the embedded
 * cluster): same answer, without the event loop. Costs nothing when `nvidia-smi` is not on PATH.
 */
export function detectGpusSync(options: DetectGpusOptions = {}): number[] {
  const PATH = options.path ?? process.env.PATH ?? "";
  const tool = Bun.which("nvidia-smi", { PATH });
  if (tool === null) return [];
  try {
    const r = Bun.spawnSync([tool, ...QUERY], {
      stdin: "ignore",
      stdout: "pipe",
      stderr: "ignore",
      env: { ...process.env, PATH },
      timeout: options.timeoutMs ?? 10_000,
    });
    return r.exitCode === 0 ? parseIds(r.stdout.toString()) : [];
  } catch {
    return [];
  }
}
