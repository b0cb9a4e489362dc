/**
 * A node's view of the other nodes [Ray's cluster resource view plus raylet-to-raylet clients], on
 * every node of a cluster: who is alive and what they have comes from a {@link NodeSource} (the
 * head's node table on the head's node, the view the head pushes on the others); a link to a node
 * is opened the first time work goes there, as a driver connection (`driver-service.ts` on that
 * node, or on the head's port for the head's node) with a caller id of its own, and the node's shm
 * segment attached when it runs on this machine. A node never links to itself. A link that closes
 * marks its node dead for this view at once (before the head's failure detector notices), so
 * retried work goes elsewhere.
 *
 * @example
 * node.cluster = new NodeLinks({ source: { alive: () => service.table.view() }, node, token, log });
 */
import { hostname } from "node:os";
import { NodeDiedError, RaytsError } from "../errors.ts";
import type { Node } from "../node.ts";
import { DRIVER_LOG, PeerLink } from "../runtime/peer-link.ts";
import type { ClusterView, NodeView, RemoteLink } from "../scheduler/cluster-view.ts";
import { ShmArena } from "../store/shm-arena.ts";
import { connectPeer } from "../transport/client-peer.ts";
import { routeMessages } from "../transport/message-router.ts";
import type { ViewNode } from "./cluster-protocol.ts";
import type { DriverWelcome } from "./driver-service.ts";

/**
 * Where a node learns who is alive: the head's node table (on the head's node) or the last view the
 * head pushed (`view` messages, see `node-agent.ts`).
 */
export interface NodeSource {
  /** Every alive node with its last reported resources (the asking node may be among them). */
  alive(): readonly ViewNode[];
  /** Calls `fn` whenever a node joined or reported (what `alive()` answers may have changed). */
  onChange?(fn: () => void): void;
}

/** Options of {@link NodeLinks}. */
export interface NodeLinksOptions {
  readonly source: NodeSource;
  /** The node forwarding work (this process's node). */
  readonly node: Node;
  /** The cluster token. */
  readonly token: string;
  /** Writes one log line. */
  readonly log: (line: string) => void;
}

class Link implements RemoteLink {
  readonly nodeId: string;
  readonly api: PeerLink;
  readonly caller: number;
  readonly address: string;
  readonly token: string;
  readonly arena: ShmArena | undefined;
  closed = false;
  readonly #node: Node;
  readonly #sent = new Map<string, Promise<unknown>>();
  readonly #closeHooks: Array<(reason: string) => void> = [];
  #closeReason = "";

  constructor(
    api: PeerLink,
    welcome: DriverWelcome,
    where: { address: string; token: string },
    arena: ShmArena | undefined,
    node: Node,
  ) {
    this.nodeId = welcome.nodeId;
    this.address = where.address;
    this.token = where.token;
    this.api = api;
    this.caller = welcome.callerId;
    this.arena = arena;
    this.#node = node;
  }

  syncEntryScripts(module?: string): Promise<void> {
    const waits: Promise<unknown>[] = [];
    for (const path of this.#node.entryScripts()) {
      const pkg = this.#node.entryPackage(path);
      const key = pkg === undefined ? path : `${path}|${pkg.hash}`;
      let sent = this.#sent.get(key);
      if (sent === undefined) {
        sent = this.api.addEntryScript(path, pkg);
        sent.catch(() => {}); // reported to the work that needs the package
        this.#sent.set(key, sent);
      }
      // Messages keep their order, so only work loading from a package waits for it to be ready.
      if (pkg !== undefined && module?.startsWith(`${pkg.root}/`)) waits.push(sent);
    }
    return waits.length === 0 ? Promise.resolve() : Promise.all(waits).then(() => {});
  }

  onClose(fn: (reason: string) => void): void {
    if (this.closed) fn(this.#closeReason);
    else this.#closeHooks.push(fn);
  }

  /** The connection ended: runs the close hooks once. */
  ended(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.#closeReason = reason;
    for (const fn of this.#closeHooks.splice(0)) {
      try {
        fn(reason);
      } catch {
        // A hook's failure must not stop the others.
      }
    }
  }
}

export class NodeLinks implements ClusterView {
  readonly #options: NodeLinksOptions;
  readonly #links = new Map<string, Promise<Link>>();
  /** Nodes whose link closed or could not open: never used again (a dead node id never returns). */
  readonly #lost = new Set<string>();
  #closing = false;

  constructor(options: NodeLinksOptions) {
    this.#options = options;
    // Another node reporting free resources may take the work queued here (Ray's spillback):
    // actors waiting for resources first (each holds its calls back), then queued tasks.
    options.source.onChange?.(() => {
      if (this.#closing) return;
      try {
        options.node.actors.respill();
      } catch (err) {
        options.log(`Placing waiting actors on other nodes failed: ${(err as Error).message}`);
      }
      try {
        options.node.tasks.respill();
      } catch (err) {
        options.log(`Spilling queued tasks failed: ${(err as Error).message}`);
      }
    });
  }

  others(): NodeView[] {
    const self = this.#options.node.nodeId;
    const out: NodeView[] = [];
    for (const n of this.#options.source.alive()) {
      if (n.nodeId === self || this.#lost.has(n.nodeId)) continue;
      out.push(n);
    }
    return out;
  }

  link(nodeId: string): Promise<RemoteLink> {
    let p = this.#links.get(nodeId);
    if (p === undefined) {
      p = this.#open(nodeId);
      this.#links.set(nodeId, p);
      p.catch((err: unknown) => {
        this.#forget(nodeId);
        this.#options.log(
          `Cannot link to node ${nodeId}: ${err instanceof Error ? err.message : String(err)}`,
        );
      });
    }
    return p;
  }

  /** Closes every link (this node is stopping). */
  close(): void {
    this.#closing = true;
    for (const p of this.#links.values())
      void p.then((l) => l.api.close("the node is stopping")).catch(() => {});
  }

  async #open(nodeId: string): Promise<Link> {
    if (nodeId === this.#options.node.nodeId) {
      throw new RaytsError(`Node ${nodeId} is this node: work for it runs here, not through a link`);
    }
    if (this.#closing) throw new NodeDiedError(`Not linking to node ${nodeId}: this node is stopping`);
    if (this.#lost.has(nodeId)) throw new NodeDiedError(`Node ${nodeId} died`);
    const entry = this.#options.source.alive().find((n) => n.nodeId === nodeId);
    if (entry === undefined) throw new NodeDiedError(`Node ${nodeId} is not alive`);
    const peer = await connectPeer(entry.address, { token: this.#options.token });
    let welcome: DriverWelcome;
    let arena: ShmArena | undefined;
    try {
      welcome = (await peer.request({
        t: "driver",
        namespace: "node-link",
        pid: process.pid,
      })) as DriverWelcome;
      // Nodes on this machine share objects through each other's segments (the only case so far).
      if (welcome.shmName !== undefined && welcome.hostname === hostname()) {
        arena = ShmArena.attach(welcome.shmName);
      }
    } catch (err) {
      peer.close("the node link could not start");
      throw err;
    }
    const link = new Link(
      new PeerLink(peer, welcome.nodeId, arena?.headerAddress ?? 0),
      welcome,
      { address: entry.address, token: this.#options.token },
      arena,
      this.#options.node,
    );
    // Console output of the work sent there comes back to be relayed to its driver.
    peer.onMessage(
      routeMessages({
        [DRIVER_LOG]: (m) => {
          if (typeof m.taskId === "string" && typeof m.text === "string")
            this.#options.node.relayLog(
              m.taskId,
              m.text,
              m.err === true,
              typeof m.actorId === "string" ? m.actorId : undefined,
            );
        },
      }),
    );
    peer.onClose((reason) => {
      this.#forget(nodeId);
      // Every use of the segment is synchronous and checks `closed` first: unmap it after the hooks.
      link.ended(reason);
      arena?.close();
      if (!this.#closing) this.#options.log(`Link to node ${nodeId} closed: ${reason}`);
    });
    this.#options.log(`Linked to node ${nodeId} at ${entry.address} as caller ${welcome.callerId}`);
    return link;
  }

  #forget(nodeId: string): void {
    this.#lost.add(nodeId);
    this.#links.delete(nodeId);
  }
}
