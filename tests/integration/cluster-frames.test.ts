import { describe, expect, test } from "bun:test";
import { decode, encode } from "@msgpack/msgpack";
import { startCluster } from "../cluster-harness.ts";

const TIMEOUT = 60_000;
const MiB = 1024 * 1024;

/** A raw control socket that hands back each decoded frame it receives. */
class RawSocket {
  readonly #ws: WebSocket;
  readonly #frames: unknown[] = [];
  readonly #waiters: Array<() => void> = [];
  closeCode: number | undefined;

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.addEventListener("message", (event) => {
      this.#frames.push(decode(new Uint8Array(event.data as ArrayBuffer)));
      for (const wake of this.#waiters.splice(0)) wake();
    });
    ws.addEventListener("close", (event) => {
      this.closeCode = event.code;
      for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  static open(address: string, token: string): Promise<RawSocket> {
    const ws = new WebSocket(`ws://${address}/ws`, { headers: { authorization: `Bearer ${token}` } });
    ws.binaryType = "arraybuffer";
    const socket = new RawSocket(ws);
    return new Promise((resolve, reject) => {
      ws.addEventListener("open", () => resolve(socket));
      ws.addEventListener("close", () => reject(new Error("The control socket was refused")));
    });
  }

  send(data: Uint8Array | string): void {
    this.#ws.send(data);
  }

  /** The next frame's messages; throws when the socket closes first. */
  async next(): Promise<Array<Record<string, unknown>>> {
    while (this.#frames.length === 0) {
      if (this.closeCode !== undefined) throw new Error(`The socket closed (${this.closeCode})`);
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    return this.#frames.shift() as Array<Record<string, unknown>>;
  }

  async closed(): Promise<number> {
    while (this.closeCode === undefined) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    return this.closeCode;
  }

  close(): void {
    this.#ws.close();
  }
}

async function expectError(socket: RawSocket, pattern: RegExp, code = "ERR_FRAME"): Promise<void> {
  const [answer] = await socket.next();
  expect(answer).toMatchObject({ t: "error", code });
  expect(String(answer?.message)).toMatch(pattern);
}

describe("control frames", () => {
  test(
    "malformed, truncated, oversized and unknown frames get an error answer and the head stays up",
    async () => {
      await using cluster = await startCluster();
      const socket = await RawSocket.open(cluster.address, cluster.token);

      socket.send(new Uint8Array([0xc1, 0x00, 0x01]));
      await expectError(socket, /^Malformed frame/);

      socket.send(encode([{ t: "status", id: 1 }]).slice(0, -3));
      await expectError(socket, /^Truncated frame/);

      socket.send(new Uint8Array(0));
      await expectError(socket, /empty/);

      socket.send(encode({ t: "status", id: 2 }));
      await expectError(socket, /not an array/);

      socket.send(encode([{ nope: 1 }]));
      await expectError(socket, /Malformed message at index 0/);

      socket.send('[{"t":"status"}]');
      await expectError(socket, /Text frames are not accepted/);

      socket.send(new Uint8Array(17 * MiB));
      await expectError(socket, /Frame is too large/);

      // An array header that claims 4 billion elements in a 5-byte frame is refused without allocating.
      socket.send(new Uint8Array([0x91, 0xdd, 0xff, 0xff, 0xff, 0xf0]));
      await expectError(socket, /Malformed frame/);

      socket.send(encode([{ t: "frobnicate", id: 3 }]));
      const [unknown] = await socket.next();
      expect(unknown).toMatchObject({ t: "error", re: 3, code: "ERR_UNKNOWN_MESSAGE" });
      expect(String(unknown?.message)).toContain("Unknown message type: frobnicate");

      socket.send(encode([{ t: "frobnicate" }]));
      const [oneWay] = await socket.next();
      expect(oneWay).toMatchObject({ t: "error", code: "ERR_UNKNOWN_MESSAGE" });
      expect(oneWay?.re).toBeUndefined();

      socket.send(encode([{ t: "register", id: 4, nodeId: 5 }]));
      const [badRegister] = await socket.next();
      expect(badRegister).toMatchObject({ t: "error", re: 4, code: "ERR_INVALID_MESSAGE" });
      expect(String(badRegister?.message)).toContain("Invalid nodeId");

      socket.send(encode([{ t: "heartbeat", nodeId: "ffff", report: {} }]));
      await expectError(socket, /register first/, "ERR_INVALID_MESSAGE");

      // The same socket still works, and the head's state is untouched.
      socket.send(encode([{ t: "status", id: 5 }]));
      const [reply] = await socket.next();
      expect(reply).toMatchObject({ t: "reply", re: 5 });
      expect((reply!.value as { nodes: unknown[] }).nodes).toHaveLength(1);
      socket.close();

      expect(cluster.head.proc.exitCode).toBeNull();
      expect((await cluster.status()).nodes).toHaveLength(1);
    },
    TIMEOUT,
  );

  test(
    "a frame past the socket limit closes only that socket",
    async () => {
      await using cluster = await startCluster();
      const socket = await RawSocket.open(cluster.address, cluster.token);
      socket.send(new Uint8Array(40 * MiB));
      expect(await socket.closed()).toBe(1009);
      const other = await RawSocket.open(cluster.address, cluster.token);
      other.send(encode([{ t: "status", id: 1 }]));
      expect((await other.next())[0]).toMatchObject({ t: "reply", re: 1 });
      other.close();
    },
    TIMEOUT,
  );

  test(
    "a node's port answers bad frames with errors too",
    async () => {
      await using cluster = await startCluster();
      const node = await cluster.addNode();
      const socket = await RawSocket.open(node.address, cluster.token);
      socket.send(new Uint8Array([0xff, 0xff]));
      await expectError(socket, /frame/i);
      socket.send(encode([{ t: "status", id: 1 }]));
      const [answer] = await socket.next();
      expect(answer).toMatchObject({ t: "error", re: 1, code: "ERR_UNKNOWN_MESSAGE" });
      socket.close();
      expect(node.proc.exitCode).toBeNull();
    },
    TIMEOUT,
  );
});
