import type { ObjectRef } from "../object-ref.ts";

/**
 * How the runtime plugs into the codec: it sees every `ObjectRef` a value contains (to count
 * borrowed references) and builds live refs and actor handles on the receiving side.
 */
export interface CodecHooks {
  /** Encode: called once for every ObjectRef met, nested ones included. */
  onRef?(ref: ObjectRef<unknown>): void;
  /** Decode: builds a ref; the default is `new ObjectRef(id, owner)`. */
  makeRef?(id: string, owner: string): ObjectRef<unknown>;
  /** Decode: builds an actor handle from its state; the default returns the state object. */
  makeActorHandle?(state: Record<string, unknown>): unknown;
}

/**
 * An encoded value: `meta` is MessagePack and `buffers` are the out-of-band binary payloads (each at
 * least `OOB_THRESHOLD` bytes) that `meta` refers to by index. Fresh from `serialize`, the buffers are
 * views of the caller's memory; from `readFrame`, views of the frame.
 */
export interface Serialized {
  meta: Uint8Array;
  buffers: Uint8Array[];
}
