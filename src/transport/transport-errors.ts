/**
 * Errors of the transport between processes. Each has a stable `code` that also travels in the
 * `error` message a peer answers with, so the other side can branch on it.
 */
import { RaytsError } from "../errors.ts";

/** A frame could not be decoded: not msgpack, truncated, oversized, or not an array of messages. */
export class FrameError extends RaytsError {
  override readonly code: string = "ERR_FRAME";
}

/** A message named a type the receiver does not handle. */
export class UnknownMessageError extends RaytsError {
  override readonly code: string = "ERR_UNKNOWN_MESSAGE";
}

/** A message had the right type but a field was missing or wrong. */
export class InvalidMessageError extends RaytsError {
  override readonly code: string = "ERR_INVALID_MESSAGE";
}

/** The other side refused the cluster token (HTTP 401). */
export class UnauthorizedError extends RaytsError {
  override readonly code: string = "ERR_UNAUTHORIZED";
}

/** The connection to a peer is closed, or could not be opened. */
export class PeerClosedError extends RaytsError {
  override readonly code: string = "ERR_PEER_CLOSED";
}

/** A request got no answer within its timeout. */
export class RequestTimeoutError extends RaytsError {
  override readonly code: string = "ERR_REQUEST_TIMEOUT";
}

/** The peer answered a request with an error; `code` is the one the peer sent. */
export class RemoteError extends RaytsError {
  override readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}
