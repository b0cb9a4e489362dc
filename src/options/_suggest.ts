// "Did you mean" for option names: the closest valid name by edit distance, ignoring case.

function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      row.push(Math.min((prev[j] as number) + 1, (row[j - 1] as number) + 1, (prev[j - 1] as number) + cost));
    }
    prev = row;
  }
  return prev[b.length] as number;
}

/**
 * The name in `valid` that `name` was most likely meant to be, or undefined when none is close:
 * a few typos away (about one per three letters), or containing it (`gpus` → `numGpus`).
 */
export function closest(name: string, valid: readonly string[]): string | undefined {
  const lower = name.toLowerCase();
  let best: string | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const candidate of valid) {
    const c = candidate.toLowerCase();
    let score = distance(lower, c);
    if (score > Math.max(2, Math.floor(c.length / 3))) {
      score =
        lower.length >= 3 && (c.includes(lower) || lower.includes(c)) ? c.length : Number.POSITIVE_INFINITY;
    }
    if (score < bestScore) {
      best = candidate;
      bestScore = score;
    }
  }
  return best;
}
