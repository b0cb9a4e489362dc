/**
 * Word count as MapReduce, after Ray's "simple MapReduce" example. Map tasks each count the words of
 * one document and split their counts into one partition per reducer (with `numReturns`, every
 * partition is an object of its own); reduce task r receives partition r of every mapper and merges
 * them. The driver only ever handles refs until the final, small results.
 *
 * Run it:   rayts examples/word-count.ts
 */
import { get, remote } from "rayts";

const NUM_REDUCERS = 3;

const DOCUMENTS = [
  "the quick brown fox jumps over the lazy dog",
  "the dog sleeps and the fox runs",
  "a quick brown dog and a lazy fox",
  "over and over the fox jumps",
];

/** Which reducer owns a word: a stable hash, so every mapper agrees. */
function partitionOf(word: string): number {
  let h = 0;
  for (let i = 0; i < word.length; i++) h = (Math.imul(h, 31) + word.charCodeAt(i)) >>> 0;
  return h % NUM_REDUCERS;
}

/** Map: count one document's words, one Map per reducer. */
function mapDocument(text: string): Map<string, number>[] {
  const partitions = Array.from({ length: NUM_REDUCERS }, () => new Map<string, number>());
  for (const word of text.toLowerCase().split(/\W+/)) {
    if (word === "") continue;
    const counts = partitions[partitionOf(word)]!;
    counts.set(word, (counts.get(word) ?? 0) + 1);
  }
  return partitions;
}

/** Reduce: merge the partitions every mapper made for this reducer. */
function reducePartitions(...partitions: Map<string, number>[]): Map<string, number> {
  const total = new Map<string, number>();
  for (const counts of partitions)
    for (const [word, n] of counts) total.set(word, (total.get(word) ?? 0) + n);
  return total;
}

// numReturns makes `.remote()` return one ref per partition instead of one ref to the whole array.
const mapper = remote(mapDocument).options({ numReturns: NUM_REDUCERS });
const reducer = remote(reducePartitions);

// ---- driver code: runs once, on the driver ----

// mapped[d][r] is the ref to partition r of document d.
const mapped = DOCUMENTS.map((doc) => mapper.remote(doc));

// Reducer r gets partition r of every document. The refs are top-level arguments, so each reducer
// waits for its inputs and receives them as Maps; no partition passes through the driver.
const reduced = Array.from({ length: NUM_REDUCERS }, (_, r) =>
  reducer.remote(...mapped.map((partitions) => partitions[r]!)),
);

const counts = new Map<string, number>();
for (const part of await get(reduced)) for (const [word, n] of part) counts.set(word, n);

const top = [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0])).slice(0, 5);
console.log(`${DOCUMENTS.length} documents, ${counts.size} distinct words`);
for (const [word, n] of top) console.log(`${word.padEnd(6)} ${n}`);
