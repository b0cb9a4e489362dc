/**
 * Callers waiting for actors to die for good: another node that placed an actor here asks with
 * `actorDeath`, and learns that it died by itself (a throwing constructor, crashes beyond its
 * restarts) so it can fail its calls and release its name in the head's table.
 */
import { ActorDiedError } from "../errors.ts";
import type { NodeContext } from "../scheduler/node-context.ts";
import type { Payload } from "./protocol.ts";

export class ActorDeaths {
  readonly #ctx: NodeContext;
  readonly #waiters = new Map<string, Array<(death: Payload) => void>>();

  constructor(ctx: NodeContext) {
    this.#ctx = ctx;
  }

  /** Resolves with the actor's death (inline) once {@link wake} is called for it. */
  wait(actorId: string): Promise<Payload> {
    return new Promise((resolve) => {
      let list = this.#waiters.get(actorId);
      if (list === undefined) {
        list = [];
        this.#waiters.set(actorId, list);
      }
      list.push((d) => resolve(this.inline(d)));
    });
  }

  /** The actor died for good: answers everyone waiting for it. */
  wake(actorId: string, death: Payload): void {
    const list = this.#waiters.get(actorId);
    if (list === undefined) return;
    this.#waiters.delete(actorId);
    for (const wake of list) wake(death);
  }

  /** A death as it can cross to another node: its frame's bytes, copied out of shm if there. */
  inline(death: Payload): Payload {
    if (death.t === 0) return death;
    const arena = this.#ctx.store.arena;
    if (arena === undefined) return this.#ctx.errorPayload(new ActorDiedError("Actor died"));
    return { t: 0, bytes: new Uint8Array(arena.slice(death.off, death.size)) };
  }
}
