/**
 * Draws `rayts microbenchmark --json` output beside Ray's published figures as an SVG bar chart
 * (log scale, rates per second).
 *
 *   bun benchmarks/chart.ts benchmarks/results/microbenchmark-2026-11-25.json docs/benchmarks.svg
 */
import { readFileSync, writeFileSync } from "node:fs";

/** Ray 2.5x on a 64-vCPU m5.16xlarge, as published (the benchmark plan's table). */
const RAY: Record<string, number> = {
  single_client_get_calls: 10_620,
  single_client_put_calls: 5_173,
  single_client_put_gigabytes: 19.9,
  single_client_tasks_sync: 981,
  single_client_tasks_async: 8_041,
  single_client_tasks_and_get_batch: 5.8,
  multi_client_tasks_async: 21_230,
  "1_1_actor_calls_sync": 2_012,
  "1_1_actor_calls_async": 8_664,
  "1_1_actor_calls_concurrent": 5_775,
  "1_n_actor_calls_async": 8_038,
  n_n_actor_calls_async: 27_376,
  single_client_wait_1k_refs: 5.1,
  single_client_get_object_containing_10k_refs: 13.4,
  "placement_group_create/removal": 765,
};

interface Result {
  mean: number;
  sd: number;
  unit: string;
}

/** The JSON object: the whole file, or the last line of the command's `--json` output. */
function readResults(path: string): Record<string, Result> {
  const text = readFileSync(path, "utf8").trim();
  try {
    return JSON.parse(text) as Record<string, Result>;
  } catch {
    const lines = text.split("\n");
    return JSON.parse(lines[lines.length - 1] ?? "{}") as Record<string, Result>;
  }
}

function xmlEscape(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** An SVG of one row per metric: rayts and Ray as bars on a shared log axis. */
export function chart(results: Record<string, Result>): string {
  const names = Object.keys(RAY).filter((n) => results[n] !== undefined);
  const row = 34;
  const left = 330;
  const width = 560;
  const top = 50;
  const height = top + names.length * row + 40;
  const values = names.flatMap((n) => [results[n]?.mean ?? 1, RAY[n] ?? 1]);
  const lo = Math.floor(Math.log10(Math.min(...values)));
  const hi = Math.ceil(Math.log10(Math.max(...values)));
  const x = (v: number) => left + ((Math.log10(Math.max(v, 10 ** lo)) - lo) / (hi - lo)) * width;
  const out: string[] = [];
  out.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${left + width + 130}" height="${height}" font-family="sans-serif" font-size="12">`,
  );
  out.push("<title>rayts microbenchmark beside Ray's published figures</title>");
  out.push(`<rect width="100%" height="100%" fill="white"/>`);
  out.push(
    `<text x="10" y="22" font-size="15" font-weight="bold">rayts (2 vCPU) vs Ray 2.5x (64 vCPU): rayts microbenchmark, log scale</text>`,
  );
  for (let p = lo; p <= hi; p++) {
    const gx = x(10 ** p);
    out.push(`<line x1="${gx}" y1="${top - 8}" x2="${gx}" y2="${height - 30}" stroke="#ddd"/>`);
    out.push(`<text x="${gx}" y="${height - 14}" text-anchor="middle" fill="#555">1e${p}</text>`);
  }
  names.forEach((name, i) => {
    const y = top + i * row;
    const r = results[name] as Result;
    const ray = RAY[name] as number;
    out.push(`<text x="${left - 8}" y="${y + 15}" text-anchor="end">${xmlEscape(name)}</text>`);
    out.push(`<rect x="${left}" y="${y}" width="${x(r.mean) - left}" height="12" fill="#2b7bb9"/>`);
    out.push(`<rect x="${left}" y="${y + 14}" width="${x(ray) - left}" height="12" fill="#f39c34"/>`);
    out.push(
      `<text x="${x(r.mean) + 4}" y="${y + 10}" fill="#2b7bb9">${Math.round(r.mean).toLocaleString("en")} ${xmlEscape(r.unit)}</text>`,
    );
    out.push(`<text x="${x(ray) + 4}" y="${y + 24}" fill="#c0701a">${ray.toLocaleString("en")}</text>`);
  });
  out.push(
    `<rect x="${left}" y="32" width="12" height="10" fill="#2b7bb9"/><text x="${left + 16}" y="41">rayts</text>`,
  );
  out.push(
    `<rect x="${left + 70}" y="32" width="12" height="10" fill="#f39c34"/><text x="${left + 86}" y="41">Ray (published)</text>`,
  );
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

if (import.meta.main) {
  const [input, output] = process.argv.slice(2);
  if (input === undefined || output === undefined) {
    console.error(
      "Usage: bun benchmarks/chart.ts RESULTS.json OUT.svg (RESULTS from rayts microbenchmark --json)",
    );
    process.exit(2);
  }
  writeFileSync(output, chart(readResults(input)));
  console.log(`Wrote ${output}`);
}
