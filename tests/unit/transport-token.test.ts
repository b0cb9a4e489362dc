import { describe, expect, test } from "bun:test";
import { authHeaders, generateToken, tokenOf, tokensEqual } from "../../src/transport/token.ts";

describe("cluster token", () => {
  test("generated tokens are 64 hex characters and differ", () => {
    const a = generateToken();
    expect(a).toMatch(/^[0-9a-f]{64}$/);
    expect(generateToken()).not.toBe(a);
  });

  test("tokensEqual accepts the same token and rejects any other", () => {
    const token = generateToken();
    expect(tokensEqual(token, token)).toBe(true);
    expect(tokensEqual(`${token}`, token.slice())).toBe(true);
    expect(tokensEqual(token.slice(0, -1), token)).toBe(false);
    expect(tokensEqual(`${token}0`, token)).toBe(false);
    expect(tokensEqual("", token)).toBe(false);
    expect(
      tokensEqual(
        token.replace(/.$/, (c) => (c === "0" ? "1" : "0")),
        token,
      ),
    ).toBe(false);
  });

  test("tokensEqual compares fixed-size digests, so inputs of any length take the same path", () => {
    // Not a timing measurement (see CONVENTIONS: no timing assertions): both sides are hashed to 32
    // bytes, so a very long guess neither throws nor short-circuits on its length.
    expect(tokensEqual("x".repeat(100_000), "short")).toBe(false);
    expect(tokensEqual("é", "e")).toBe(false);
  });

  test("tokenOf reads the Bearer header first, then the token query parameter", () => {
    expect(tokenOf(new Request("http://h/x", { headers: authHeaders("abc") }))).toBe("abc");
    expect(tokenOf(new Request("http://h/x", { headers: { authorization: "bearer  abc " } }))).toBe("abc");
    expect(tokenOf(new Request("http://h/ws?token=q1"))).toBe("q1");
    expect(tokenOf(new Request("http://h/x"))).toBeUndefined();
    expect(tokenOf(new Request("http://h/x", { headers: { authorization: "Basic abc" } }))).toBeUndefined();
    // A header that is present but wrong is not overridden by the query.
    expect(
      tokenOf(new Request("http://h/ws?token=q1", { headers: { authorization: "Basic abc" } })),
    ).toBeUndefined();
  });
});
