// The public session types: what applications see of a session, its open requests, options of open/accept,
// stats and how it ended.
import type { Observable } from 'rxjs';
import type { Channel } from '../channel/types.js';
import type { Carrier } from '../carrier.js';
import type { MuxError } from '../errors.js';

/** Options for {@link Session.open}. */
export interface OpenOptions {
  /** Metadata the acceptor sees before any data (rxmux profile). A string is sent as UTF-8. At most `maxMetadata` bytes. */
  meta?: Uint8Array | string;
  /**
   * Emit the channel only once the peer accepted it (true), or at once, before the answer, like yamux's
   * OpenStream (false): the channel may then send within the 256 KiB initial window, and a refusal or an open
   * timeout fails the channel itself (ERR_MUX_REJECTED / ERR_MUX_TIMEOUT). Default: true in the rxmux profile
   * (the answer carries the reply metadata), false in the yamux profile (some yamux peers acknowledge a stream
   * only with their first outgoing frame).
   */
  waitForAccept?: boolean;
  /** Time to wait for the answer, in ms; 0 waits forever. Default: the session's `openTimeout` (75000). */
  timeout?: number;
  /** Share of the carrier relative to other channels. Default 1. */
  weight?: number;
  /** Idle read timeout for this channel, in ms; 0 = none. Default: the session's `readTimeout`. */
  readTimeout?: number;
  /** Idle write timeout for this channel, in ms; 0 = none. Default: the session's `writeTimeout`. */
  writeTimeout?: number;
}

/** Options for {@link IncomingChannel.accept}. */
export interface AcceptOptions {
  /** Reply metadata the opener sees (rxmux profile). */
  meta?: Uint8Array | string;
  /** Share of the carrier relative to other channels: a positive finite number. Default 1. */
  weight?: number;
  /** Idle read timeout for this channel, in ms; 0 = none. Default: the session's `readTimeout`. */
  readTimeout?: number;
  /** Idle write timeout for this channel, in ms; 0 = none. Default: the session's `writeTimeout`. */
  writeTimeout?: number;
}

/** An open request from the peer, waiting for this side's answer. */
export interface IncomingChannel {
  /** Stream id the peer chose: odd when a client opened it, even when a server did. */
  readonly id: number;
  /** The opener's metadata (empty in the yamux profile). */
  readonly meta: Uint8Array;
  /** Accepts: the opener's `open()` emits its channel, and bytes the opener already sent are delivered. */
  accept(options?: AcceptOptions): Channel;
  /** Refuses: the opener's `open()` errors with ERR_MUX_REJECTED carrying `reason` and `code` (reason and code need the rxmux profile). */
  reject(reason?: string, code?: number): void;
}

/** Options for {@link Session.close}. */
export interface CloseOptions {
  /**
   * What happens to channels still open when the close completes (our bytes and FINs are out, GoAway(0) sent).
   * `fail` (default): they fail with ERR_MUX_SESSION_CLOSED, as the peer may still have had bytes to send.
   * `end`: they end cleanly: bytes already received stay readable, then their reader completes as after a FIN,
   * and `closed$` reports no error (for protocols that know the peer is done, as libp2p's muxer close does).
   * A channel the application opened and already holds (an eager open still waiting for its answer) is ended with
   * FIN like an open one instead of being reset.
   */
  channels?: 'fail' | 'end';
}

/** A snapshot of a session's counters. */
export interface SessionStats {
  /** Bytes received from the carrier, frame headers included. */
  readonly bytesIn: number;
  /** Bytes handed to the carrier, frame headers included. */
  readonly bytesOut: number;
  /** Frames received, of every type (frames whose payload was skipped unread are not counted). */
  readonly framesIn: number;
  /** Frames sent, of every type (control frames count once queued). */
  readonly framesOut: number;
  /** Channels registered now (opening, pending, open). */
  readonly openChannels: number;
  /** Channels this side opened (SYN sent) since the session started. */
  readonly openedLocal: number;
  /** Opens from the peer admitted as channels since the session started (refused ones count in `refusedOpens`). */
  readonly openedRemote: number;
  /** Inbound opens answered with RST (backlog, maxOpen, going away, oversized metadata, rejected). */
  readonly refusedOpens: number;
  /** Frames for unknown or closed channels, dropped as yamux does. */
  readonly droppedFrames: number;
  /**
   * Answers not sent because the carrier was saturated with 64 (CONTROL_BACKLOG) control frames already queued:
   * Ping(ACK)s to the peer's pings and RSTs refusing its opens (a peer that floods without reading gets no more).
   */
  readonly droppedControl: number;
  /** Inbound bytes buffered across channels. */
  readonly bufferedIn: number;
  /** Smoothed round-trip time in ms, -1 before the first sample. */
  readonly rtt: number;
  /** Times the session was resumed over a new carrier (resumption). */
  readonly resumptions: number;
  /** Bytes written again from the replay store on resumes. */
  readonly replayedBytes: number;
  /** Bytes in the replay store now (sent, not yet acknowledged by the peer); 0 without resumption. */
  readonly replayBuffered: number;
  /** Most bytes the replay store held at once. */
  readonly replayPeak: number;
}

/**
 * What {@link Session.state$} reports: `connected` at first, `suspended` when the carrier was lost and the session
 * waits for a new one (resumption), `resumed` once a new carrier took over, `closed` at the end.
 */
export type SessionState = 'connected' | 'suspended' | 'resumed' | 'closed';

/** How a session ended: `error` is undefined after a clean close. */
export interface SessionEnd {
  /** The error the session failed with; undefined after a clean close. */
  readonly error: MuxError | undefined;
}

/**
 * A multiplexed session over one carrier.
 *
 * @example
 * ```ts
 * const session = createSession(carrier, { role: 'client' });
 * session.open({ meta: 'echo' }).subscribe((ch) => ch.write('hi'));
 * session.incoming$.subscribe((req) => req.accept());
 * ```
 */
export interface Session {
  /** This side's role: `client` opens odd stream ids, `server` even ones. */
  readonly role: 'client' | 'server';
  /** The wire profile in use (see {@link SessionOptions.profile}). */
  readonly profile: 'rxmux' | 'yamux';
  /** Opens requested by the peer. One subscriber at a time; while none, up to `acceptBacklog` wait. Completes when the session ends cleanly, errors when it fails. */
  readonly incoming$: Observable<IncomingChannel>;
  /** Cold: subscribing sends SYN; emits the channel when accepted and completes. Unsubscribing before the answer sends RST. */
  open(options?: OpenOptions): Observable<Channel>;
  /** Cold: sends a Ping and emits the round-trip time in ms of the session's scheduler. Errors with ERR_MUX_TIMEOUT after `timeout` ms (default keepAliveTimeout). */
  ping(timeout?: number): Observable<number>;
  /** Sends GoAway(0): the peer may open nothing more; existing channels go on. */
  goAway(): void;
  /**
   * Graceful close: every channel's queued bytes then FIN, GoAway(0), then the carrier ends (unless
   * `releaseCarrier` is false). Resolves once closed. See {@link CloseOptions} for channels still open then.
   */
  close(options?: CloseOptions): Promise<void>;
  /** Abrupt close: channels fail with `error` (default ERR_MUX_SESSION_CLOSED), GoAway is sent best-effort, the carrier ends. */
  destroy(error?: MuxError): void;
  /**
   * Emits once, with the GoAway code, when the peer sends GoAway, then completes: after code 0 the peer accepts no
   * new channels (opens fail with ERR_MUX_GOAWAY) while existing ones go on; any other code also fails the session.
   * Completes without a value when the session ends without one. Late subscribers get the code at once.
   */
  readonly peerGoAway$: Observable<number>;
  /** True once the peer sent GoAway(0): it accepts no new channels. */
  readonly peerGoAway: boolean;
  /** Emits once when the session has ended. */
  readonly closed$: Observable<SessionEnd>;
  /** True once the session has ended (closed, destroyed, or failed). */
  readonly isClosed: boolean;
  /** Counters now. */
  stats(): SessionStats;
  /**
   * The session's connection state: emits the current one on subscription, then each change; completes after `closed`.
   * Without resumption it is `connected`, then `closed`.
   */
  readonly state$: Observable<SessionState>;
  /**
   * Resumes a suspended session over a new carrier (client side; with `resume.reconnect` this happens by itself).
   * Completes once resumed; errors with ERR_MUX_RESUME_* when refused (the session stays suspended, until
   * `resume.timeout`), ERR_MUX_RESUME_IN_USE when the session is not suspended, ERR_MUX_UNSUPPORTED without resumption.
   */
  resume(carrier: Carrier): Observable<void>;
  /** The registered channels now (their public views). */
  channels(): Channel[];
}
