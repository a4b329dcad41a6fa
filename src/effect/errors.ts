// Owns the typed errors of rxmux/effect: one tagged error class per ERR_MUX_* code, and the mapping from MuxError.
// Everything the Effect API fails with is one of these, so users match them with Effect.catchTag / catchTags.
import { Data, Effect } from 'effect';
import { isMuxError, type MuxError, type MuxErrorCode } from '../index.js';

/**
 * What every rxmux tagged error carries, copied from the {@link MuxError} it stands for.
 *
 * @example
 * ```ts
 * program.pipe(Effect.catchTag('MuxResetError', (e) => Console.log(`reset by peer: code ${e.wireCode}, ${e.reason}`)));
 * ```
 */
export interface MuxErrorFields<C extends MuxErrorCode> {
  /** The stable ERR_MUX_* code (the same as the RxJS side's `MuxError.code`). */
  readonly code: C;
  /** Human-readable text; match on `_tag` or `code`, never on this. */
  readonly message: string;
  /** The numeric code that travelled on the wire (GoAway code, reset or reject code, WebSocket close code), if any. */
  readonly wireCode: number | undefined;
  /** The peer's reason (reject or reset reason, rxmux profile), if any. */
  readonly reason: string | undefined;
  /** True when the peer reported the condition, false when it was detected locally. */
  readonly remote: boolean;
  /** The underlying error (e.g. the carrier's, or Effect's SocketError), if any. */
  readonly cause: unknown;
  /** The original MuxError, for code shared with the RxJS side. */
  readonly error: MuxError;
}

/** ERR_MUX_PROTOCOL: the peer broke the wire protocol, or reported that we did (GoAway 1). */
export class MuxProtocolError extends Data.TaggedError('MuxProtocolError')<MuxErrorFields<'ERR_MUX_PROTOCOL'>> {}
/** ERR_MUX_INTERNAL: GoAway(2) from the peer, or an internal fault here. */
export class MuxInternalError extends Data.TaggedError('MuxInternalError')<MuxErrorFields<'ERR_MUX_INTERNAL'>> {}
/** ERR_MUX_GOAWAY: the peer sent GoAway(0); no new channels may be opened. */
export class MuxGoAwayError extends Data.TaggedError('MuxGoAwayError')<MuxErrorFields<'ERR_MUX_GOAWAY'>> {}
/** ERR_MUX_REJECTED: the acceptor rejected the open; `reason` and `wireCode` carry its answer. */
export class MuxRejectedError extends Data.TaggedError('MuxRejectedError')<MuxErrorFields<'ERR_MUX_REJECTED'>> {}
/** ERR_MUX_RESET: the channel was reset; `wireCode` and `reason` carry the reset's code and reason. */
export class MuxResetError extends Data.TaggedError('MuxResetError')<MuxErrorFields<'ERR_MUX_RESET'>> {}
/** ERR_MUX_WRITE_CLOSED: a write after the write side was closed (FIN queued). */
export class MuxWriteClosedError extends Data.TaggedError('MuxWriteClosedError')<MuxErrorFields<'ERR_MUX_WRITE_CLOSED'>> {}
/** ERR_MUX_SESSION_CLOSED: the session is closed; nothing more can be opened or written. */
export class MuxSessionClosedError extends Data.TaggedError('MuxSessionClosedError')<MuxErrorFields<'ERR_MUX_SESSION_CLOSED'>> {}
/** ERR_MUX_CARRIER: the carrier ended or failed underneath the session; `cause` holds the carrier's error. */
export class MuxCarrierError extends Data.TaggedError('MuxCarrierError')<MuxErrorFields<'ERR_MUX_CARRIER'>> {}
/** ERR_MUX_TIMEOUT: keep-alive, ping, open, close, or a channel's read/write idle deadline passed. */
export class MuxTimeoutError extends Data.TaggedError('MuxTimeoutError')<MuxErrorFields<'ERR_MUX_TIMEOUT'>> {}
/** ERR_MUX_LIMIT: a configured limit was hit (maxOpen, backlog, metadata size, ...). */
export class MuxLimitError extends Data.TaggedError('MuxLimitError')<MuxErrorFields<'ERR_MUX_LIMIT'>> {}
/** ERR_MUX_OVERFLOW: a push-only source outran the high-water mark under the `error` strategy. */
export class MuxOverflowError extends Data.TaggedError('MuxOverflowError')<MuxErrorFields<'ERR_MUX_OVERFLOW'>> {}
/** ERR_MUX_INVALID_OPTION: an option had a bad type or value. */
export class MuxInvalidOptionError extends Data.TaggedError('MuxInvalidOptionError')<MuxErrorFields<'ERR_MUX_INVALID_OPTION'>> {}
/** ERR_MUX_INVALID_ARGUMENT: a call received a bad argument. */
export class MuxInvalidArgumentError extends Data.TaggedError('MuxInvalidArgumentError')<MuxErrorFields<'ERR_MUX_INVALID_ARGUMENT'>> {}
/** ERR_MUX_UNSUPPORTED: a feature that needs the rxmux profile was used with the yamux profile. */
export class MuxUnsupportedError extends Data.TaggedError('MuxUnsupportedError')<MuxErrorFields<'ERR_MUX_UNSUPPORTED'>> {}
/** ERR_MUX_READ_BUSY: a second reader on a channel (or on the incoming opens) while one is active. */
export class MuxReadBusyError extends Data.TaggedError('MuxReadBusyError')<MuxErrorFields<'ERR_MUX_READ_BUSY'>> {}
/** ERR_MUX_DECODE: message framing on top of a channel could not be decoded. */
export class MuxDecodeError extends Data.TaggedError('MuxDecodeError')<MuxErrorFields<'ERR_MUX_DECODE'>> {}
/** ERR_MUX_CHECKSUM: a file transfer's checksum did not match. */
export class MuxChecksumError extends Data.TaggedError('MuxChecksumError')<MuxErrorFields<'ERR_MUX_CHECKSUM'>> {}
/** ERR_MUX_RESUME_TOKEN: a resume was refused for a wrong or stale token, or a session the server no longer has. */
export class MuxResumeTokenError extends Data.TaggedError('MuxResumeTokenError')<MuxErrorFields<'ERR_MUX_RESUME_TOKEN'>> {}
/** ERR_MUX_RESUME_POSITION: a resume was refused: the bytes from the position asked for are no longer held. */
export class MuxResumePositionError extends Data.TaggedError('MuxResumePositionError')<MuxErrorFields<'ERR_MUX_RESUME_POSITION'>> {}
/** ERR_MUX_RESUME_IN_USE: a resume was refused: the session's token is in use (the session is connected). */
export class MuxResumeInUseError extends Data.TaggedError('MuxResumeInUseError')<MuxErrorFields<'ERR_MUX_RESUME_IN_USE'>> {}
/** ERR_MUX_RESUME_ATTEMPTS: a resume was refused: too many refused attempts on the session. */
export class MuxResumeAttemptsError extends Data.TaggedError('MuxResumeAttemptsError')<MuxErrorFields<'ERR_MUX_RESUME_ATTEMPTS'>> {}

/** Any rxmux failure, as a tagged error. */
export type RxmuxError =
  | MuxProtocolError
  | MuxInternalError
  | MuxGoAwayError
  | MuxRejectedError
  | MuxResetError
  | MuxWriteClosedError
  | MuxSessionClosedError
  | MuxCarrierError
  | MuxTimeoutError
  | MuxLimitError
  | MuxOverflowError
  | MuxInvalidOptionError
  | MuxInvalidArgumentError
  | MuxUnsupportedError
  | MuxReadBusyError
  | MuxDecodeError
  | MuxChecksumError
  | MuxResumeTokenError
  | MuxResumePositionError
  | MuxResumeInUseError
  | MuxResumeAttemptsError;

type Ctor = new (fields: MuxErrorFields<never>) => RxmuxError;

/** The tagged error class for each ERR_MUX_* code (the documented mapping). */
export const TaggedErrors: { readonly [C in MuxErrorCode]: new (fields: MuxErrorFields<never>) => RxmuxError } = {
  ERR_MUX_PROTOCOL: MuxProtocolError as unknown as Ctor,
  ERR_MUX_INTERNAL: MuxInternalError as unknown as Ctor,
  ERR_MUX_GOAWAY: MuxGoAwayError as unknown as Ctor,
  ERR_MUX_REJECTED: MuxRejectedError as unknown as Ctor,
  ERR_MUX_RESET: MuxResetError as unknown as Ctor,
  ERR_MUX_WRITE_CLOSED: MuxWriteClosedError as unknown as Ctor,
  ERR_MUX_SESSION_CLOSED: MuxSessionClosedError as unknown as Ctor,
  ERR_MUX_CARRIER: MuxCarrierError as unknown as Ctor,
  ERR_MUX_TIMEOUT: MuxTimeoutError as unknown as Ctor,
  ERR_MUX_LIMIT: MuxLimitError as unknown as Ctor,
  ERR_MUX_OVERFLOW: MuxOverflowError as unknown as Ctor,
  ERR_MUX_INVALID_OPTION: MuxInvalidOptionError as unknown as Ctor,
  ERR_MUX_INVALID_ARGUMENT: MuxInvalidArgumentError as unknown as Ctor,
  ERR_MUX_UNSUPPORTED: MuxUnsupportedError as unknown as Ctor,
  ERR_MUX_READ_BUSY: MuxReadBusyError as unknown as Ctor,
  ERR_MUX_DECODE: MuxDecodeError as unknown as Ctor,
  ERR_MUX_CHECKSUM: MuxChecksumError as unknown as Ctor,
  ERR_MUX_RESUME_TOKEN: MuxResumeTokenError as unknown as Ctor,
  ERR_MUX_RESUME_POSITION: MuxResumePositionError as unknown as Ctor,
  ERR_MUX_RESUME_IN_USE: MuxResumeInUseError as unknown as Ctor,
  ERR_MUX_RESUME_ATTEMPTS: MuxResumeAttemptsError as unknown as Ctor,
};

/**
 * The tagged error for a MuxError: `MuxError('ERR_MUX_RESET', ...)` becomes a `MuxResetError` with the same code,
 * message, wireCode, reason, remote flag and cause.
 *
 * @example
 * ```ts
 * const tagged = fromMuxError(new MuxError('ERR_MUX_RESET', 'reset', { wireCode: 7 })); // tagged._tag === 'MuxResetError'
 * ```
 */
export function fromMuxError(error: MuxError): RxmuxError {
  const Tagged = TaggedErrors[error.code] ?? (MuxInternalError as unknown as Ctor);
  return new Tagged({
    code: error.code as never,
    message: error.message,
    wireCode: error.wireCode,
    reason: error.reason,
    remote: error.remote,
    cause: error.cause,
    error,
  });
}

/** Fails with the tagged form of a MuxError; anything else is a defect (a bug, not an expected failure). */
export function failWith(error: unknown): Effect.Effect<never, RxmuxError> {
  return isMuxError(error) ? Effect.fail(fromMuxError(error)) : Effect.die(error);
}
