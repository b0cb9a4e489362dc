/**
 * What a node keeps per actor it placed on another node (or knows only from a handle, as a proxy)
 * and per call of one: see `remote-actors.ts`.
 */
import type { RemoteLink } from "../scheduler/cluster-view.ts";
import type { CallerId } from "./node-api.ts";
import type { ActorCallSpec, ActorSpec, Payload } from "./protocol.ts";

export interface RemoteCall {
  readonly spec: ActorCallSpec;
  readonly returnIds: readonly string[];
  deps: number;
  /** Times it was re-sent after its node died mid-call (bounded by `maxTaskRetries`). */
  attempt: number;
  /** Its returns are sealed here already (an error, or cancelled): late results are dropped. */
  done: boolean;
  /** Its argument pins here were released (once, when it finished or failed). */
  released: boolean;
}

export interface RemoteActor {
  readonly spec: ActorSpec;
  /** The node it runs on now (changes when it restarts elsewhere). */
  nodeId: string;
  /** Who created it (its driver's caller id): a non-detached actor dies with it. */
  readonly creator: CallerId;
  /**
   * Only a way to its record: the actor is known here from its handle alone, and `nodeId` is the
   * node holding its record (its home), which places and restarts it.
   */
  readonly proxy: boolean;
  state: "PENDING" | "ALIVE" | "RESTARTING" | "DEAD" | "MOVED";
  link: RemoteLink | undefined;
  deps: number;
  /** Restarts on another node after its node died. */
  restarts: number;
  death: Payload | undefined;
  readonly queue: RemoteCall[];
  readonly inflight: Map<string, RemoteCall>;
}

/** A call handed to the local manager when the actor restarts on this node. */
export interface AdoptedCall {
  readonly spec: ActorCallSpec;
  readonly returnIds: readonly string[];
  readonly attempt: number;
}

/** How the actor manager hears about actors placed elsewhere. */
export interface RemoteActorHooks {
  /** The actor died for good (its name is released, death watchers woken). */
  dead(spec: ActorSpec, death: Payload): void;
  /**
   * The actor's node died and this node is where it restarts: the manager takes it over with its
   * pinned constructor arguments and its calls (their arguments pinned, in submission order).
   */
  adopt(spec: ActorSpec, creator: CallerId, restarts: number, calls: AdoptedCall[]): void;
}

/** What a proxy knows of its actor: its id and class name (it never creates or restarts it). */
export function proxySpec(actorId: string, className: string): ActorSpec {
  return {
    actorId,
    cls: { id: "", module: undefined, source: "", name: className, kind: "class", generator: false },
    args: { t: 0, bytes: new Uint8Array(0) },
    argRefs: [],
    contained: [],
    opts: {
      maxRestarts: 0,
      maxTaskRetries: 0,
      lifetime: "detached",
      scheduling: "DEFAULT",
    } as unknown as ActorSpec["opts"],
    methods: [],
    generators: [],
    namespace: "",
    env: undefined,
  };
}
