/**
 * The driver side of the cluster benchmarks: a script run by `rayts --address HEAD job.ts MODE …`
 * against a head with nodes (started by `benchmarks/cluster/run.ts`). It uses only the public API, as
 * a user's script would, and prints one line `RESULT {json}` (its own peak RSS included).
 *
 * Modes:
 *   cross-node SECONDS [local]  tasks forced onto another node (hard node affinity), 1,000 per batch;
 *                               with `local`, onto the head's own node instead
 *   transfer MIB                a MIB object between the head's node and another node, both ways,
 *                               each beside the same task on the head's own node
 *   broadcast MIB               one put object read by one task on each other node
 *   many-actors N               N actors (numCpus 0) round-robin over the other nodes, one call each
 *   many-tasks N                N tiny default tasks queued at once on a head without CPUs
 */
import { readFileSync } from "node:fs";
import { free, get, getRuntimeContext, nodes, type ObjectRef, put, remote } from "rayts";

const MiB = 1024 * 1024;

/** Peak resident set of this process in bytes (`VmHWM`). */
function peakRss(): number {
  const m = readFileSync("/proc/self/status", "utf8").match(/VmHWM:\s+(\d+) kB/);
  return m === null ? 0 : Number(m[1]) * 1024;
}

function result(value: Record<string, unknown>): void {
  console.log(`RESULT ${JSON.stringify({ ...value, driverPeakRss: peakRss() })}`);
}

/** The ids of the alive nodes other than the head's own (this driver's). */
async function otherNodes(): Promise<string[]> {
  const here = getRuntimeContext().nodeId;
  return (await nodes()).filter((n) => n.alive && n.nodeId !== here).map((n) => n.nodeId);
}

const zero = remote(() => 0);
const whereAmI = remote(() => getRuntimeContext().nodeId);
const makeBytes = remote((bytes: number) => {
  const a = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 4096) a[i] = 1;
  return a;
});
const lengthOf = remote((a: Uint8Array) => {
  let s = 0;
  for (let i = 0; i < a.length; i += 4096) s += a[i]!;
  return s;
});
const Pinger = remote(
  class Pinger {
    ping(): number {
      return 1;
    }
  },
);

async function crossNode(seconds: number, local: boolean): Promise<void> {
  // `local`: the same tasks pinned to the head's own node (the connected driver's baseline).
  const [target] = local ? [getRuntimeContext().nodeId] : await otherNodes();
  if (target === undefined) throw new Error("cross-node needs a node besides the head");
  const pinned = zero.options({ scheduling: { nodeId: target } });
  const batch = async () => {
    const refs = [];
    for (let i = 0; i < 1_000; i++) refs.push(pinned.remote());
    await get(refs);
  };
  // Every task really ran on the other node.
  const where = await get(whereAmI.options({ scheduling: { nodeId: target } }).remote());
  if (where !== target) throw new Error(`A pinned task ran on ${where}, not ${target}`);
  const warmEnd = performance.now() + 1_000;
  while (performance.now() < warmEnd) await batch();
  const rates: number[] = [];
  for (let t = 0; t < 3; t++) {
    let n = 0;
    const start = performance.now();
    while (performance.now() - start < seconds * 1000) {
      await batch();
      n += 1_000;
    }
    rates.push(n / ((performance.now() - start) / 1000));
  }
  result({ rates, best: Math.max(...rates) });
}

/** Milliseconds of each of `rounds` runs of `op`. */
async function best(rounds: number, op: () => Promise<unknown>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const start = performance.now();
    await op();
    times.push(performance.now() - start);
  }
  return times;
}

/** Gets `ref`, checks it, then drops the ref and the view so the next round finds room in the store. */
async function getAndDrop(ref: ObjectRef<unknown>, check: (value: unknown) => boolean): Promise<void> {
  if (!check(await get(ref))) throw new Error("A transfer round returned a wrong value");
  await free([ref]);
  ref[Symbol.dispose]();
  Bun.gc(true);
  await Bun.sleep(0);
}

async function transfer(mib: number): Promise<void> {
  const bytes = mib * MiB;
  const [target] = await otherNodes();
  if (target === undefined) throw new Error("transfer needs a node besides the head");
  const here = getRuntimeContext().nodeId;
  const on = (nodeId: string) => ({ scheduling: { nodeId } }) as const;
  const rounds = 5;
  const isBlock = (v: unknown) => v instanceof Uint8Array && v.length === bytes;
  const isSum = (v: unknown) => v === bytes / 4096;
  const source = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 4096) source[i] = 1;
  // One unmeasured round each way on both nodes: workers started, store pages touched once.
  for (const nodeId of [here, target]) {
    await getAndDrop(makeBytes.options(on(nodeId)).remote(bytes), isBlock);
    using ref = put(source);
    await getAndDrop(lengthOf.options(on(nodeId)).remote(ref), isSum);
    await free([ref]); // its copy on the other node goes too, so round 1 finds the warm block free
  }
  // Made on the head's node (put before the clock starts), read by a task on the other node: the
  // clock covers the transfer plus one small task round trip. The same read on the head's own node
  // (zero copy) is the baseline.
  const readRound = (nodeId: string) => async () => {
    using ref = put(source);
    const start = performance.now();
    await getAndDrop(lengthOf.options(on(nodeId)).remote(ref), isSum);
    const ms = performance.now() - start;
    await free([ref]);
    return ms;
  };
  const pushLocal = await timed(rounds, readRound(here));
  const pushRemote = await timed(rounds, readRound(target));
  // Made by a task on the other node and brought back to the driver's node: the clock also covers
  // making the object there (the same task on the head's node is the baseline).
  const pullLocal = await best(rounds, () => getAndDrop(makeBytes.options(on(here)).remote(bytes), isBlock));
  const pullRemote = await best(rounds, () =>
    getAndDrop(makeBytes.options(on(target)).remote(bytes), isBlock),
  );
  result({ bytes, pullLocal, pullRemote, pushLocal, pushRemote });
}

/** The times `op` reports for each of `rounds` runs. */
async function timed(rounds: number, op: () => Promise<number>): Promise<number[]> {
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) times.push(await op());
  return times;
}

async function broadcast(mib: number): Promise<void> {
  const bytes = mib * MiB;
  const targets = await otherNodes();
  const source = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i += 4096) source[i] = 1;
  const times = await best(3, async () => {
    using ref = put(source);
    const sums = await get(targets.map((nodeId) => lengthOf.options({ scheduling: { nodeId } }).remote(ref)));
    if (sums.some((s) => s !== bytes / 4096)) throw new Error("bad sum");
  });
  result({ bytes, readers: targets.length, times });
}

async function manyActors(n: number): Promise<void> {
  const targets = await otherNodes();
  const start = performance.now();
  const actors = [];
  for (let i = 0; i < n; i++) {
    const nodeId = targets[i % targets.length] as string;
    actors.push(Pinger.options({ numCpus: 0, scheduling: { nodeId } }).remote());
  }
  const pongs = (await get(actors.map((a) => a.ping.remote()))) as number[];
  const ms = performance.now() - start;
  if (pongs.reduce((s, x) => s + x, 0) !== n) throw new Error("missing pongs");
  result({ actors: n, nodes: targets.length, ms, perSecond: n / (ms / 1000) });
}

async function manyTasks(n: number): Promise<void> {
  const start = performance.now();
  const refs = [];
  for (let i = 0; i < n; i++) refs.push(whereAmI.remote());
  const submittedMs = performance.now() - start;
  const where = (await get(refs)) as string[];
  const ms = performance.now() - start;
  const perNode: Record<string, number> = {};
  for (const id of where) perNode[id] = (perNode[id] ?? 0) + 1;
  result({ tasks: n, submittedMs, ms, perSecond: n / (ms / 1000), perNode });
}

const [mode, arg] = process.argv.slice(2);
const value = Number(arg);
if (mode === "cross-node") await crossNode(value || 2, process.argv[4] === "local");
else if (mode === "transfer") await transfer(value || 256);
else if (mode === "broadcast") await broadcast(value || 64);
else if (mode === "many-actors") await manyActors(value || 1_000);
else if (mode === "many-tasks") await manyTasks(value || 100_000);
else throw new Error(`Unknown mode ${mode}: cross-node, transfer, broadcast, many-actors or many-tasks`);
