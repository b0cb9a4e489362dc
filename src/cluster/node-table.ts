/**
 * The head's view of the cluster's nodes: who registered, each node's last report, and who is dead.
 * Pure bookkeeping with an injectable clock (no timers, no I/O), so the failure detector is tested
 * without waiting: the head calls {@link NodeTable.sweep} every second.
 */
import { RaytsError } from "../errors.ts";
import type {
  ClusterStatus,
  NodeReport,
  NodeState,
  NodeStatus,
  RegisterRequest,
  ViewNode,
} from "./cluster-protocol.ts";

/** A node id the head does not know, or a node it already declared dead. */
export class UnknownNodeError extends RaytsError {
  override readonly code: string = "ERR_UNKNOWN_NODE";
}

interface Entry {
  readonly request: RegisterRequest;
  readonly isHead: boolean;
  state: NodeState;
  report: NodeReport;
  lastSeen: number;
  deathReason?: string;
}

/** Options of {@link NodeTable}. */
export interface NodeTableOptions {
  /** Silence after which a node is dead. */
  readonly deadAfterMs: number;
  /** Milliseconds clock (default `Date.now`). */
  readonly now?: () => number;
  /** Dead nodes kept for status before the oldest are forgotten (default 1000). */
  readonly maxDeadKept?: number;
}

/** A change to the table: a node joined, sent a report, or was declared dead. */
export interface NodeEvent {
  readonly t: "joined" | "report" | "dead";
  readonly nodeId: string;
}

/** A node declared dead by {@link NodeTable.sweep} or {@link NodeTable.markDead}. */
export interface DeadNode {
  readonly nodeId: string;
  readonly address: string;
  readonly reason: string;
}

export class NodeTable {
  readonly #entries = new Map<string, Entry>();
  readonly #deadAfterMs: number;
  readonly #now: () => number;
  readonly #maxDeadKept: number;
  readonly #listeners: Array<(e: NodeEvent) => void> = [];

  constructor(options: NodeTableOptions) {
    this.#deadAfterMs = options.deadAfterMs;
    this.#now = options.now ?? Date.now;
    this.#maxDeadKept = options.maxDeadKept ?? 1000;
  }

  /** Adds a node. Throws {@link UnknownNodeError} when its id is taken (a dead id stays taken). */
  register(request: RegisterRequest, isHead = false): void {
    const existing = this.#entries.get(request.nodeId);
    if (existing !== undefined) {
      throw new UnknownNodeError(
        `Node id ${request.nodeId} is already ${existing.state === "DEAD" ? "declared dead" : "registered"}: start the node again to join under a new id`,
      );
    }
    this.#entries.set(request.nodeId, {
      request,
      isHead,
      state: "ALIVE",
      report: request.report,
      lastSeen: this.#now(),
    });
    this.#emit({ t: "joined", nodeId: request.nodeId });
  }

  /** Calls `fn` after every change (placement groups react to nodes joining, freeing and dying). */
  onChange(fn: (e: NodeEvent) => void): void {
    this.#listeners.push(fn);
  }

  #emit(e: NodeEvent): void {
    for (const fn of this.#listeners) {
      try {
        fn(e);
      } catch {
        // A listener's failure must not break the table.
      }
    }
  }

  /** Records a heartbeat. Throws {@link UnknownNodeError} for an unknown or dead node. */
  heartbeat(nodeId: string, report: NodeReport): void {
    const entry = this.#alive(nodeId);
    entry.report = report;
    entry.lastSeen = this.#now();
    this.#emit({ t: "report", nodeId });
  }

  /** Declares a node dead; returns it, or undefined when it was unknown or dead already. */
  markDead(nodeId: string, reason: string): DeadNode | undefined {
    const entry = this.#entries.get(nodeId);
    if (entry === undefined || entry.state === "DEAD") return undefined;
    entry.state = "DEAD";
    entry.deathReason = reason;
    this.#forgetOldDead();
    this.#emit({ t: "dead", nodeId });
    return { nodeId, address: entry.request.address, reason };
  }

  /** Declares dead every node silent for longer than the limit (never the head's own node). */
  sweep(): DeadNode[] {
    const now = this.#now();
    const dead: DeadNode[] = [];
    for (const [nodeId, entry] of this.#entries) {
      if (entry.state === "DEAD" || entry.isHead) continue;
      const silent = now - entry.lastSeen;
      if (silent > this.#deadAfterMs) {
        const node = this.markDead(nodeId, `no heartbeat for ${(silent / 1000).toFixed(1)} s`);
        if (node !== undefined) dead.push(node);
      }
    }
    return dead;
  }

  /** Every alive node with its address and last report. */
  alive(): Array<{ readonly nodeId: string; readonly address: string; readonly report: NodeReport }> {
    const out: Array<{ nodeId: string; address: string; report: NodeReport }> = [];
    for (const [nodeId, e] of this.#entries) {
      if (e.state === "ALIVE") out.push({ nodeId, address: e.request.address, report: e.report });
    }
    return out;
  }

  /** Every alive node as the head tells the nodes about it (`view`). */
  view(): ViewNode[] {
    const out: ViewNode[] = [];
    for (const [nodeId, e] of this.#entries) {
      if (e.state !== "ALIVE") continue;
      const { address, hostname } = e.request;
      out.push({ nodeId, address, hostname, total: e.report.total, available: e.report.available });
    }
    return out;
  }

  /** Whether `nodeId` is registered and alive. */
  isAlive(nodeId: string): boolean {
    return this.#entries.get(nodeId)?.state === "ALIVE";
  }

  /** The cluster as `rayts status` shows it. */
  status(sessionName: string, address: string): ClusterStatus {
    const now = this.#now();
    const nodes: NodeStatus[] = [];
    const total: Record<string, number> = {};
    const available: Record<string, number> = {};
    const demand = new Map<string, { demand: Readonly<Record<string, number>>; count: number }>();
    const store = { objects: 0, usedBytes: 0, capacityBytes: 0 };
    for (const [nodeId, e] of this.#entries) {
      nodes.push({
        nodeId,
        address: e.request.address,
        state: e.state,
        isHead: e.isHead,
        pid: e.request.pid,
        hostname: e.request.hostname,
        report: e.report,
        lastSeenMsAgo: now - e.lastSeen,
        ...(e.deathReason === undefined ? {} : { deathReason: e.deathReason }),
      });
      if (e.state === "DEAD") continue;
      addInto(total, e.report.total);
      addInto(available, e.report.available);
      for (const p of e.report.pendingDemand) {
        const key = JSON.stringify(Object.entries(p.demand).sort());
        const seen = demand.get(key);
        if (seen === undefined) demand.set(key, { demand: p.demand, count: p.count });
        else seen.count += p.count;
      }
      store.objects += e.report.store.objects;
      store.usedBytes += e.report.store.usedBytes;
      store.capacityBytes += e.report.store.capacityBytes;
    }
    return { sessionName, address, nodes, total, available, pendingDemand: [...demand.values()], store };
  }

  #alive(nodeId: string): Entry {
    const entry = this.#entries.get(nodeId);
    if (entry === undefined) {
      throw new UnknownNodeError(`Unknown node id: ${nodeId}; register the node before sending heartbeats`);
    }
    if (entry.state === "DEAD") {
      throw new UnknownNodeError(
        `Node ${nodeId} was declared dead (${entry.deathReason}): start it again to join under a new id`,
      );
    }
    return entry;
  }

  #forgetOldDead(): void {
    const dead = [...this.#entries].filter(([, e]) => e.state === "DEAD");
    for (let i = 0; i < dead.length - this.#maxDeadKept; i++) this.#entries.delete(dead[i]![0]);
  }
}

function addInto(sum: Record<string, number>, add: Readonly<Record<string, number>>): void {
  for (const [key, amount] of Object.entries(add)) sum[key] = (sum[key] ?? 0) + amount;
}
