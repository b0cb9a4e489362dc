import { describe, expect, test } from "bun:test";
import { readdirSync } from "node:fs";
import { runRayts, tempDir } from "../harness.ts";

describe("rayts microbenchmark", () => {
  test("--quick --json --filter single_client_put_calls prints the metric as JSON on its last line", async () => {
    await using tmp = tempDir();
    const { code, stdout, stderr } = await runRayts(
      ["microbenchmark", "--quick", "--json", "--filter", "single_client_put_calls"],
      { env: { TMPDIR: tmp.path }, timeoutMs: 60_000 },
    );
    expect(stderr).toBe("");
    expect(code).toBe(0);
    const last = stdout.trim().split("\n").at(-1) ?? "";
    const results = JSON.parse(last) as Record<string, { mean: number; sd: number; unit: string }>;
    expect(Object.keys(results)).toEqual(["single_client_put_calls"]);
    const metric = results.single_client_put_calls!;
    expect(metric.unit).toBe("ops/s");
    expect(metric.mean).toBeGreaterThan(0);
    expect(Number.isFinite(metric.sd)).toBe(true);
    // The workload module it wrote for the workers is gone.
    expect(readdirSync(tmp.path).filter((name) => name.startsWith("rayts-bench-"))).toEqual([]);
  });

  test("a filter that matches no metric exits 2 and names the filter", async () => {
    const { code, stderr } = await runRayts(["microbenchmark", "--filter", "no_such_metric"]);
    expect(code).toBe(2);
    expect(stderr).toContain("No metric matches --filter no_such_metric");
  });
});
