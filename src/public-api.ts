/**
 * The exports of module `rayts` (see index.ts). Workers get this module without the embedded-cluster
 * start-up code, which keeps a Worker's boot short.
 *
 * Module `rayts`: Ray's distributed computing model for TypeScript. Tasks (`remote(fn)`), actors
 * (`remote(Class)`), a shared-memory object store (`put`, `get`, `wait`) and a cluster that starts
 * inside your process when you run `rayts job.ts`.
 *
 * @example
 * import { get, remote } from "rayts";
 * const square = remote((x: number) => x * x);
 * console.log(await get([1, 2, 3].map((x) => square.remote(x)))); // [1, 4, 9]
 */
export {
  availableResources,
  cancel,
  clusterResources,
  free,
  type GetOptions,
  get,
  getActor,
  getRuntimeContext,
  init,
  isInitialized,
  kill,
  nodes,
  put,
  type RuntimeContext,
  shutdown,
  type WaitOptions,
  wait,
} from "./api.ts";
export * from "./errors.ts";
export { ObjectRef } from "./object-ref.ts";
export type {
  ActorOptions,
  InitOptions,
  MethodOptions,
  PlacementGroupLike,
  RuntimeEnv,
  SchedulingStrategy,
  TaskOptions,
} from "./options/types.ts";
export {
  getPlacementGroup,
  PlacementGroup,
  type PlacementGroupInfo,
  type PlacementGroupOptions,
  type PlacementGroupState,
  type PlacementStrategy,
  placementGroup,
  placementGroupTable,
  removePlacementGroup,
} from "./placement/api.ts";
export { ObjectRefGenerator } from "./runtime/object-ref-generator.ts";
export type { NodeInfo } from "./runtime/protocol.ts";
export type { ActorClass, ActorMethod, RemoteArgs, RemoteFunction } from "./runtime/remote.ts";
export { remote } from "./runtime/remote.ts";

import { ActorHandleBase } from "./runtime/actor-handle.ts";
import type { ActorHandle as TypedHandle } from "./runtime/remote.ts";

/** A handle to an actor of class `T`: its methods as `.remote()` calls, plus `actorId`. */
export type ActorHandle<T = unknown> = TypedHandle<T>;
/** The runtime class of every actor handle: `handle instanceof ActorHandle` holds. */
export const ActorHandle: typeof ActorHandleBase = ActorHandleBase;
