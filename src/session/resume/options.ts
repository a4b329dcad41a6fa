// The `resume` session option: its shape, its defaults and its validation.
import type { Observable } from 'rxjs';
import type { Carrier } from '../../carrier.js';
import { badOption, checkOptionsObject, fnOption, intOption } from '../../util/validate.js';
import type { ResumeRegistry } from './registry.js';

/**
 * Session resumption (rxmux profile, on both ends): a carrier that ends or fails unexpectedly suspends the session
 * instead of failing it, and a new carrier resumes it with every channel byte-exact. Times in ms of the session's
 * scheduler, sizes in bytes.
 */
export interface ResumeOptions {
  /** How long a suspended session waits for a new carrier before everything fails with ERR_MUX_CARRIER, ms. Default 30000. */
  timeout?: number;
  /**
   * Most bytes of sent frames kept until the peer acknowledges them (the replay store). When it is full, channels
   * stop sending (their bytes stay queued) until acknowledgements come. Default 8388608 (8 MiB); at least 2097152.
   */
  bufferLimit?: number;
  /**
   * Client: new carriers tried per suspension by `reconnect`. Server: refused resume attempts (wrong token, position
   * not held) accepted per suspension; past it every attempt is refused with ERR_MUX_RESUME_ATTEMPTS. Default 16.
   */
  maxAttempts?: number;
  /**
   * Client: makes a new carrier when the session is suspended (a fresh TCP connection, a new WebSocket). Tried with
   * `retryDelay` between attempts until one resumes, `maxAttempts` were made, or `timeout` passed. Without it, call
   * `session.resume(carrier)` yourself.
   */
  reconnect?: () => Carrier | Promise<Carrier> | Observable<Carrier>;
  /**
   * Client: ms to wait before reconnect attempt `attempt` (1 for the first retry), as RxJS `retry({ delay })` takes it:
   * a number (fixed), or a function of the attempt and the last error. Default: 100 ms doubling per attempt, at most 5000.
   */
  retryDelay?: number | ((attempt: number, error: unknown) => number);
  /** Server: the registry that routes a resuming carrier to this session (`listen()` and `websocketSessions()` pass their own). */
  registry?: ResumeRegistry;
}

/** {@link ResumeOptions} with every default filled in. */
export interface ResolvedResume {
  /** See {@link ResumeOptions.timeout}. */
  readonly timeout: number;
  /** See {@link ResumeOptions.bufferLimit}. */
  readonly bufferLimit: number;
  /** See {@link ResumeOptions.maxAttempts}. */
  readonly maxAttempts: number;
  /** See {@link ResumeOptions.reconnect}. */
  readonly reconnect: ResumeOptions['reconnect'];
  /** ms before reconnect attempt `attempt` (see {@link ResumeOptions.retryDelay}). */
  readonly retryDelay: (attempt: number, error: unknown) => number;
  /** See {@link ResumeOptions.registry}. */
  readonly registry: ResumeRegistry | undefined;
}

/** Defaults of {@link ResumeOptions}. */
const RESUME_DEFAULTS = {
  /** ms a suspended session waits for a new carrier. */
  timeout: 30_000,
  /** Bytes the replay store holds at most. */
  bufferLimit: 8 * 1024 * 1024,
  /** Reconnect attempts (client) or refused attempts (server) per suspension. */
  maxAttempts: 16,
} as const;

/** Smallest `resume.bufferLimit`, bytes (four acknowledgement intervals of 512 KiB). */
const MIN_BUFFER_LIMIT = 2 * 1024 * 1024;

const KNOWN = new Set(['timeout', 'bufferLimit', 'maxAttempts', 'reconnect', 'retryDelay', 'registry']);

/** Validates the `resume` option (`false`/undefined: off; `true`: defaults). Throws ERR_MUX_INVALID_OPTION. */
export function resolveResume(value: unknown): ResolvedResume | false {
  if (value === undefined || value === false) return false;
  const o = (value === true ? {} : value) as ResumeOptions;
  checkOptionsObject('resume', o);
  for (const key of Object.keys(o)) if (!KNOWN.has(key)) throw badOption('resume', key, 'a known option (this one is unknown)');
  const timeout = intOption('resume', 'timeout', o.timeout, RESUME_DEFAULTS.timeout, 1, 2 ** 31 - 1);
  const bufferLimit = intOption('resume', 'bufferLimit', o.bufferLimit, RESUME_DEFAULTS.bufferLimit, MIN_BUFFER_LIMIT);
  const maxAttempts = intOption('resume', 'maxAttempts', o.maxAttempts, RESUME_DEFAULTS.maxAttempts, 1, 2 ** 31 - 1);
  const reconnect = fnOption<NonNullable<ResumeOptions['reconnect']>>('resume', 'reconnect', o.reconnect);
  let retryDelay: ResolvedResume['retryDelay'];
  if (o.retryDelay === undefined) retryDelay = (attempt) => Math.min(5000, 100 * 2 ** Math.min(attempt - 1, 16));
  else if (typeof o.retryDelay === 'function') retryDelay = o.retryDelay;
  else {
    const fixed = intOption('resume', 'retryDelay', o.retryDelay, 0, 0, 2 ** 31 - 1);
    retryDelay = () => fixed;
  }
  const registry = o.registry;
  if (registry !== undefined && (registry === null || typeof (registry as { route?: unknown }).route !== 'function')) {
    throw badOption('resume', 'registry', 'a ResumeRegistry');
  }
  return { timeout, bufferLimit, maxAttempts, reconnect, retryDelay, registry };
}
