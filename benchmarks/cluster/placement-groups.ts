/**
 * Placement groups on a real cluster: a head without CPUs and 4 nodes of 4 CPUs as `dist/rayts`
 * processes on this machine, and a driver (`placement-groups-driver.ts`) that creates and removes
 * 1,000 groups of 2 SPREAD bundles (each spans two nodes: a two-phase reservation over both). Prints
 * the create+ready+remove rate with 100 groups in flight and one group at a time; the last line is
 * the summary.
 *
 *   bun benchmarks/cluster/placement-groups.ts [--quick]
 *
 * Every process shares this machine's cores: the figure is for a cluster squeezed onto one box.
 */
import { join, resolve } from "node:path";
import { isBuildStale } from "../../scripts/build-staleness.ts";
import { Sandbox } from "../../tests/cluster-harness.ts";

const ROOT = resolve(import.meta.dir, "..", "..");
const DRIVER = join(import.meta.dir, "placement-groups-driver.ts");
const NODES = 4;
const quick = process.argv.includes("--quick");
const groups = quick ? 200 : 1000;

if (isBuildStale(ROOT)) {
  const build = Bun.spawnSync([process.execPath, join(ROOT, "build.ts")], {
    cwd: ROOT,
    stdout: "inherit",
    stderr: "inherit",
  });
  if (build.exitCode !== 0) throw new Error(`bun build.ts exited ${build.exitCode}`);
}

await using sandbox = new Sandbox();
const head = sandbox.spawn([
  "head",
  "--port",
  "0",
  "--num-cpus",
  "0",
  "--object-store-memory",
  String(64 << 20),
]);
const address = (await head.waitForOutput(/Started rayts head at (\S+)/))[1] as string;
const token = (await head.waitForOutput(/Token:\s+(\S+)/))[1] as string;
await Promise.all(
  Array.from({ length: NODES }, async () => {
    const node = sandbox.spawn([
      "node",
      "--join",
      address,
      "--token",
      token,
      "--port",
      "0",
      "--num-cpus",
      "4",
      "--object-store-memory",
      String(64 << 20),
    ]);
    await node.waitForOutput(/Started rayts node (\w+) at (\S+),/);
  }),
);
for (let i = 0; ; i++) {
  const r = await sandbox.rayts(["status", "--format", "json", "--address", address]);
  if (r.code === 0 && (JSON.parse(r.stdout) as { nodes: unknown[] }).nodes.length >= NODES + 1) break;
  if (i > 300) throw new Error(`The cluster did not reach ${NODES + 1} nodes`);
  await Bun.sleep(100);
}
const run = await sandbox.rayts(["--address", address, "--token", token, DRIVER, String(groups)], {
  timeoutMs: 900_000,
});
const line = run.stdout.split("\n").find((l) => l.startsWith("RESULT "));
if (run.code !== 0 || line === undefined) {
  throw new Error(`The driver exited ${run.code}:\n${run.stdout}\n${run.stderr}`);
}
const r = JSON.parse(line.slice("RESULT ".length)) as {
  n: number;
  spread: number;
  batchedRate: number;
  serialRate: number;
  left: number;
};
if (r.spread !== 2) throw new Error(`A SPREAD group of 2 bundles landed on ${r.spread} node(s), not 2`);
if (r.left !== 0) throw new Error(`${r.left} groups were not removed`);
const fmt = (x: number) => x.toLocaleString("en-US", { maximumFractionDigits: 0 });
console.log(
  `nodes: ${NODES} of 4 CPUs (head without CPUs); groups: ${r.n} of 2 SPREAD bundles, each over 2 nodes`,
);
console.log(`one at a time (create, ready, remove): ${fmt(r.serialRate)} groups/s`);
console.log(
  `placement groups on ${NODES} nodes: ${fmt(r.batchedRate)} groups/s created+removed with 100 in flight, ${fmt(r.serialRate)} groups/s one at a time (${r.n} groups)`,
);
