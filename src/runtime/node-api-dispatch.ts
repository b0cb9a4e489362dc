/**
 * Serving a {@link NodeApi} to a remote caller: a message names a method and carries its arguments
 * as an array. One table for every transport (Worker message channels today, sockets later), so the
 * node's behaviour does not depend on how a caller reaches it. Unknown methods and malformed
 * argument lists are errors, never crashes.
 */
import type { PlacementGroupSpec } from "../placement/pg-types.ts";
import type { CallerId, NodeApi } from "./node-api.ts";
import type { ActorCallSpec, ActorHandleState, ActorSpec, Payload, TaskSpec } from "./protocol.ts";

type Cast = (api: NodeApi, caller: CallerId, a: readonly unknown[]) => void;
type Call = (api: NodeApi, caller: CallerId, a: readonly unknown[]) => Promise<unknown>;

const str = (v: unknown, what: string): string => {
  if (typeof v !== "string") throw new TypeError(`Bad request: ${what} must be a string`);
  return v;
};
const strs = (v: unknown, what: string): string[] => {
  if (!Array.isArray(v) || !v.every((x) => typeof x === "string")) {
    throw new TypeError(`Bad request: ${what} must be an array of strings`);
  }
  return v as string[];
};
const optNum = (v: unknown, what: string): number | undefined => {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || Number.isNaN(v)) throw new TypeError(`Bad request: ${what} must be a number`);
  return v;
};

const ints = (v: unknown, what: string): number[] => {
  if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x) && x >= 0)) {
    throw new TypeError(`Bad request: ${what} must be an array of integers of at least 0`);
  }
  return v as number[];
};
/** A group's spec as a coordinator sends it to the node that is to hold its bundles. */
const groupSpec = (v: unknown): PlacementGroupSpec => {
  const s = v as Partial<PlacementGroupSpec> | null;
  const bundles = s?.bundles as unknown;
  if (
    s === null ||
    typeof s !== "object" ||
    typeof s.id !== "string" ||
    !Array.isArray(bundles) ||
    !bundles.every(
      (b) =>
        typeof b === "object" &&
        b !== null &&
        Object.values(b as object).every((x) => typeof x === "number" && Number.isFinite(x) && x >= 0),
    )
  ) {
    throw new TypeError(
      "Bad request: a placement group spec must have an id and bundles of resource amounts",
    );
  }
  return s as PlacementGroupSpec;
};

/** An actor handle's state: its id, class name, method names and home node checked. */
const handle = (v: unknown): ActorHandleState => {
  const o = v as Record<string, unknown> | null;
  if (o === null || typeof o !== "object")
    throw new TypeError("Bad request: state must be an actor handle state");
  str(o.actorId, "state.actorId");
  str(o.className, "state.className");
  str(o.home, "state.home");
  strs(o.methods, "state.methods");
  strs(o.generators ?? [], "state.generators");
  return o as ActorHandleState;
};

/** Methods that answer nothing (fire and forget). */
const CASTS: Record<string, Cast> = {
  submitTask: (api, c, a) => api.submitTask(c, a[0] as TaskSpec),
  createActor: (api, c, a) => api.createActor(c, a[0] as ActorSpec),
  submitActorCall: (api, c, a) => api.submitActorCall(c, a[0] as ActorCallSpec),
  putObject: (api, c, a) => api.putObject(c, str(a[0], "id"), a[1] as Payload, strs(a[2] ?? [], "contained")),
  addRefs: (api, c, a) => api.addRefs(c, strs(a[0], "ids")),
  removeRefs: (api, c, a) => api.removeRefs(c, strs(a[0], "ids")),
  borrowObjects: (api, c, a) => api.borrowObjects(c, strs(a[0], "ids"), str(a[1], "owner")),
  jobEnded: (api, c, a) => api.jobEnded(c, str(a[0], "job")),
  unpin: (api, c, a) => api.unpin(c, str(a[0], "id")),
  releaseActorName: (api, c, a) =>
    api.releaseActorName(c, str(a[0], "namespace"), str(a[1], "name"), str(a[2], "actor id")),
  killActor: (api, c, a) =>
    api.killActor(c, str(a[0], "actor id"), a[1] !== false, a[2] == null ? undefined : str(a[2], "home")),
  dropStream: (api, c, a) => api.dropStream(c, str(a[0], "task id")),
  createPlacementGroup: (api, c, a) => api.createPlacementGroup(c, a[0] as PlacementGroupSpec),
  removePlacementGroup: (api, c, a) => api.removePlacementGroup(c, str(a[0], "placement group id")),
};

/** Methods that answer (the reply carries the resolved value or the error). */
const CALLS: Record<string, Call> = {
  cancel: async (api, c, a) => api.cancel(c, str(a[0], "object id"), a[1] === true, a[2] !== false),
  freeObjects: (api, c, a) => api.freeObjects(c, strs(a[0], "ids")),
  getObjects: (api, c, a) => api.getObjects(c, strs(a[0], "ids"), optNum(a[1], "timeoutMs")),
  waitObjects: (api, c, a) =>
    api.waitObjects(c, strs(a[0], "ids"), optNum(a[1], "numReturns") ?? 1, optNum(a[2], "timeoutMs")),
  getNamedActor: (api, _c, a) => api.getNamedActor(str(a[0], "name"), str(a[1], "namespace")),
  actorDeath: (api, c, a) => api.actorDeath(c, str(a[0], "actor id")),
  claimActorName: (api, c, a) =>
    api.claimActorName(c, str(a[0], "namespace"), str(a[1], "name"), a[2] === true, handle(a[3])),
  streamNext: (api, c, a) => api.streamNext(c, str(a[0], "task id"), optNum(a[1], "index") ?? 0),
  waitPlacementGroup: (api, _c, a) =>
    api.waitPlacementGroup(str(a[0], "placement group id"), optNum(a[1], "timeoutMs")),
  placementGroupTable: (api) => api.placementGroupTable(),
  placementGroupByName: (api, _c, a) => api.placementGroupByName(str(a[0], "name"), str(a[1], "namespace")),
  prepareBundles: (api, c, a) => api.prepareBundles(c, groupSpec(a[0]), ints(a[1], "bundle indexes")),
  commitBundles: (api, c, a) =>
    api.commitBundles(c, str(a[0], "placement group id"), ints(a[1], "bundle indexes")),
  releaseBundles: (api, c, a) =>
    api.releaseBundles(
      c,
      str(a[0], "placement group id"),
      a[1] === null || a[1] === undefined ? undefined : ints(a[1], "bundle indexes"),
    ),
  nodes: (api) => api.nodes(),
  clusterResources: (api) => api.clusterResources(),
  availableResources: (api) => api.availableResources(),
};

/** Runs a fire-and-forget method; throws for an unknown method or bad arguments. */
export function castNodeApi(api: NodeApi, caller: CallerId, method: string, args: readonly unknown[]): void {
  const fn = Object.hasOwn(CASTS, method) ? CASTS[method] : undefined;
  if (fn === undefined) throw new TypeError(`Unknown call: ${method}`);
  fn(api, caller, args);
}

/** Runs a method that answers; an unknown method or bad arguments reject. */
export function callNodeApi(
  api: NodeApi,
  caller: CallerId,
  method: string,
  args: readonly unknown[],
): Promise<unknown> {
  const fn = Object.hasOwn(CALLS, method) ? CALLS[method] : undefined;
  if (fn === undefined) return Promise.reject(new TypeError(`Unknown request: ${method}`));
  try {
    return fn(api, caller, args);
  } catch (err) {
    return Promise.reject(err);
  }
}
