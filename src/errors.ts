/**
 * Every failure in rxmux is a {@link MuxError} carrying a stable string code.
 *
 * @example
 * ```ts
 * import { MuxError } from 'rxmux';
 * channel.incoming$.subscribe({ error: (e) => { if (e instanceof MuxError && e.code === 'ERR_MUX_RESET') { ... } } });
 * ```
 */
export const MuxErrorCodes = {
  /** The peer broke the wire protocol (bad version/type, window exceeded, id rules, oversized frame), or reported that we did (GoAway 1). */
  PROTOCOL: 'ERR_MUX_PROTOCOL',
  /** The peer ended the session with GoAway(2) (internal error), or this side hit an internal fault. */
  INTERNAL: 'ERR_MUX_INTERNAL',
  /** The peer sent GoAway(0): no new channels may be opened on this session. */
  GOAWAY: 'ERR_MUX_GOAWAY',
  /** The acceptor rejected an open. `reason` and `wireCode` carry its answer. */
  REJECTED: 'ERR_MUX_REJECTED',
  /** The channel was reset (by the peer, or locally). `wireCode` and `reason` carry the reset's code and reason. */
  RESET: 'ERR_MUX_RESET',
  /** A write after the write side was closed (FIN sent) or the channel ended. */
  WRITE_CLOSED: 'ERR_MUX_WRITE_CLOSED',
  /** The session is closed (closed locally, carrier ended or failed): nothing more can be opened or written. */
  SESSION_CLOSED: 'ERR_MUX_SESSION_CLOSED',
  /** The carrier ended or failed underneath the session; `cause` holds the carrier's error. */
  CARRIER: 'ERR_MUX_CARRIER',
  /** A deadline passed: keep-alive, ping, open, close, or a channel's read/write idle timeout. */
  TIMEOUT: 'ERR_MUX_TIMEOUT',
  /** A configured limit was hit: maxOpen, accept backlog, metadata size, id space, session receive budget. */
  LIMIT: 'ERR_MUX_LIMIT',
  /** A push-only source outran the channel's high-water mark under the `error` overflow strategy. */
  OVERFLOW: 'ERR_MUX_OVERFLOW',
  /** An option had a bad type or value. */
  INVALID_OPTION: 'ERR_MUX_INVALID_OPTION',
  /** A call received a bad argument (e.g. a write of something that is not a Uint8Array). */
  INVALID_ARGUMENT: 'ERR_MUX_INVALID_ARGUMENT',
  /** A feature that needs the rxmux profile (metadata, reject reasons, reset reasons) was used with the strict yamux profile. */
  UNSUPPORTED: 'ERR_MUX_UNSUPPORTED',
  /** A second reader subscribed to a channel's inbound bytes while one is active. */
  READ_BUSY: 'ERR_MUX_READ_BUSY',
  /** Message framing on top of a channel could not be decoded: bad JSON, a message or transfer cut short by the end of the stream, a malformed header. */
  DECODE: 'ERR_MUX_DECODE',
  /** A file transfer's SHA-256 checksum did not match the bytes received. */
  CHECKSUM: 'ERR_MUX_CHECKSUM',
  /** A resume was refused: the token is wrong or stale (tokens are single use), or the server no longer has the session. */
  RESUME_TOKEN: 'ERR_MUX_RESUME_TOKEN',
  /** A resume was refused: the other side no longer holds the bytes from the position asked for. */
  RESUME_POSITION: 'ERR_MUX_RESUME_POSITION',
  /** A resume was refused: the session is connected (or another resume is in progress) and its token is in use. */
  RESUME_IN_USE: 'ERR_MUX_RESUME_IN_USE',
  /** A resume was refused: too many refused attempts on this session (`resume.maxAttempts`). */
  RESUME_ATTEMPTS: 'ERR_MUX_RESUME_ATTEMPTS',
} as const;

/** One of the stable string codes of {@link MuxErrorCodes}. */
export type MuxErrorCode = (typeof MuxErrorCodes)[keyof typeof MuxErrorCodes];

/** Optional details given to the {@link MuxError} constructor. */
export interface MuxErrorDetails {
  /** The numeric code that travelled (or will travel) on the wire: a GoAway code or a reset/reject code. */
  wireCode?: number;
  /** Human-readable reason sent by the peer (reject/reset reason in the rxmux profile). */
  reason?: string;
  /** True when the condition was reported by the peer rather than detected locally. */
  remote?: boolean;
  /** The underlying error (e.g. the carrier's). */
  cause?: unknown;
}

/** The one error type rxmux produces. `code` is stable across releases; match on it, not on `message`. */
export class MuxError extends Error {
  /** Always `'MuxError'`. */
  override readonly name = 'MuxError';
  /** The stable error code; match on it, not on `message`. */
  readonly code: MuxErrorCode;
  /** The numeric code that travelled (or will travel) on the wire: a GoAway code or a reset/reject code; undefined when none. */
  readonly wireCode: number | undefined;
  /** The reject or reset reason (rxmux profile); undefined when none. */
  readonly reason: string | undefined;
  /** True when the peer reported the condition, false when it was detected locally. */
  readonly remote: boolean;

  constructor(code: MuxErrorCode, message: string, details: MuxErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.code = code;
    this.wireCode = details.wireCode;
    this.reason = details.reason;
    this.remote = details.remote ?? false;
  }
}

/** True when `e` is a MuxError, optionally with the given code. */
export function isMuxError(e: unknown, code?: MuxErrorCode): e is MuxError {
  return e instanceof MuxError && (code === undefined || e.code === code);
}
