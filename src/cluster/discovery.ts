/**
 * Finding the cluster to talk to. Address: `--address`, then `RAYTS_ADDRESS`, then the latest head
 * started on this machine (also for `auto`). Token: `--token`, then `RAYTS_TOKEN`, then the token file
 * of the local head at that address.
 */
import { isClusterProcess } from "./process-alive.ts";
import { type HeadRecord, listSessions, readHeadRecord, readToken, type Session } from "./session-dir.ts";

/** A head started on this machine that still runs. */
export interface LocalHead {
  readonly session: Session;
  readonly record: HeadRecord;
}

/** Running heads on this machine, newest first. */
export function localHeads(): LocalHead[] {
  const out: LocalHead[] = [];
  for (const session of listSessions()) {
    const record = readHeadRecord(session);
    if (record !== undefined && isClusterProcess(record.pid, "head")) out.push({ session, record });
  }
  return out;
}

/** The address to use, or undefined when none is given and no head runs here. */
export function resolveAddress(flag: string | undefined): string | undefined {
  const given = flag ?? (process.env.RAYTS_ADDRESS || undefined);
  if (given !== undefined && given !== "auto") return given;
  return localHeads()[0]?.record.address;
}

/** The token for `address`, or undefined when none is given and no local head at that address wrote one. */
export function resolveToken(flag: string | undefined, address: string): string | undefined {
  const given = flag ?? (process.env.RAYTS_TOKEN || undefined);
  if (given !== undefined) return given;
  const head = localHeads().find(
    (h) => h.record.address === address || sameLoopback(h.record.address, address),
  );
  return head === undefined ? undefined : readToken(head.session);
}

const LOOPBACK = new Set(["127.0.0.1", "localhost", "[::1]"]);

function sameLoopback(a: string, b: string): boolean {
  const [hostA, portA] = splitAddress(a);
  const [hostB, portB] = splitAddress(b);
  return portA === portB && LOOPBACK.has(hostA) && LOOPBACK.has(hostB);
}

function splitAddress(address: string): [string, string] {
  const colon = address.lastIndexOf(":");
  return [address.slice(0, colon), address.slice(colon + 1)];
}
