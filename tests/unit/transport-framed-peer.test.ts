import { describe, expect, test } from "bun:test";
import { decode } from "@msgpack/msgpack";
import { FramedPeer } from "../../src/transport/framed-peer.ts";
import { routeMessages } from "../../src/transport/message-router.ts";
import { PeerClosedError, RemoteError, RequestTimeoutError } from "../../src/transport/transport-errors.ts";

/** Two peers wired back to back in memory; `frames` counts what each side wrote. */
function pair(maxFrameBytes?: number) {
  const frames = { a: [] as Uint8Array[], b: [] as Uint8Array[] };
  let a: FramedPeer;
  let b: FramedPeer;
  a = new FramedPeer({
    remote: "b",
    maxFrameBytes,
    write: (frame) => {
      frames.a.push(frame);
      queueMicrotask(() => b.receive(frame));
    },
    shut: (_code, reason) => queueMicrotask(() => b.closed(reason)),
  });
  b = new FramedPeer({
    remote: "a",
    maxFrameBytes,
    write: (frame) => {
      frames.b.push(frame);
      queueMicrotask(() => a.receive(frame));
    },
    shut: (_code, reason) => queueMicrotask(() => a.closed(reason)),
  });
  return { a, b, frames };
}

describe("FramedPeer", () => {
  test("request resolves with the handler's value, sync or async", async () => {
    const { a, b } = pair();
    b.onMessage(routeMessages({ add: (m) => (m.x as number) + 1, later: async () => "done" }));
    expect(await a.request({ t: "add", x: 41 })).toBe(42);
    expect(await a.request({ t: "later" })).toBe("done");
  });

  test("messages sent in one turn leave in one frame", async () => {
    const { a, b, frames } = pair();
    const seen: unknown[] = [];
    b.onMessage((m) => void seen.push(m.n));
    for (let n = 0; n < 100; n++) a.send({ t: "tick", n });
    await Bun.sleep(0);
    expect(frames.a).toHaveLength(1);
    expect(seen).toEqual(Array.from({ length: 100 }, (_, n) => n));
  });

  test("a batch larger than a frame is split across frames in order", async () => {
    const { a, b, frames } = pair(4096);
    const seen: unknown[] = [];
    b.onMessage((m) => void seen.push(m.n));
    for (let n = 0; n < 50; n++) a.send({ t: "tick", n, pad: "x".repeat(200) });
    await Bun.sleep(0);
    expect(frames.a.length).toBeGreaterThan(1);
    for (const frame of frames.a) expect(frame.byteLength).toBeLessThanOrEqual(4096);
    expect(seen).toEqual(Array.from({ length: 50 }, (_, n) => n));
  });

  test("a handler that throws answers the request with its code and message", async () => {
    const { a, b } = pair();
    b.onMessage(
      routeMessages({
        boom: () => {
          throw new PeerClosedError("Nope: detail");
        },
      }),
    );
    const err = await a.request({ t: "boom" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RemoteError);
    expect((err as RemoteError).code).toBe("ERR_PEER_CLOSED");
    expect((err as RemoteError).message).toBe("Nope: detail");
  });

  test("an unknown type is answered with ERR_UNKNOWN_MESSAGE, for requests and one-way messages", async () => {
    const { a, b } = pair();
    b.onMessage(routeMessages({ known: () => 1 }));
    const err = (await a.request({ t: "other" }).catch((e: unknown) => e)) as RemoteError;
    expect(err.code).toBe("ERR_UNKNOWN_MESSAGE");
    expect(err.message).toContain("Unknown message type: other");
    const oneWay = new Promise<RemoteError>((resolve) => a.onError(resolve));
    a.send({ t: "other" });
    expect((await oneWay).code).toBe("ERR_UNKNOWN_MESSAGE");
  });

  test("a bad frame is answered with an error frame, and the peer keeps working", async () => {
    const { a, b, frames } = pair();
    b.onMessage(routeMessages({ ping: () => "pong" }));
    b.receive(new Uint8Array([0xc1]));
    b.receive("text");
    await Bun.sleep(0);
    const answers = frames.b.flatMap((f) => decode(f) as Array<{ t: string; code: string }>);
    expect(answers.map((m) => m?.code)).toEqual(["ERR_FRAME", "ERR_FRAME"]);
    expect(await a.request({ t: "ping" })).toBe("pong");
  });

  test("closing rejects pending requests with PeerClosedError and runs close callbacks once", async () => {
    const { a, b } = pair();
    b.onMessage(() => new Promise(() => {}));
    const pending = a.request({ t: "never" });
    const reasons: string[] = [];
    a.onClose((r) => reasons.push(r));
    a.close("bye");
    a.close("again");
    expect(await pending.catch((e: unknown) => e)).toBeInstanceOf(PeerClosedError);
    expect(reasons).toEqual(["bye"]);
    expect(a.state).toBe("CLOSED");
    expect(await a.request({ t: "x" }).catch((e: unknown) => e)).toBeInstanceOf(PeerClosedError);
  });

  test("a request without an answer rejects with RequestTimeoutError", async () => {
    const { a, b } = pair();
    b.onMessage(() => new Promise(() => {}));
    expect(await a.request({ t: "slow" }, { timeoutMs: 10 }).catch((e: unknown) => e)).toBeInstanceOf(
      RequestTimeoutError,
    );
  });
});
