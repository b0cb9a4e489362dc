/**
 * `pullObject`/`pushObject` against the object routes of an in-process transport server: bytes land
 * in a block of the receiving store, the served block is pinned while it streams, and failures (short
 * body, unknown id, wrong token) free the block and throw a clear error.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { ObjectStore } from "../../src/store/object-store.ts";
import { ShmArena } from "../../src/store/shm-arena.ts";
import {
  ObjectTransferError,
  OwnerClient,
  pullObject,
  pullObjectBytes,
  pushObject,
} from "../../src/transport/object-pull.ts";
import { objectRoutes } from "../../src/transport/object-routes.ts";
import { startTransportServer, type TransportServer } from "../../src/transport/transport-server.ts";

const prefix = `rayts_test_pull_${process.pid}_`;
const TOKEN = "t".repeat(32);
const SIZE = 3 * 1024 * 1024 + 17;
const arenas: ShmArena[] = [];
const servers: TransportServer[] = [];
let counter = 0;

function makeStore(capacity = 16 * 1024 * 1024): ObjectStore {
  const arena = ShmArena.create(`/${prefix}${counter++}`, capacity);
  arenas.push(arena);
  return new ObjectStore(arena);
}

function serve(store: ObjectStore): string {
  const server = startTransportServer({
    host: "127.0.0.1",
    port: 0,
    token: TOKEN,
    onPeer: () => {},
    routes: (app) => {
      // A body of another length than the object's.
      app.get("/objects/short", () => new Response(new Uint8Array(10)));
      objectRoutes(app, () => ({ store, objects: undefined }));
    },
  });
  servers.push(server);
  return server.address;
}

afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop();
  for (const a of arenas.splice(0)) {
    a.close();
    a.unlink();
  }
});

function sealed(store: ObjectStore, id: string, size = SIZE): Uint8Array {
  const off = store.allocShm(size);
  const bytes = store.arena!.slice(off, size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 31) & 0xff;
  store.expect(id);
  store.addRef(id);
  store.seal(id, { payload: { t: 1, off, size }, err: false }, undefined);
  return bytes;
}

describe("object transfer client", () => {
  test("pulls a shm object into a block of the local store", async () => {
    const there = makeStore();
    const here = makeStore();
    const expected = sealed(there, "obj1").slice();
    const off = await pullObject(here, serve(there), TOKEN, "obj1", SIZE);
    expect(here.arena!.slice(off, SIZE)).toEqual(expected);
    here.freeShm(off);
  });

  test("pushes a local block into a block of the other store", async () => {
    const there = makeStore();
    const here = makeStore();
    const bytes = sealed(here, "obj2");
    const off = await pushObject(serve(there), TOKEN, "obj2", bytes);
    expect(there.arena!.slice(off, SIZE)).toEqual(bytes.slice());
  });

  test("a body of the wrong length, an unknown id or a wrong token frees the block and throws", async () => {
    const there = makeStore();
    const here = makeStore();
    const address = serve(there);
    sealed(there, "obj3");
    const used = here.stats().shmUsed;
    await expect(pullObject(here, address, TOKEN, "short", SIZE)).rejects.toThrow(/has 10 bytes, expected/);
    await expect(pullObject(here, address, TOKEN, "nope", SIZE)).rejects.toThrow(/HTTP 404.*Unknown object/);
    await expect(pullObject(here, address, "w".repeat(32), "obj3", SIZE)).rejects.toBeInstanceOf(
      ObjectTransferError,
    );
    expect(here.stats().shmUsed).toBe(used);
  });

  test("small objects (through fetch) and large ones (through the native thread) arrive intact", async () => {
    const there = makeStore();
    const here = makeStore();
    const address = serve(there);
    for (const [id, size] of [
      ["small", 1000],
      ["large", 2 * 1024 * 1024 + 5],
    ] as const) {
      const off = there.allocShm(size);
      const bytes = there.arena!.slice(off, size);
      for (let i = 0; i < size; i++) bytes[i] = (i * 7 + size) & 0xff;
      there.expect(id);
      there.addRef(id);
      there.seal(id, { payload: { t: 1, off, size }, err: false }, undefined);
      const got = await pullObject(here, address, TOKEN, id, size);
      expect(here.arena!.slice(got, size)).toEqual(bytes.slice());
      here.freeShm(got);
    }
  });

  test("a process without a store pulls small and large objects into memory; a wrong token is refused", async () => {
    const there = makeStore();
    const address = serve(there);
    for (const [id, size] of [
      ["small-bytes", 5000],
      ["large-bytes", 2 * 1024 * 1024 + 9],
    ] as const) {
      const off = there.allocShm(size);
      const bytes = there.arena!.slice(off, size);
      for (let i = 0; i < size; i++) bytes[i] = (i * 11 + 3) & 0xff;
      there.expect(id);
      there.addRef(id);
      there.seal(id, { payload: { t: 1, off, size }, err: false }, undefined);
      const got = await pullObjectBytes(address, TOKEN, id, size);
      expect(Buffer.compare(Buffer.from(got), Buffer.from(bytes))).toBe(0);
      await expect(pullObjectBytes(address, "w".repeat(32), id, size)).rejects.toThrow(/HTTP 401/);
    }
    await expect(pullObjectBytes(address, TOKEN, "nope", 2 * 1024 * 1024)).rejects.toThrow(
      /HTTP 404.*Unknown object/,
    );
  });

  test("an object freed while its body streams keeps its block until the body is sent", async () => {
    // Larger than what the sockets buffer, so the body is still streaming when the object is freed.
    const big = 48 * 1024 * 1024;
    const there = makeStore(2 * big + 1024 * 1024);
    const address = serve(there);
    const expected = sealed(there, "obj4", big).slice();
    const res = await fetch(`http://${address}/objects/obj4`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const reader = res.body!.getReader();
    const first = await reader.read();
    const chunks: Uint8Array[] = [first.value!];
    there.free("obj4");
    // Were the block not pinned, this allocation would take it and overwrite what is still streaming.
    const other = there.allocShm(big);
    there.arena!.slice(other, big).fill(0xee);
    for (let r = await reader.read(); !r.done; r = await reader.read()) chunks.push(r.value);
    expect(Buffer.compare(Buffer.concat(chunks), Buffer.from(expected))).toBe(0);
    there.freeShm(other);
    expect(there.stats().shmUsed).toBe(0);
  });

  test("an owner client's idle() resolves once the ops sent so far are answered", async () => {
    let answer: () => void = () => {};
    const answered = new Promise<void>((resolve) => {
      answer = resolve;
    });
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      async fetch(req) {
        const body = (await req.json()) as { ops: unknown[] };
        await answered;
        return Response.json(body.ops.map(() => ({})));
      },
    });
    servers.push({ stop: async () => void server.stop(true) } as unknown as TransportServer);
    const client = new OwnerClient(`127.0.0.1:${server.port}`, TOKEN, "127.0.0.1:1");
    const events: string[] = [];
    const sent = client.send({ op: "free", id: "x" }).then(() => events.push("answered"));
    const idle = client.idle().then(() => events.push("idle"));
    await Bun.sleep(50);
    expect(events).toEqual([]);
    answer();
    await Promise.all([sent, idle]);
    expect(events).toEqual(["answered", "idle"]);
    await client.idle(); // nothing pending: resolves at once
  });
});
