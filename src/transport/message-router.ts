/**
 * A {@link MessageHandler} from a table of handlers by message type. A type missing from the table
 * throws {@link UnknownMessageError}, which the peer turns into an `error` answer naming the type.
 *
 * @example
 * peer.onMessage(routeMessages({
 *   heartbeat: (m) => table.heartbeat(m),
 *   status: () => table.status(),
 * }));
 */
import type { Message } from "./message.ts";
import type { MessageHandler, Peer } from "./peer.ts";
import { UnknownMessageError } from "./transport-errors.ts";

/** Handlers by message type. */
export type MessageTable = Readonly<Record<string, (message: Message, peer: Peer) => unknown>>;

/** The handler that looks `message.t` up in `table`. */
export function routeMessages(table: MessageTable): MessageHandler {
  return (message, peer) => {
    const handler = Object.hasOwn(table, message.t) ? table[message.t] : undefined;
    if (handler === undefined) {
      throw new UnknownMessageError(
        `Unknown message type: ${message.t}; expected one of ${Object.keys(table).join(", ")}`,
      );
    }
    return handler(message, peer);
  };
}
