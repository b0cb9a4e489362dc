/**
 * The remote functions and actor classes the microbenchmarks run, as Ray's `ray_perf.py` defines them.
 * Workers must import the module that defines remote code, so this module imports only `rayts` and is
 * loaded through `workload-module.ts` (from a temp file), never bundled into the driver directly.
 */
import { type ActorHandle, get, put, remote } from "rayts";

/** Ray's `small_value`: a task returning a tiny constant. */
export const small = remote(function small(): number {
  return 0;
});

/** An actor whose one method returns a tiny constant (Ray's `Actor.small_value`). */
export class Server {
  small(): number {
    return 0;
  }
}

/** {@link Server} as an actor class. */
export const ServerActor = remote(Server);

/** A task that returns an object holding 10,000 refs, each to a fresh `put(1)`. */
export const containing10kRefs = remote(function containing10kRefs(): unknown[] {
  const refs: unknown[] = [];
  for (let i = 0; i < 10_000; i++) refs.push(put(1));
  return refs;
});

/** Submits `n` small tasks from inside an actor (nested submissions) and waits for them all. */
export class TaskClient {
  async batch(n: number): Promise<number> {
    const refs = [];
    for (let i = 0; i < n; i++) refs.push(small.remote());
    await get(refs);
    return 0;
  }
}

/** {@link TaskClient} as an actor class. */
export const TaskClientActor = remote(TaskClient);

/** An actor calling every server `n` times, then waiting for all the calls (Ray's `Client`). */
export class ActorClient {
  readonly #servers: ActorHandle<Server>[];

  constructor(servers: ActorHandle<Server>[]) {
    this.#servers = servers;
  }

  async batch(n: number): Promise<number> {
    const refs = [];
    for (const server of this.#servers) for (let i = 0; i < n; i++) refs.push(server.small.remote());
    await get(refs);
    return 0;
  }
}

/** {@link ActorClient} as an actor class. */
export const ActorClientActor = remote(ActorClient);

/** A task making `n` calls round-robin over `servers`, then waiting for them all. */
export const roundRobin = remote(async function roundRobin(
  servers: ActorHandle<Server>[],
  n: number,
): Promise<number> {
  const refs = [];
  for (let i = 0; i < n; i++) refs.push(servers[i % servers.length]!.small.remote());
  await get(refs);
  return 0;
});
