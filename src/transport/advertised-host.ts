/**
 * The host other processes should dial. A server bound to a wildcard (`0.0.0.0`, `::`) listens on
 * every interface, but that address means nothing to a peer: advertise this machine's first external
 * IPv4 address instead (loopback when it has none).
 */
import { networkInterfaces } from "node:os";

/** The host to put in the advertised `host:port` of a server bound to `bound`. */
export function advertisedHost(bound: string): string {
  if (bound !== "0.0.0.0" && bound !== "::" && bound !== "[::]") return bound;
  for (const addresses of Object.values(networkInterfaces())) {
    for (const a of addresses ?? []) {
      if (a.family === "IPv4" && !a.internal) return a.address;
    }
  }
  return "127.0.0.1";
}
