/**
 * The cluster side of `rayts node`: the node's membership in the cluster. It registers with the head
 * over the control socket, sends a heartbeat with its report every `heartbeatMs`, and tells its owner
 * once when the membership ends (the head went away, or declared this node dead). It keeps the last
 * view of the cluster the head sent (`view` messages; the first in the register reply), the source
 * of this node's `NodeLinks`.
 */
import { hostname } from "node:os";
import { connectPeer } from "../transport/client-peer.ts";
import { routeMessages } from "../transport/message-router.ts";
import type { Peer } from "../transport/peer.ts";
import * as check from "./_validate.ts";
import type { NodeReport, RegisterReply, ViewNode } from "./cluster-protocol.ts";
import type { NodeSource } from "./node-links.ts";

/** Options of {@link NodeAgent.join}. */
export interface JoinOptions {
  /** The head's `host:port`. */
  readonly head: string;
  readonly token: string;
  readonly nodeId: string;
  /** This node's own `host:port`. */
  readonly address: string;
  readonly report: () => NodeReport;
  /** Called once when the node is no longer part of the cluster, with why. */
  readonly onLost: (reason: string) => void;
  /** Writes one log line. */
  readonly log: (line: string) => void;
}

type AgentState = "JOINED" | "LEFT";

export class NodeAgent implements NodeSource {
  readonly reply: RegisterReply;
  #view: readonly ViewNode[];
  readonly #viewListeners: Array<() => void> = [];
  readonly #peer: Peer;
  readonly #timer: ReturnType<typeof setInterval>;
  #state: AgentState = "JOINED";

  private constructor(peer: Peer, reply: RegisterReply, options: JoinOptions) {
    this.#peer = peer;
    this.reply = reply;
    this.#view = check.viewNodes(reply.view, "view");
    const lost = (reason: string) => {
      if (this.#state === "LEFT") return;
      this.#leave();
      options.onLost(reason);
    };
    peer.onMessage(
      routeMessages({
        dead: (m) => lost(`the head declared this node dead: ${String(m.reason)}`),
        view: (m) => {
          try {
            this.#view = check.viewNodes(m.nodes, "nodes");
          } catch (err) {
            options.log(`Ignored a bad cluster view from the head: ${(err as Error).message}`);
            return;
          }
          for (const fn of this.#viewListeners) fn();
        },
      }),
    );
    peer.onClose((reason) => lost(`the connection to the head at ${options.head} closed: ${reason}`));
    peer.onError((err) => {
      if (err.code === "ERR_UNKNOWN_NODE") lost(`the head no longer knows this node: ${err.message}`);
      else options.log(`The head refused a message: ${err.message}`);
    });
    this.#timer = setInterval(() => {
      peer.send({ t: "heartbeat", nodeId: options.nodeId, report: options.report() });
    }, reply.heartbeatMs);
  }

  /** Connects and registers. Rejects when the head cannot be reached or refuses the node. */
  static async join(options: JoinOptions): Promise<NodeAgent> {
    const peer = await connectPeer(options.head, { token: options.token });
    try {
      const reply = (await peer.request({
        t: "register",
        nodeId: options.nodeId,
        address: options.address,
        pid: process.pid,
        hostname: hostname(),
        report: options.report(),
      })) as RegisterReply;
      return new NodeAgent(peer, reply, options);
    } catch (err) {
      peer.close("registration failed");
      throw err;
    }
  }

  get state(): AgentState {
    return this.#state;
  }

  /** The alive nodes as the head last told (none once this node left the cluster). */
  alive(): readonly ViewNode[] {
    return this.#state === "LEFT" ? [] : this.#view;
  }

  /** Calls `fn` after every view the head pushes. */
  onChange(fn: () => void): void {
    this.#viewListeners.push(fn);
  }

  /** Leaves the cluster (the head sees the socket close and marks this node dead at once). */
  close(): void {
    this.#leave();
  }

  #leave(): void {
    if (this.#state === "LEFT") return;
    this.#state = "LEFT";
    clearInterval(this.#timer);
    this.#peer.close("the node is stopping");
  }
}
