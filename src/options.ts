// Session options: their defaults, one check of every option (a MuxError naming the option on bad input),
// and the resolved form the session and channels read.
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import type { Channel } from './channel/types.js';
import { MuxError } from './errors.js';
import { INITIAL_WINDOW, MAX_U32 } from './frame/constants.js';
import { badOption, boolOption, checkOptionsObject, intOption, oneOfOption, schedulerOption } from './util/validate.js';
import { type ResolvedResume, type ResumeOptions, resolveResume } from './session/resume/options.js';

/** What a push-only source does when it outruns a channel's high-water mark. */
export type OverflowStrategy = 'error' | 'dropping' | 'sliding';

/**
 * Session options. Sizes are in bytes, times in milliseconds of the session's scheduler.
 * Only `role` is required.
 */
export interface SessionOptions {
  /** `client` opens odd stream ids (1, 3, …), `server` even ones (2, 4, …). The two ends must differ. Required. */
  role: 'client' | 'server';
  /**
   * Wire profile. `rxmux` (default) adds open metadata, accept replies, reject and reset reasons on top of yamux
   * framing, and must be used on both ends. `yamux` puts plain yamux on the wire, for any yamux peer.
   */
  profile?: 'rxmux' | 'yamux';
  /** Scheduler for every timer and clock reading. Default `asyncScheduler`; pass a `TestScheduler` for virtual time. */
  scheduler?: SchedulerLike;
  /** Receive window announced for each new channel, in bytes. Default 262144 (256 KiB, the yamux initial window); larger values are granted with a WindowUpdate on open/accept. */
  receiveWindow?: number;
  /** Ceiling for receive-window auto-tuning, in bytes. Default 16777216 (16 MiB). Set equal to `receiveWindow` to turn tuning off. */
  maxReceiveWindow?: number;
  /** Session-wide receive budget in bytes: while the bytes buffered across all channels reach it, no channel grants more credit. Default 67108864 (64 MiB). */
  receiveBudget?: number;
  /**
   * Largest Data payload this side sends, in bytes. Default 65536 (64 KiB). A channel alone on the carrier sends frames
   * this large; channels sharing it send at most one `quantum` (times weight) per frame.
   */
  maxFrameSize?: number;
  /** Bytes a channel may hold queued for sending before writes wait. Default 262144 (256 KiB). */
  highWaterMark?: number;
  /** Default overflow strategy for push-only (Observable) sources. Default `error`. */
  overflow?: OverflowStrategy;
  /** Bytes a channel may send per round of the fair writer (times its weight). Default 16384 (16 KiB). */
  quantum?: number;
  /**
   * The least bytes the in-flight bound allows on the carrier (written and not yet read by the peer), in bytes.
   * Once the carrier has pushed back, Ping probes measure what the peer has read, and data waits in the channels'
   * queues (where the fair writer still chooses) while `max(inFlightMin, 2 x delivery rate x minimum round trip)`
   * bytes are in flight: a small message on one channel is not queued behind megabytes of another's in socket
   * buffers. The bound engages only while there is such interactive traffic (a whole message of at most 1 KiB on a
   * channel that was idle, in the last second); bulk transfers alone are neither held nor probed.
   * Default 262144 (256 KiB). 0 turns the bound off.
   */
  inFlightMin?: number;
  /** Largest batch of bytes handed to the carrier in one write. Default 524288 (512 KiB). */
  writeBatchSize?: number;
  /** Send keep-alive pings. Default true. */
  keepAlive?: boolean;
  /** Time between keep-alive pings, in ms. Default 30000. */
  keepAliveInterval?: number;
  /** Time the peer has to send anything after a keep-alive ping before the session fails with ERR_MUX_TIMEOUT, in ms. Also the default `ping()` timeout. Default 10000. */
  keepAliveTimeout?: number;
  /**
   * Time one inbound frame may take to arrive whole, from its first byte to its last, in ms; 0 = no bound. Default:
   * `keepAliveTimeout` (10000). A peer that trickles a frame's payload (each byte resetting every idle clock) is ended
   * with ERR_MUX_TIMEOUT; a slow but honest link still delivers a 64 KiB frame well within it.
   */
  frameTimeout?: number;
  /** Time an open may wait for the acceptor's answer, in ms; 0 waits forever. Default 75000. */
  openTimeout?: number;
  /** Time a half-closed channel may sit idle before it is reset on both ends, in ms; 0 never. Default 300000. */
  closeTimeout?: number;
  /** Time a graceful `close()` waits for queued bytes to be written before it resets what is left, in ms. Default 30000. */
  shutdownTimeout?: number;
  /** Default idle read timeout per channel, in ms: no inbound bytes for this long fails the channel with ERR_MUX_TIMEOUT. 0 = none (default). */
  readTimeout?: number;
  /** Default idle write timeout per channel, in ms: queued bytes making no progress for this long fail the channel with ERR_MUX_TIMEOUT. 0 = none (default). */
  writeTimeout?: number;
  /** Most channels open at once (both directions, pending opens included). Default 4096. */
  maxOpen?: number;
  /** Most inbound opens waiting for accept/reject; past it, new inbound opens are answered with RST. Default 256. */
  acceptBacklog?: number;
  /** Largest open/accept metadata and reset/reject reason, in bytes (rxmux profile). Default 16384. */
  maxMetadata?: number;
  /**
   * Session resumption (rxmux profile, both ends): `true` or an object of {@link ResumeOptions} turns it on. A carrier
   * that ends or fails unexpectedly then suspends the session until a new carrier resumes it. Default false.
   */
  resume?: boolean | ResumeOptions;
  /**
   * Keep write boundaries on the wire: a Data frame never carries bytes of two `write()` calls, so a peer that reads
   * frame by frame sees each write as its own chunk (a write larger than `maxFrameSize` or the peer's credit is still
   * cut). Default false: what a channel queued in one turn may leave as one frame. The default for each channel's
   * {@link Channel.preserveWrites}.
   */
  preserveWrites?: boolean;
  /**
   * End (clean close) or destroy (failure) the carrier when the session ends. Default true. false leaves the carrier
   * to its owner: the session only stops reading and writing it (for a connection that outlives its muxer).
   */
  releaseCarrier?: boolean;
}

/** Options with every default filled in. */
export type ResolvedOptions = Required<Omit<SessionOptions, 'resume'>> & {
  /** The resolved `resume` option; false when off. */
  resume: ResolvedResume | false;
};

/**
 * The default of every session option that has a fixed one (sizes in bytes, times in ms of the session's scheduler).
 * `role` has none; `scheduler` defaults to `asyncScheduler` and `frameTimeout` to `keepAliveTimeout`.
 */
export const DEFAULTS: Omit<ResolvedOptions, 'role' | 'scheduler' | 'frameTimeout'> = {
  profile: 'rxmux',
  receiveWindow: INITIAL_WINDOW,
  maxReceiveWindow: 16 * 1024 * 1024,
  receiveBudget: 64 * 1024 * 1024,
  maxFrameSize: 64 * 1024,
  highWaterMark: 256 * 1024,
  overflow: 'error',
  quantum: 16 * 1024,
  writeBatchSize: 512 * 1024,
  inFlightMin: 256 * 1024,
  keepAlive: true,
  keepAliveInterval: 30_000,
  keepAliveTimeout: 10_000,
  openTimeout: 75_000,
  closeTimeout: 300_000,
  shutdownTimeout: 30_000,
  readTimeout: 0,
  writeTimeout: 0,
  maxOpen: 4096,
  acceptBacklog: 256,
  maxMetadata: 16 * 1024,
  resume: false,
  preserveWrites: false,
  releaseCarrier: true,
};

/**
 * The one weight rule (open and accept options, the `weight` property): a positive finite number. A weight of 0 or
 * NaN would give a channel no share, and the fair writer would spin on it. Returns the error, or undefined.
 */
export function checkWeight(
  value: unknown,
  name: string,
  code: 'ERR_MUX_INVALID_OPTION' | 'ERR_MUX_INVALID_ARGUMENT' = 'ERR_MUX_INVALID_OPTION',
): MuxError | undefined {
  if (typeof value === 'number' && value > 0 && Number.isFinite(value)) return undefined;
  return new MuxError(
    code,
    `${code === 'ERR_MUX_INVALID_OPTION' ? 'option ' : ''}${name}: expected a positive finite number, got ${String(value)}`,
  );
}

function int(name: string, value: unknown, min: number, max: number): void {
  intOption('', name, value, 0, min, max);
}

/** Fills defaults and validates. Throws MuxError ERR_MUX_INVALID_OPTION on a bad value. */
export function resolveOptions(options: SessionOptions): ResolvedOptions {
  checkOptionsObject('', options);
  const known = new Set([...Object.keys(DEFAULTS), 'role', 'scheduler', 'frameTimeout']);
  for (const key of Object.keys(options)) if (!known.has(key)) throw badOption('', key, 'a known option (this one is unknown)');
  const given = stripUndefined(options);
  const o: ResolvedOptions = { ...DEFAULTS, scheduler: asyncScheduler, ...given } as ResolvedOptions;
  if (given.frameTimeout === undefined) o.frameTimeout = o.keepAliveTimeout;
  if (o.role === undefined) throw badOption('', 'role', "'client' or 'server' (required)");
  oneOfOption('', 'role', o.role, ['client', 'server'], 'client');
  oneOfOption('', 'profile', o.profile, ['rxmux', 'yamux'], 'rxmux');
  oneOfOption('', 'overflow', o.overflow, ['error', 'dropping', 'sliding'], 'error');
  boolOption('', 'keepAlive', o.keepAlive, true);
  boolOption('', 'preserveWrites', o.preserveWrites, false);
  boolOption('', 'releaseCarrier', o.releaseCarrier, true);
  schedulerOption('', o.scheduler, asyncScheduler);
  int('receiveWindow', o.receiveWindow, INITIAL_WINDOW, MAX_U32);
  int('maxReceiveWindow', o.maxReceiveWindow, o.receiveWindow, MAX_U32);
  int('receiveBudget', o.receiveBudget, 1, Number.MAX_SAFE_INTEGER);
  int('maxFrameSize', o.maxFrameSize, 1, MAX_U32);
  int('highWaterMark', o.highWaterMark, 1, Number.MAX_SAFE_INTEGER);
  int('quantum', o.quantum, 1, MAX_U32);
  int('writeBatchSize', o.writeBatchSize, 1, Number.MAX_SAFE_INTEGER);
  int('inFlightMin', o.inFlightMin, 0, Number.MAX_SAFE_INTEGER);
  int('keepAliveInterval', o.keepAliveInterval, 1, 2 ** 31 - 1);
  int('keepAliveTimeout', o.keepAliveTimeout, 1, 2 ** 31 - 1);
  for (const name of ['frameTimeout', 'openTimeout', 'closeTimeout', 'shutdownTimeout', 'readTimeout', 'writeTimeout'] as const) {
    int(name, o[name], 0, 2 ** 31 - 1);
  }
  int('maxOpen', o.maxOpen, 1, 2 ** 31 - 1);
  int('acceptBacklog', o.acceptBacklog, 1, 2 ** 31 - 1);
  int('maxMetadata', o.maxMetadata, 0, INITIAL_WINDOW - 4);
  o.resume = resolveResume(given.resume);
  return o;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(o)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
