import { describe, expect, test } from "bun:test";
import { encode } from "@msgpack/msgpack";
import { decodeFrame, encodeFrame, MAX_MESSAGES_PER_FRAME } from "../../src/transport/frame-codec.ts";
import { FrameError } from "../../src/transport/transport-errors.ts";

function frameError(bytes: Uint8Array, maxBytes?: number): FrameError {
  try {
    decodeFrame(bytes, maxBytes);
  } catch (err) {
    if (err instanceof FrameError) return err;
    throw err;
  }
  throw new Error("decodeFrame accepted the frame");
}

describe("frame codec", () => {
  test("a batch of messages round-trips with its fields", () => {
    const messages = [
      { t: "heartbeat", nodeId: "ab", report: { total: { CPU: 2 } } },
      { t: "status", id: 7 },
      { t: "reply", re: 7, value: [1, "two", null, new Uint8Array([3])] },
    ];
    expect(decodeFrame(encodeFrame(messages))).toEqual(messages);
  });

  test("strings of every length and script decode exactly, as values and as map keys", () => {
    const strings = [
      "",
      "a",
      "553166e0440000000001",
      "/tmp/job/ünïcode/模块.ts",
      "emoji 🚀 and a lone surrogate pair 𝄞",
      "x".repeat(31),
      "y".repeat(32),
      "z".repeat(199),
      "w".repeat(201),
      "é".repeat(5_000),
    ];
    const messages = strings.map((v, i) => ({ t: "s", v, nested: { [v || "empty"]: [v, i] } }));
    expect(decodeFrame(encodeFrame(messages))).toEqual(messages);
  });

  test("a frame cut inside a string is a truncated frame", () => {
    const bytes = encodeFrame([{ t: "s", v: "0123456789abcdef0123456789" }]);
    expect(frameError(bytes.subarray(0, bytes.length - 5)).message).toMatch(/^Truncated frame/);
  });

  test("undefined fields are left out rather than sent as nil", () => {
    const [message] = decodeFrame(encodeFrame([{ t: "x", maybe: undefined }]));
    expect(Object.keys(message!)).toEqual(["t"]);
  });

  test("bytes that are not msgpack are a malformed frame", () => {
    const err = frameError(new Uint8Array([0xc1]));
    expect(err.code).toBe("ERR_FRAME");
    expect(err.message).toStartWith("Malformed frame:");
  });

  test("a frame cut short is a truncated frame", () => {
    const bytes = encodeFrame([{ t: "status", id: 1, pad: "x".repeat(100) }]);
    expect(frameError(bytes.slice(0, bytes.length - 10)).message).toStartWith("Truncated frame:");
  });

  test("trailing bytes after the array are malformed", () => {
    const bytes = encodeFrame([{ t: "a" }]);
    const longer = new Uint8Array(bytes.length + 1);
    longer.set(bytes);
    expect(frameError(longer).message).toStartWith("Malformed frame:");
  });

  test("an empty frame, a non-array and an array of non-messages are refused", () => {
    expect(frameError(new Uint8Array(0)).message).toContain("empty");
    expect(frameError(encode({ t: "status" })).message).toContain("not an array");
    expect(frameError(encode([{ t: "ok" }, { x: 1 }])).message).toContain("index 1");
    expect(frameError(encode([{ t: "" }])).message).toContain("index 0");
    expect(frameError(encode([{ t: "a", id: 1.5 }])).message).toContain("index 0");
    expect(frameError(encode([[1]])).message).toContain("index 0");
  });

  test("a frame over the limit is refused before decoding", () => {
    const bytes = encodeFrame([{ t: "blob", data: new Uint8Array(2000) }]);
    expect(frameError(bytes, 1000).message).toStartWith("Frame is too large: ");
  });

  test("a header that claims billions of elements is refused without allocating them", () => {
    expect(frameError(new Uint8Array([0xdd, 0xff, 0xff, 0xff, 0xf0])).message).toContain("Malformed frame");
  });

  test("more messages than a frame may hold are refused", () => {
    const many = Array.from({ length: MAX_MESSAGES_PER_FRAME + 1 }, () => ({ t: "x" }));
    expect(frameError(encode(many)).message).toContain("too many messages");
  });

  test("a __proto__ key cannot reach an object's prototype", () => {
    const bytes = new Uint8Array([
      0x91,
      0x82,
      0xa1,
      0x74,
      0xa1,
      0x78,
      0xa9,
      ...new TextEncoder().encode("__proto__"),
      0x80,
    ]);
    expect(frameError(bytes).message).toContain("__proto__");
  });
});
