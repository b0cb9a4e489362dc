/**
 * `pullObject`/`pushObject` against the object routes of an in-process transport server: bytes land
 * in a block of the receiving store, the served block is pinned while it streams, and failures (short
 * body, unknown id, wrong token) free the block and throw a clear error.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { ObjectStore } from "../../src/store/object-store.ts";
import { ShmArena } from "../../src/store/shm-arena.ts";
import { ObjectTransferError, pullObject, pushObject } from "../../src/transport/object-pull.ts";
import { objectRoutes } from "../../src/transport/object-routes.ts";
import { startTransportServer, type TransportServer } from "../../src/transport/transport-server.ts";

const prefix = `rayts_test_pull_${process.pid}_`;
const TOKEN = "t".repeat(32);
const SIZE = 3 * 1024 * 1024 + 17;
const arenas: ShmArena[] = [];
const servers: TransportServer[] = [];
let counter = 0;

function makeStore(): ObjectStore {
  const arena = ShmArena.create(`/${prefix}${counter++}`, 16 * 1024 * 1024);
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
      // A body that ends early, as a node dying mid-transfer would leave it.
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

function sealed(store: ObjectStore, id: string): Uint8Array {
  const off = store.allocShm(SIZE);
  const bytes = store.arena!.slice(off, SIZE);
  for (let i = 0; i < SIZE; i++) bytes[i] = (i * 31) & 0xff;
  store.expect(id);
  store.addRef(id);
  store.seal(id, { payload: { t: 1, off, size: SIZE }, err: false }, undefined);
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

  test("a short body, an unknown id or a wrong token frees the block and throws", async () => {
    const there = makeStore();
    const here = makeStore();
    const address = serve(there);
    sealed(there, "obj3");
    const used = here.stats().shmUsed;
    await expect(pullObject(here, address, TOKEN, "short", SIZE)).rejects.toThrow(/ended after 10 of/);
    await expect(pullObject(here, address, TOKEN, "nope", SIZE)).rejects.toThrow(/HTTP 404.*Unknown object/);
    await expect(pullObject(here, address, "w".repeat(32), "obj3", SIZE)).rejects.toBeInstanceOf(
      ObjectTransferError,
    );
    expect(here.stats().shmUsed).toBe(used);
  });
});
