/**
 * `ShmArena.receiveHttp`: the native thread that receives an HTTP body straight into a block, against
 * raw TCP servers that answer exactly what each case needs (a length or chunks, a body cut short or
 * too long, an error status, garbage, silence) and an arena closed mid-transfer.
 */
import { afterEach, describe, expect, test } from "bun:test";
import { ShmArena } from "../../src/store/shm-arena.ts";

const MiB = 1024 * 1024;
const arenas: ShmArena[] = [];
const servers: { stop(force?: boolean): void }[] = [];

function makeArena(): ShmArena {
  const arena = ShmArena.create(`/rayts_test_recv_${process.pid}_${arenas.length}`, 8 * MiB);
  arena.unlink();
  arenas.push(arena);
  return arena;
}

afterEach(() => {
  for (const s of servers.splice(0)) s.stop(true);
  for (const a of arenas.splice(0)) a.close();
});

/** A TCP server that answers every connection with `reply` (written in pieces) and then closes it, unless `hold`. */
function rawServer(reply: Uint8Array[], hold = false): string {
  const server = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      async data(socket) {
        for (const piece of reply) {
          socket.write(piece);
          await Bun.sleep(1);
        }
        if (!hold) socket.end();
      },
    },
  });
  servers.push(server);
  return String(server.port);
}

const text = (s: string) => new TextEncoder().encode(s);
const REQUEST = "GET /objects/x HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n";

function pattern(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  for (let i = 0; i < size; i++) bytes[i] = (i * 13 + 7) & 0xff;
  return bytes;
}

describe("ShmArena.receiveHttp", () => {
  test("a body with a Content-Length lands in the block, split across many reads", async () => {
    const arena = makeArena();
    const size = 2 * MiB + 3;
    const body = pattern(size);
    const port = rawServer([
      text(`HTTP/1.1 200 OK\r\nContent-Length: ${size}\r\n\r\n`),
      body.subarray(0, 1000),
      body.subarray(1000),
    ]);
    const off = arena.alloc(size);
    const r = await arena.receiveHttp("127.0.0.1", port, REQUEST, off, size, 10_000);
    expect(r).toEqual({ ok: true, status: 200, message: "" });
    expect(Buffer.compare(Buffer.from(arena.slice(off, size)), Buffer.from(body))).toBe(0);
  });

  test("a chunked body is reassembled, chunk boundaries anywhere", async () => {
    const arena = makeArena();
    const body = pattern(300_000);
    const pieces: Uint8Array[] = [text("HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")];
    for (const [from, to] of [
      [0, 1],
      [1, 65_536],
      [65_536, 300_000],
    ] as const) {
      pieces.push(text(`${(to - from).toString(16)}\r\n`), body.subarray(from, to), text("\r\n"));
    }
    pieces.push(text("0\r\n\r\n"));
    const port = rawServer(pieces);
    const off = arena.alloc(body.length);
    const r = await arena.receiveHttp("127.0.0.1", port, REQUEST, off, body.length, 10_000);
    expect(r.ok).toBe(true);
    expect(Buffer.compare(Buffer.from(arena.slice(off, body.length)), Buffer.from(body))).toBe(0);
  });

  test("a body cut short, a body too long and a length that differs are errors", async () => {
    const arena = makeArena();
    const off = arena.alloc(1000);
    const cut = rawServer([text("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"), new Uint8Array(10)]);
    expect((await arena.receiveHttp("127.0.0.1", cut, REQUEST, off, 1000, 10_000)).message).toBe(
      "the body ended after 10 of 1000 bytes",
    );
    const long = rawServer([
      text("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"),
      text("7d0\r\n"),
      new Uint8Array(2000),
    ]);
    expect((await arena.receiveHttp("127.0.0.1", long, REQUEST, off, 1000, 10_000)).message).toBe(
      "the body is longer than the expected 1000 bytes",
    );
    const other = rawServer([text("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")]);
    expect((await arena.receiveHttp("127.0.0.1", other, REQUEST, off, 1000, 10_000)).message).toBe(
      "the body has 5 bytes, expected 1000",
    );
  });

  test("an error status answers with its code and the start of its body", async () => {
    const arena = makeArena();
    const body = '{"error":"Unknown object x"}';
    const port = rawServer([text(`HTTP/1.1 404 Not Found\r\nContent-Length: ${body.length}\r\n\r\n${body}`)]);
    const r = await arena.receiveHttp("127.0.0.1", port, REQUEST, arena.alloc(100), 100, 10_000);
    expect(r).toEqual({ ok: false, status: 404, message: `HTTP 404 ${body}` });
  });

  test("garbage, a refused connection and an unknown host are errors, not crashes", async () => {
    const arena = makeArena();
    const off = arena.alloc(100);
    const garbage = rawServer([text("SSH-2.0-OpenSSH\r\n")]);
    expect((await arena.receiveHttp("127.0.0.1", garbage, REQUEST, off, 100, 10_000)).message).toMatch(
      /^not an HTTP response: "SSH-2.0-OpenSSH"/,
    );
    const closed = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const port = String(closed.port);
    closed.stop(true);
    expect((await arena.receiveHttp("127.0.0.1", port, REQUEST, off, 100, 10_000)).message).toMatch(
      /^cannot connect to 127\.0\.0\.1:\d+: Connection refused/,
    );
    expect(
      (await arena.receiveHttp("no-such-host.invalid", "80", REQUEST, off, 100, 10_000)).message,
    ).toMatch(/^cannot resolve no-such-host\.invalid/);
  });

  test("a silent server is given up on after the idle limit", async () => {
    const arena = makeArena();
    const port = rawServer([text("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc")], true);
    const r = await arena.receiveHttp("127.0.0.1", port, REQUEST, arena.alloc(100), 100, 200);
    expect(r).toEqual({ ok: false, status: 200, message: "no data for 200 ms after 3 bytes" });
  });

  test("closing the arena cancels a transfer into it before unmapping", async () => {
    const arena = makeArena();
    const port = rawServer([text("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n")], true);
    const pending = arena.receiveHttp("127.0.0.1", port, REQUEST, arena.alloc(100), 100, 60_000);
    await Bun.sleep(20);
    arena.close();
    expect(await pending).toEqual({ ok: false, status: 200, message: "cancelled" });
  });

  test("a range outside the segment is refused before any thread starts", async () => {
    const arena = makeArena();
    expect(() => arena.receiveHttp("127.0.0.1", "1", REQUEST, arena.capacity - 10, 100, 1000)).toThrow(
      RangeError,
    );
  });
});
