/**
 * A 256 MiB object between two node stores in two processes, over the object routes
 * (`GET /objects/:id` streamed into a shm block), against a raw loopback TCP stream of the same
 * bytes, measured in the same run. Prints GB/s for both; no thresholds.
 *
 *   bun benchmarks/cluster/transfer.ts [MiB]
 *
 * The script runs itself a second time with `--serve`: that process holds the object in its store,
 * serves it on a transport server and streams the same bytes on a plain TCP port.
 */
import { ObjectStore } from "../../src/store/object-store.ts";
import { ShmArena } from "../../src/store/shm-arena.ts";
import { pullObject } from "../../src/transport/object-pull.ts";
import { objectRoutes } from "../../src/transport/object-routes.ts";
import { generateToken } from "../../src/transport/token.ts";
import { startTransportServer } from "../../src/transport/transport-server.ts";

const MiB = 1024 * 1024;
const ID = "bench-object";
const ROUNDS = 3;

function makeStore(tag: string, bytes: number): { store: ObjectStore; arena: ShmArena } {
  const arena = ShmArena.create(`/rayts_bench_${tag}_${process.pid}`, bytes + 64 * MiB);
  arena.unlink(); // the mapping stays; nothing is left behind in /dev/shm
  return { store: new ObjectStore(arena), arena };
}

async function serve(size: number, token: string): Promise<void> {
  const { store, arena } = makeStore("serve", size);
  const off = store.allocShm(size);
  const bytes = arena.slice(off, size);
  for (let i = 0; i < size; i += 4096) bytes[i] = i & 0xff;
  store.expect(ID);
  store.addRef(ID);
  store.seal(ID, { payload: { t: 1, off, size }, err: false }, undefined);
  const server = startTransportServer({
    host: "127.0.0.1",
    port: 0,
    token,
    onPeer: () => {},
    routes: (app) => objectRoutes(app, () => ({ store, objects: undefined })),
  });
  const chunk = 1 * MiB;
  const tcp = Bun.listen<{ pos: number }>({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        s.data = { pos: 0 };
        pump(s);
      },
      drain: pump,
      data() {},
    },
  });
  function pump(s: Bun.Socket<{ pos: number }>): void {
    while (s.data.pos < size) {
      const n = Math.min(chunk, size - s.data.pos);
      const wrote = s.write(bytes.subarray(s.data.pos, s.data.pos + n));
      s.data.pos += wrote;
      if (wrote < n) return;
    }
    s.end();
  }
  console.log(`READY ${server.address} ${tcp.port}`);
  // Stays up until the parent closes stdin.
  for await (const _ of Bun.stdin.stream()) {
  }
  process.exit(0);
}

async function rawTcp(port: number, size: number, into: Uint8Array): Promise<number> {
  const start = performance.now();
  await new Promise<void>((resolve, reject) => {
    let pos = 0;
    void Bun.connect({
      hostname: "127.0.0.1",
      port,
      socket: {
        data(_s, chunk) {
          into.set(chunk, pos);
          pos += chunk.byteLength;
        },
        close() {
          if (pos === size) resolve();
          else reject(new Error(`TCP stream ended after ${pos} of ${size} bytes`));
        },
        error(_s, err) {
          reject(err);
        },
      },
    }).catch(reject);
  });
  return performance.now() - start;
}

async function main(): Promise<void> {
  const size = Number(process.argv[2] ?? 256) * MiB;
  if (process.argv.includes("--serve")) return serve(size, process.env.BENCH_TOKEN as string);
  const token = generateToken();
  const child = Bun.spawn([process.execPath, import.meta.path, String(size / MiB), "--serve"], {
    env: { ...process.env, BENCH_TOKEN: token },
    stdin: "pipe",
    stdout: "pipe",
    stderr: "inherit",
  });
  const reader = child.stdout.getReader();
  let out = "";
  while (!out.includes("\n")) {
    const r = await reader.read();
    if (r.done) throw new Error(`The serving process exited: ${out}`);
    out += new TextDecoder().decode(r.value);
  }
  const [, address, port] = out.trim().split(" ");
  // Room for the TCP target and the pulled block side by side.
  const { store, arena } = makeStore("pull", 2 * size);
  const gbps = (ms: number) => (size / (ms / 1000) / 1e9).toFixed(2);
  const tcpTarget = arena.slice(store.allocShm(size), size);
  console.log(`${size / MiB} MiB between two processes on loopback, ${ROUNDS} rounds each`);
  for (let round = 1; round <= ROUNDS; round++) {
    const tcpMs = await rawTcp(Number(port), size, tcpTarget);
    const start = performance.now();
    const off = await pullObject(store, address as string, token, ID, size);
    const pullMs = performance.now() - start;
    store.freeShm(off);
    console.log(
      `round ${round}: raw TCP ${gbps(tcpMs)} GB/s, GET /objects/:id into shm ${gbps(pullMs)} GB/s (${((tcpMs / pullMs) * 100).toFixed(0)}% of raw)`,
    );
  }
  child.stdin.end();
  await child.exited;
}

await main();
