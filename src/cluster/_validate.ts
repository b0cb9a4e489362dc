/**
 * Checks of message fields a peer sent. Each throws an InvalidMessageError saying which field is wrong and what
 * was expected; the peer turns it into an error answer.
 */
import { InvalidMessageError } from "../transport/transport-errors.ts";
import type { NodeReport, RegisterRequest, ViewNode } from "./cluster-protocol.ts";

function fail(path: string, expected: string, value: unknown): never {
  throw new InvalidMessageError(
    `Invalid ${path}: expected ${expected}, got ${JSON.stringify(value) ?? typeof value}`,
  );
}

export function str(value: unknown, path: string, maxLength = 256): string {
  if (typeof value !== "string" || value.length === 0 || value.length > maxLength) {
    fail(path, `a string of 1 to ${maxLength} characters`, value);
  }
  return value;
}

export function int(value: unknown, path: string): number {
  if (!Number.isSafeInteger(value) || (value as number) < 0) fail(path, "a non-negative integer", value);
  return value as number;
}

export function amounts(value: unknown, path: string): Record<string, number> {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    fail(path, "a map of amounts", value);
  const out: Record<string, number> = {};
  for (const [key, amount] of Object.entries(value)) {
    if (typeof amount !== "number" || !Number.isFinite(amount))
      fail(`${path}.${key}`, "a finite number", amount);
    out[key] = amount;
  }
  return out;
}

export function report(value: unknown, path: string): NodeReport {
  if (typeof value !== "object" || value === null) fail(path, "a node report", value);
  const r = value as Record<string, unknown>;
  const pending = r.pendingDemand;
  if (!Array.isArray(pending)) fail(`${path}.pendingDemand`, "an array", pending);
  const store = r.store as Record<string, unknown> | undefined;
  if (typeof store !== "object" || store === null) fail(`${path}.store`, "a map", store);
  return {
    total: amounts(r.total, `${path}.total`),
    available: amounts(r.available, `${path}.available`),
    pendingDemand: pending.map((p: unknown, i) => {
      const entry = (p ?? {}) as Record<string, unknown>;
      return {
        demand: amounts(entry.demand, `${path}.pendingDemand[${i}].demand`),
        count: int(entry.count, `${path}.pendingDemand[${i}].count`),
      };
    }),
    store: {
      objects: int(store.objects, `${path}.store.objects`),
      usedBytes: int(store.usedBytes, `${path}.store.usedBytes`),
      capacityBytes: int(store.capacityBytes, `${path}.store.capacityBytes`),
    },
  };
}

export function registerRequest(m: Record<string, unknown>): RegisterRequest {
  return {
    nodeId: str(m.nodeId, "nodeId", 64),
    address: str(m.address, "address"),
    pid: int(m.pid, "pid"),
    hostname: str(m.hostname, "hostname"),
    report: report(m.report, "report"),
  };
}

/** The `nodes` of a `view` message. */
export function viewNodes(value: unknown, path: string): ViewNode[] {
  if (!Array.isArray(value)) fail(path, "an array of nodes", value);
  return value.map((v: unknown, i) => {
    if (typeof v !== "object" || v === null) fail(`${path}[${i}]`, "a node", v);
    const n = v as Record<string, unknown>;
    return {
      nodeId: str(n.nodeId, `${path}[${i}].nodeId`, 64),
      address: str(n.address, `${path}[${i}].address`),
      hostname: str(n.hostname, `${path}[${i}].hostname`),
      total: amounts(n.total, `${path}[${i}].total`),
      available: amounts(n.available, `${path}[${i}].available`),
    };
  });
}
