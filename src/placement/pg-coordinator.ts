/**
 * The placement-group coordinator [Ray's GCS placement-group manager]: the table of groups, their
 * names, and the placing of every bundle on some node by a two-phase reservation.
 *
 * Groups are placed one at a time, in creation order (groups waiting to be placed again after a node
 * died keep their place in that order). For each: the nodes are chosen per strategy
 * (`pg-choose.ts`) from what the nodes have free, every chosen node **prepares** its bundles (takes
 * the resources, all or none), and only when every node prepared does each **commit** (publishes the
 * bundles to the group's work). Any failure (a node without room after all, a node that died, the
 * group removed meanwhile) releases every prepared bundle: a group has every bundle or none. Placing
 * one group at a time and taking the resources on the node itself is what keeps concurrent groups
 * from over-committing a node.
 *
 * A group that cannot be placed now stays `PENDING`; one that could fit the alive nodes' totals
 * holds later groups back (so big groups are not starved by small ones), one that could not
 * (STRICT_SPREAD over more bundles than nodes, a bundle bigger than any node) waits without holding
 * anyone up. Nothing polls: placing is tried again when a group is created or removed, a node
 * joins, dies or reports freed resources (see {@link PgCoordinator.kick}).
 *
 * The embedded cluster and every node process run one over their own node only; the head's node runs
 * the cluster's (its node source is `cluster/pg-cluster.ts`).
 */
import { RaytsError } from "../errors.ts";
import type { CallerId } from "../runtime/node-api.ts";
import { choosePlacement } from "./pg-choose.ts";
import type { GroupPlacement } from "./pg-demand.ts";
import {
  type BundleReply,
  bundleKeys,
  bundleResourceName,
  type PlacementGroupInfo,
  type PlacementGroupSpec,
  type PlacementGroupState,
} from "./pg-types.ts";

/** How the coordinator reaches one node's bundles (`pg-bundles.ts` there). */
export interface BundlePort {
  prepare(spec: PlacementGroupSpec, indexes: readonly number[]): BundleReply | Promise<BundleReply>;
  commit(pgId: string, indexes: readonly number[]): BundleReply | Promise<BundleReply>;
  release(pgId: string, indexes: readonly number[] | undefined): BundleReply | Promise<BundleReply>;
}

/** An alive node bundles may go to. */
export interface PlacementNode {
  readonly nodeId: string;
  /** The node's totals of `names` (at least those). */
  total(names: readonly string[]): Readonly<Record<string, number>>;
  /** What the node has free of `names` (at least those). */
  available(names: readonly string[]): Readonly<Record<string, number>>;
  readonly port: BundlePort;
}

/** The nodes the coordinator places over. */
export interface NodeSource {
  /** The node the coordinator runs on. */
  readonly selfId: string;
  /** Whether other nodes may exist (work may have to go to a bundle's node). */
  readonly clustered: boolean;
  /** The alive nodes, this one first. */
  nodes(): PlacementNode[];
  /** A node's reply said what it has free now of some resources. */
  observed(nodeId: string, available: Readonly<Record<string, number>>): void;
}

/** What work placed into a group should do now: run on a node (undefined = here), or wait. */
export const WAIT_FOR_GROUP = "wait" as const;

interface Group {
  readonly spec: PlacementGroupSpec;
  readonly seq: number;
  state: PlacementGroupState;
  /** Bundle index → node holding it (undefined: not placed). */
  readonly where: Array<string | undefined>;
  readonly waiters: Array<(created: boolean) => void>;
  /** Work waiting for the group to be placed (told false when the group is removed first). */
  readonly onPlaced: Array<(placed: boolean) => void>;
  readonly owner: CallerId | undefined;
}

type Attempt = "placed" | "blocked" | "infeasible";

/** A step's answer: at once from this node, later from another (undefined: it failed). */
type Step = BundleReply | undefined | Promise<BundleReply | undefined>;

/** Every answer, at once when each came at once (this node's bundles), else when the last came. */
function all(
  steps: readonly Step[],
): Array<BundleReply | undefined> | Promise<Array<BundleReply | undefined>> {
  return steps.some((s) => s instanceof Promise)
    ? Promise.all(steps)
    : (steps as Array<BundleReply | undefined>);
}

export class PgCoordinator {
  #source: NodeSource;
  readonly #groups = new Map<string, Group>();
  readonly #names = new Map<string, string>();
  /** Groups with bundles to place, in creation order. */
  readonly #pending: Group[] = [];
  readonly #deadNodes = new Set<string>();
  /** Unanswered steps per node: failed at once when the node is declared dead. */
  readonly #steps = new Map<string, Set<() => void>>();
  #seq = 0;
  #running = false;
  #again = false;
  #idle: Array<() => void> = [];
  /** Groups whose prepare failed in this run of the pump: tried again once, not forever. */
  readonly #retried = new Set<Group>();

  constructor(source: NodeSource) {
    this.#source = source;
  }

  /** Places over other nodes from now on (the head's node, once the cluster is up). */
  useSource(source: NodeSource): void {
    this.#source = source;
    this.kick();
  }

  get clustered(): boolean {
    return this.#source.clustered;
  }

  create(spec: PlacementGroupSpec, owner: CallerId | undefined): void {
    if (this.#groups.has(spec.id)) return;
    if (spec.name !== undefined) {
      const key = `${spec.namespace}\u0000${spec.name}`;
      const taken = this.#names.get(key);
      if (taken !== undefined && this.#groups.get(taken)?.state !== "REMOVED") {
        throw new RaytsError(
          `Placement group name "${spec.name}" is already taken in namespace "${spec.namespace}": pick another name or remove that group first`,
        );
      }
      this.#names.set(key, spec.id);
    }
    const g: Group = {
      spec,
      seq: this.#seq++,
      state: "PENDING",
      where: new Array(spec.bundles.length).fill(undefined),
      waiters: [],
      onPlaced: [],
      owner: spec.detached ? undefined : owner,
    };
    this.#groups.set(spec.id, g);
    this.#pending.push(g);
    this.kick();
  }

  /** Removes a group: its bundles are released on every node holding one (which stops its work there). */
  remove(pgId: string): void {
    const g = this.#groups.get(pgId);
    if (g === undefined || g.state === "REMOVED") return;
    g.state = "REMOVED";
    const byNode = new Map<string, number[]>();
    g.where.forEach((n, i) => {
      if (n === undefined) return;
      const list = byNode.get(n);
      if (list === undefined) byNode.set(n, [i]);
      else list.push(i);
    });
    g.where.fill(undefined);
    for (const fn of g.onPlaced.splice(0)) fn(false);
    const ports = new Map(this.#source.nodes().map((n) => [n.nodeId, n.port]));
    const released: Array<Step> = [];
    for (const nodeId of byNode.keys()) {
      const port = ports.get(nodeId);
      if (port !== undefined) released.push(this.#call(nodeId, () => port.release(pgId, undefined)));
    }
    for (const w of g.waiters.splice(0)) w(false);
    // Once the nodes answered (with what they have free now), waiting groups may fit.
    const answered = all(released);
    if (answered instanceof Promise) void answered.then(() => this.kick());
    else this.kick();
  }

  /** Removes the groups `caller` (a driver that went away) created, except detached ones. */
  /** Removes the groups of job `job` (non-detached groups its tasks and actors created). */
  dropJob(job: string): void {
    for (const g of this.#groups.values())
      if (g.spec.job === job && g.state !== "REMOVED") this.remove(g.spec.id);
  }

  dropOwner(caller: CallerId): void {
    for (const g of this.#groups.values())
      if (g.owner === caller && g.state !== "REMOVED") this.remove(g.spec.id);
  }

  /** A node died: the bundles it held wait to be placed again. */
  nodeDied(nodeId: string): void {
    this.#deadNodes.add(nodeId);
    for (const stop of this.#steps.get(nodeId) ?? []) stop();
    this.#steps.delete(nodeId);
    let lost = false;
    for (const g of this.#groups.values()) {
      if (g.state === "REMOVED" || !g.where.includes(nodeId)) continue;
      for (let i = 0; i < g.where.length; i++) if (g.where[i] === nodeId) g.where[i] = undefined;
      if (g.state === "CREATED") {
        g.state = "RESCHEDULING";
        let at = this.#pending.findIndex((p) => p.seq > g.seq);
        if (at < 0) at = this.#pending.length;
        this.#pending.splice(at, 0, g);
      }
      lost = true;
    }
    if (lost) this.kick();
  }

  /** Tries placing waiting groups again (something changed: a node, a group, freed resources). */
  kick(): void {
    if (this.#pending.length === 0) return;
    if (this.#running) {
      this.#again = true;
      return;
    }
    void this.#pump();
  }

  /** Resolves once no placement is in flight (for tests and orderly shutdown). */
  settled(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  async #pump(): Promise<void> {
    this.#running = true;
    this.#retried.clear();
    try {
      do {
        this.#again = false;
        for (const g of [...this.#pending]) {
          if (g.state === "REMOVED" || g.state === "CREATED") {
            this.#unqueue(g);
            continue;
          }
          const r = await this.#tryPlace(g);
          if (r === "placed") this.#unqueue(g);
          else if (r === "blocked") break;
        }
      } while (this.#again);
    } finally {
      this.#running = false;
      for (const done of this.#idle.splice(0)) done();
    }
  }

  #unqueue(g: Group): void {
    const i = this.#pending.indexOf(g);
    if (i >= 0) this.#pending.splice(i, 1);
  }

  async #tryPlace(g: Group): Promise<Attempt> {
    const { spec } = g;
    const missing: number[] = [];
    for (let i = 0; i < g.where.length; i++) if (g.where[i] === undefined) missing.push(i);
    if (missing.length === 0) {
      this.#created(g);
      return "placed";
    }
    const nodes = this.#source.nodes().filter((n) => !this.#deadNodes.has(n.nodeId));
    const keys = bundleKeys(spec.bundles);
    const plan = choosePlacement(
      spec.strategy,
      spec.bundles,
      missing,
      g.where,
      nodes.map((n) => ({ nodeId: n.nodeId, free: n.available(keys) })),
    );
    if (plan === undefined) {
      const feasible = choosePlacement(
        spec.strategy,
        spec.bundles,
        missing,
        g.where,
        nodes.map((n) => ({ nodeId: n.nodeId, free: n.total(keys) })),
      );
      return feasible === undefined ? "infeasible" : "blocked";
    }
    const ports = new Map(nodes.map((n) => [n.nodeId, n.port]));
    const steps = [...plan].map(([nodeId, indexes]) => ({
      nodeId,
      indexes,
      port: ports.get(nodeId) as BundlePort,
    }));
    // Phase 1: every chosen node takes its bundles' resources.
    const preparing = all(steps.map((s) => this.#call(s.nodeId, () => s.port.prepare(spec, s.indexes))));
    const prepared = preparing instanceof Promise ? await preparing : preparing;
    const rollback = (ok: ReadonlyArray<BundleReply | undefined>) =>
      all(
        steps
          .filter((_, k) => ok[k]?.ok === true)
          .map((s) => this.#call(s.nodeId, () => s.port.release(spec.id, s.indexes))),
      );
    if (!prepared.every((r) => r?.ok === true) || this.#gone(g)) {
      const undone = rollback(prepared);
      if (undone instanceof Promise) await undone;
      if (this.#gone(g)) return "placed";
      // A node had less free than it last reported: try again once with what it answered.
      if (!this.#retried.has(g)) {
        this.#retried.add(g);
        this.#again = true;
      }
      return "blocked";
    }
    // Phase 2: every node publishes its bundles.
    const committing = all(steps.map((s) => this.#call(s.nodeId, () => s.port.commit(spec.id, s.indexes))));
    const committed = committing instanceof Promise ? await committing : committing;
    if (!committed.every((r) => r?.ok === true) || this.#gone(g)) {
      const undone = rollback(prepared);
      if (undone instanceof Promise) await undone;
      return this.#gone(g) ? "placed" : "blocked";
    }
    for (const s of steps) for (const i of s.indexes) g.where[i] = s.nodeId;
    if (steps.some((s) => this.#deadNodes.has(s.nodeId))) {
      // A node died after it committed: its bundles wait again, the rest stay.
      for (let i = 0; i < g.where.length; i++)
        if (this.#deadNodes.has(g.where[i] as string)) g.where[i] = undefined;
      return "blocked";
    }
    this.#created(g);
    return "placed";
  }

  /** Removed meanwhile (or its owner left). */
  #gone(g: Group): boolean {
    return g.state === "REMOVED";
  }

  #created(g: Group): void {
    g.state = "CREATED";
    for (const w of g.waiters.splice(0)) w(true);
    for (const fn of g.onPlaced.splice(0)) fn(true);
  }

  /**
   * Runs one step on a node; a node that cannot answer counts as a failure. A node declared dead
   * fails its unanswered steps at once (a hung node's connection may stay open), so placing never
   * waits on it.
   */
  #call(
    nodeId: string,
    step: () => BundleReply | Promise<BundleReply>,
  ): BundleReply | undefined | Promise<BundleReply | undefined> {
    if (this.#deadNodes.has(nodeId)) return undefined;
    let r: BundleReply | Promise<BundleReply>;
    try {
      r = step();
    } catch {
      return undefined;
    }
    // This node's own bundles answer at once: no promise, no turn of the event loop.
    if (!(r instanceof Promise)) {
      this.#source.observed(nodeId, r.available);
      return r;
    }
    return this.#awaitStep(nodeId, r);
  }

  async #awaitStep(nodeId: string, answer: Promise<BundleReply>): Promise<BundleReply | undefined> {
    let stop: () => void = () => {};
    const died = new Promise<undefined>((resolve) => {
      stop = () => resolve(undefined);
    });
    let waiting = this.#steps.get(nodeId);
    if (waiting === undefined) {
      waiting = new Set();
      this.#steps.set(nodeId, waiting);
    }
    waiting.add(stop);
    try {
      const r = await Promise.race([answer, died]);
      if (r !== undefined) this.#source.observed(nodeId, r.available);
      return r;
    } catch {
      return undefined;
    } finally {
      waiting.delete(stop);
    }
  }

  /** Resolves true once the group is created, false if it is removed first or the time runs out. */
  wait(pgId: string, timeoutMs: number | undefined): Promise<boolean> {
    const g = this.#groups.get(pgId);
    if (g === undefined) return Promise.reject(unknownGroup(pgId));
    if (g.state !== "PENDING") return Promise.resolve(g.state !== "REMOVED");
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waiter = (created: boolean) => {
        if (timer !== undefined) clearTimeout(timer);
        resolve(created);
      };
      g.waiters.push(waiter);
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => {
          const i = g.waiters.indexOf(waiter);
          if (i >= 0) g.waiters.splice(i, 1);
          resolve(false);
        }, timeoutMs);
      }
    });
  }

  /**
   * Where work scheduled into a group runs: a node id, undefined for this node (or for a group this
   * coordinator does not know: the node's own bundles decide), or {@link WAIT_FOR_GROUP} while the
   * bundle it needs is not placed. Without a bundle index, a node holding a bundle big enough for
   * the demand, with room now first (this node first).
   */
  workTarget(
    p: GroupPlacement,
    demand: Readonly<Record<string, number>>,
  ): string | undefined | typeof WAIT_FOR_GROUP {
    const g = this.#groups.get(p.pgId);
    if (g === undefined || g.state === "REMOVED" || !this.#source.clustered) return undefined;
    const self = this.#source.selfId;
    if (p.index >= 0) {
      const n = g.where[p.index];
      if (n === undefined) return p.index < g.where.length ? WAIT_FOR_GROUP : undefined;
      return n === self ? undefined : n;
    }
    const holders: string[] = [];
    let unplaced = false;
    g.where.forEach((n, i) => {
      const b = g.spec.bundles[i] ?? {};
      if (!Object.entries(demand).every(([k, v]) => (b[k] ?? 0) >= v)) return;
      if (n === undefined) unplaced = true;
      else if (!holders.includes(n)) holders.push(n);
    });
    if (holders.length === 0) return unplaced ? WAIT_FOR_GROUP : undefined;
    const wildcard = Object.keys(demand).map((k) => bundleResourceName(k, p.pgId, -1));
    const room = new Map(this.#source.nodes().map((n) => [n.nodeId, n]));
    const hasRoom = (n: string) => {
      const free = room.get(n)?.available(wildcard) ?? {};
      return Object.entries(demand).every(([k, v]) => (free[bundleResourceName(k, p.pgId, -1)] ?? 0) >= v);
    };
    const ordered = holders.includes(self) ? [self, ...holders.filter((n) => n !== self)] : holders;
    const pick = ordered.find(hasRoom) ?? (ordered[0] as string);
    return pick === self ? undefined : pick;
  }

  /** Runs `fn(true)` once the group is placed, `fn(false)` if it is removed (or unknown) first. */
  whenPlaced(pgId: string, fn: (placed: boolean) => void): void {
    const g = this.#groups.get(pgId);
    if (g === undefined || g.state === "REMOVED") fn(false);
    else if (g.state === "CREATED") fn(true);
    else g.onPlaced.push(fn);
  }

  info(pgId: string): PlacementGroupInfo | undefined {
    const g = this.#groups.get(pgId);
    if (g === undefined) return undefined;
    const bundlesToNode: Record<number, string> = {};
    g.where.forEach((n, i) => {
      if (n !== undefined) bundlesToNode[i] = n;
    });
    return {
      placementGroupId: g.spec.id,
      name: g.spec.name,
      namespace: g.spec.namespace,
      strategy: g.spec.strategy,
      state: g.state,
      bundles: g.spec.bundles,
      bundlesToNode,
    };
  }

  table(): PlacementGroupInfo[] {
    return [...this.#groups.keys()].map((id) => this.info(id) as PlacementGroupInfo);
  }

  byName(name: string, namespace: string): PlacementGroupInfo | undefined {
    const id = this.#names.get(`${namespace}\u0000${name}`);
    const info = id === undefined ? undefined : this.info(id);
    return info?.state === "REMOVED" ? undefined : info;
  }

  bundles(pgId: string): ReadonlyArray<Readonly<Record<string, number>>> | undefined {
    return this.#groups.get(pgId)?.spec.bundles;
  }

  state(pgId: string): PlacementGroupState | undefined {
    return this.#groups.get(pgId)?.state;
  }
}

function unknownGroup(pgId: string): RaytsError {
  return new RaytsError(`Placement group ${pgId} does not exist: create it with placementGroup() first`);
}
