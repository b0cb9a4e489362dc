/**
 * The cluster side of `rayts head` [Ray's GCS server]: the port nodes join through, the node table,
 * and the failure detector. Nodes register and heartbeat over the control socket; a node whose socket
 * closes, or that stays silent past the limit, is declared dead and logged. Every heartbeat period,
 * and at once when a node joins or dies, the head sends every node the alive nodes (`view`), from
 * which each node builds its view of the cluster (`node-links.ts`); a joining node gets the first
 * one in its register reply.
 *
 * HTTP routes (all behind the token): `GET /api/hello` (who is this), `GET /api/status`, the
 * dashboard page (`GET /`, `GET /dashboard`, see `dashboard.ts`), objects
 * (`object-routes.ts`) and job packages (`shipping/package-routes.ts`).
 */
import { hostname } from "node:os";
import { VERSION_LINE } from "../cli/version.ts";
import type { PlacementGroupInfo } from "../placement/pg-types.ts";
import { packageRoutes } from "../shipping/package-routes.ts";
import type { Message } from "../transport/message.ts";
import { routeMessages } from "../transport/message-router.ts";
import { type ObjectSource, objectRoutes } from "../transport/object-routes.ts";
import type { Peer } from "../transport/peer.ts";
import { InvalidMessageError } from "../transport/transport-errors.ts";
import { startTransportServer, type TransportServer } from "../transport/transport-server.ts";
import { type WorkerSource, workerRoutes } from "../transport/worker-routes.ts";
import * as check from "./_validate.ts";
import type { ClusterStatus, NodeReport, RegisterReply, RegisterRequest } from "./cluster-protocol.ts";
import { dashboardHtml } from "./dashboard.ts";
import { NodeTable } from "./node-table.ts";

/** Options of {@link HeadService.start}. */
export interface HeadServiceOptions {
  readonly host: string;
  readonly port: number;
  readonly token: string;
  readonly sessionName: string;
  /** Writes one log line. */
  readonly log: (line: string) => void;
  readonly heartbeatMs?: number;
  readonly deadAfterMs?: number;
}

/** The head's own node, reported in-process instead of over a socket. */
export interface OwnNode {
  readonly nodeId: string;
  readonly pid: number;
  readonly report: () => NodeReport;
}

type HeadState = "RUNNING" | "STOPPED";

export class HeadService {
  readonly table: NodeTable;
  readonly #options: HeadServiceOptions;
  readonly #server: TransportServer;
  readonly #peers = new Map<string, Peer>();
  readonly #heartbeatMs: number;
  readonly #deadAfterMs: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #own: OwnNode | undefined;
  #driverHello: ((hello: Message, peer: Peer) => unknown) | undefined;
  #state: HeadState = "RUNNING";
  #objects: ObjectSource | undefined;
  #workers: WorkerSource | undefined;
  #groups: (() => readonly PlacementGroupInfo[]) | undefined;

  private constructor(options: HeadServiceOptions) {
    this.#options = options;
    this.#heartbeatMs = options.heartbeatMs ?? 1000;
    // A killed node's socket closes at once; silence only catches hung nodes and lost machines. A
    // node booting hundreds of actor Workers on a loaded machine can miss heartbeats for over 5 s,
    // so the limit leaves room for that and still declares a silent node dead within 10 s.
    this.#deadAfterMs = options.deadAfterMs ?? 8000;
    this.table = new NodeTable({ deadAfterMs: this.#deadAfterMs });
    this.#server = startTransportServer({
      host: options.host,
      port: options.port,
      token: options.token,
      onPeer: (peer) => this.#accept(peer),
      routes: (app) => {
        app.get("/api/hello", (c) =>
          c.json({
            role: "head",
            sessionName: options.sessionName,
            address: this.address,
            version: VERSION_LINE,
          }),
        );
        app.get("/api/status", (c) => c.json(this.status()));
        for (const path of ["/", "/dashboard"]) {
          app.get(path, (c) => c.html(dashboardHtml(this.status()), 200, { "cache-control": "no-store" }));
        }
        objectRoutes(app, () => this.#objects);
        workerRoutes(app, () => this.#workers);
        packageRoutes(app, options.log);
      },
    });
    this.#timer = setInterval(() => this.#tick(), this.#heartbeatMs);
  }

  /** Binds the port and starts the failure detector. Throws when the port cannot be bound. */
  static start(options: HeadServiceOptions): HeadService {
    return new HeadService(options);
  }

  /** `host:port` nodes join through. */
  get address(): string {
    return this.#server.address;
  }

  get state(): HeadState {
    return this.#state;
  }

  /** Registers the head process's own node (never declared dead: it lives and dies with the head). */
  addOwnNode(own: OwnNode): void {
    this.#own = own;
    this.table.register(
      { nodeId: own.nodeId, address: this.address, pid: own.pid, hostname: hostname(), report: own.report() },
      true,
    );
  }

  /** Serves drivers: a peer whose first message is `driver` is handed to `hello` (see driver-service.ts). */
  /** Serves the head's own node's objects on `/objects/:id` (the node starts after the port binds). */
  serveObjects(node: ObjectSource): void {
    this.#objects = node;
  }

  /** Serves the head's own node's Worker boot counters on `/workers`. */
  serveWorkers(pool: WorkerSource): void {
    this.#workers = pool;
  }

  serveDrivers(hello: (hello: Message, peer: Peer) => unknown): void {
    this.#driverHello = hello;
  }

  /** Adds the placement groups (kept by the head's node) to the status. */
  reportPlacementGroups(groups: () => readonly PlacementGroupInfo[]): void {
    this.#groups = groups;
  }

  status(): ClusterStatus {
    const status = this.table.status(this.#options.sessionName, this.address);
    return this.#groups === undefined ? status : { ...status, placementGroups: this.#groups() };
  }

  /** Stops serving; nodes see their socket close. */
  async close(): Promise<void> {
    if (this.#state === "STOPPED") return;
    this.#state = "STOPPED";
    clearInterval(this.#timer);
    for (const peer of this.#peers.values()) peer.close("the head is stopping");
    await this.#server.stop();
  }

  #accept(peer: Peer): void {
    let nodeId: string | undefined;
    peer.onMessage(
      routeMessages({
        register: (m) => {
          if (nodeId !== undefined)
            throw new InvalidMessageError(`Already registered as node ${nodeId} on this connection`);
          const request = check.registerRequest(m);
          const reply = this.#register(request, peer);
          nodeId = request.nodeId;
          return reply;
        },
        heartbeat: (m) => {
          const id = check.str(m.nodeId, "nodeId", 64);
          if (id !== nodeId)
            throw new InvalidMessageError(
              `Heartbeat for node ${id} on the connection of ${nodeId ?? "no node"}: register first`,
            );
          this.table.heartbeat(id, check.report(m.report, "report"));
        },
        status: () => this.status(),
        driver: (m, p) => {
          if (nodeId !== undefined || this.#driverHello === undefined)
            throw new InvalidMessageError("Not serving drivers on this connection");
          return this.#driverHello(m, p);
        },
      }),
    );
    peer.onClose((reason) => {
      if (nodeId === undefined) return;
      this.#peers.delete(nodeId);
      const dead = this.table.markDead(nodeId, `connection closed (${reason})`);
      if (dead !== undefined && this.#state === "RUNNING") {
        this.#options.log(`Node ${dead.nodeId} at ${dead.address} is dead: ${dead.reason}`);
        this.#broadcastView();
      }
    });
  }

  #register(request: RegisterRequest, peer: Peer): RegisterReply {
    this.table.register(request);
    this.#peers.set(request.nodeId, peer);
    const cpus = request.report.total.CPU ?? 0;
    this.#options.log(
      `Node ${request.nodeId} joined from ${request.address} (pid ${request.pid} on ${request.hostname}, ${cpus} CPU)`,
    );
    // The joining node gets the view in its reply (it cannot route messages before that).
    this.#broadcastView(request.nodeId);
    return {
      sessionName: this.#options.sessionName,
      heartbeatMs: this.#heartbeatMs,
      deadAfterMs: this.#deadAfterMs,
      view: this.table.view(),
      ...(this.#own === undefined ? {} : { headNodeId: this.#own.nodeId }),
    };
  }

  /** Sends every node (except `skip`) the alive nodes. */
  #broadcastView(skip?: string): void {
    if (this.#peers.size === 0) return;
    const nodes = this.table.view();
    for (const [nodeId, peer] of this.#peers) if (nodeId !== skip) peer.send({ t: "view", nodes });
  }

  #tick(): void {
    if (this.#own !== undefined) this.table.heartbeat(this.#own.nodeId, this.#own.report());
    for (const dead of this.table.sweep()) {
      this.#options.log(`Node ${dead.nodeId} at ${dead.address} is dead: ${dead.reason}`);
      const peer = this.#peers.get(dead.nodeId);
      this.#peers.delete(dead.nodeId);
      if (peer !== undefined) {
        peer.send({ t: "dead", reason: dead.reason });
        peer.close(`declared dead: ${dead.reason}`);
      }
    }
    this.#broadcastView();
  }
}
