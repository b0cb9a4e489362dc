/**
 * The result of calling a generator task: an async iterable of refs, one per yielded value, each
 * available as soon as the worker yields it.
 *
 * @example
 * const gen = remote(function* (n: number) { for (let i = 0; i < n; i++) yield i; });
 * for await (const ref of gen.remote(3)) console.log(await get(ref));
 */
import { ObjectRef } from "../object-ref.ts";
import type { Core } from "./core.ts";

const dropped = new FinalizationRegistry<{ core: Core; taskId: string }>(({ core, taskId }) =>
  core.api.dropStream(core.caller, taskId),
);

export class ObjectRefGenerator<T = unknown> implements AsyncIterableIterator<ObjectRef<T>> {
  /** Id of the generator task. */
  readonly taskId: string;
  readonly #core: Core;
  #index = 0;
  #done = false;

  constructor(core: Core, taskId: string) {
    this.#core = core;
    this.taskId = taskId;
    dropped.register(this, { core, taskId }, this);
  }

  async next(): Promise<IteratorResult<ObjectRef<T>, undefined>> {
    if (this.#done) return { done: true, value: undefined };
    const step = await this.#core.api.streamNext(this.#core.caller, this.taskId, this.#index);
    if ("done" in step) {
      this.#finish();
      return { done: true, value: undefined };
    }
    this.#index++;
    return { done: false, value: new ObjectRef<T>(step.id) };
  }

  async return(): Promise<IteratorResult<ObjectRef<T>, undefined>> {
    this.#finish();
    return { done: true, value: undefined };
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #finish(): void {
    if (this.#done) return;
    this.#done = true;
    dropped.unregister(this);
    this.#core.api.dropStream(this.#core.caller, this.taskId);
  }
}

export { ObjectRef };
