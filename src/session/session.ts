import { Observable, type SchedulerAction, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
import type { Carrier } from '../carrier.js';
import { ChannelImpl, type Channel, type ChannelHost } from '../channel/channel.js';
import { MuxError } from '../errors.js';
import { Flag, FrameType, GoAwayCode, HEADER_LENGTH, INITIAL_WINDOW, MAX_U32 } from '../frame/constants.js';
import { FrameReader, type FrameSink, type HeaderVerdict } from '../frame/decode.js';
import { writeHeader } from '../frame/encode.js';
import { encodeReason, parseReason } from '../frame/reason.js';
import { FairWriter } from '../scheduler/fair-writer.js';
import { toBytes } from '../util/bytes.js';
import { OnceSignal } from '../util/signal.js';
import { DeadlineSweeper } from '../util/deadlines.js';
import { resolveOptions, type ResolvedOptions, type SessionOptions } from '../options.js';

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
  weight?: number;
  readTimeout?: number;
  writeTimeout?: number;
}

/** An open request from the peer, waiting for this side's answer. */
export interface IncomingChannel {
  readonly id: number;
  /** The opener's metadata (empty in the yamux profile). */
  readonly meta: Uint8Array;
  /** Accepts: the opener's `open()` emits its channel, and bytes the opener already sent are delivered. */
  accept(options?: AcceptOptions): Channel;
  /** Refuses: the opener's `open()` errors with ERR_MUX_REJECTED carrying `reason` and `code` (reason and code need the rxmux profile). */
  reject(reason?: string, code?: number): void;
}

/** A snapshot of a session's counters. */
export interface SessionStats {
  readonly bytesIn: number;
  readonly bytesOut: number;
  readonly framesIn: number;
  readonly framesOut: number;
  /** Channels registered now (opening, pending, open). */
  readonly openChannels: number;
  readonly openedLocal: number;
  readonly openedRemote: number;
  /** Inbound opens answered with RST (backlog, maxOpen, going away, oversized metadata, rejected). */
  readonly refusedOpens: number;
  /** Frames for unknown or closed channels, dropped as yamux does. */
  readonly droppedFrames: number;
  /**
   * Answers not sent because the carrier was saturated with {@link CONTROL_BACKLOG} control frames already queued:
   * Ping(ACK)s to the peer's pings and RSTs refusing its opens (a peer that floods without reading gets no more).
   */
  readonly droppedControl: number;
  /** Inbound bytes buffered across channels. */
  readonly bufferedIn: number;
  /** Smoothed round-trip time in ms, -1 before the first sample. */
  readonly rtt: number;
}

/** How a session ended: `error` is undefined after a clean close. */
export interface SessionEnd {
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
  readonly role: 'client' | 'server';
  readonly profile: 'rxmux' | 'yamux';
  /** Opens requested by the peer. One subscriber at a time; while none, up to `acceptBacklog` wait. Completes when the session ends cleanly, errors when it fails. */
  readonly incoming$: Observable<IncomingChannel>;
  /** Cold: subscribing sends SYN; emits the channel when accepted and completes. Unsubscribing before the answer sends RST. */
  open(options?: OpenOptions): Observable<Channel>;
  /** Cold: sends a Ping and emits the round-trip time in ms of the session's scheduler. Errors with ERR_MUX_TIMEOUT after `timeout` ms (default keepAliveTimeout). */
  ping(timeout?: number): Observable<number>;
  /** Sends GoAway(0): the peer may open nothing more; existing channels go on. */
  goAway(): void;
  /** Graceful close: every channel's queued bytes then FIN, GoAway(0), then the carrier ends. Resolves once closed. */
  close(): Promise<void>;
  /** Abrupt close: channels fail with `error` (default ERR_MUX_SESSION_CLOSED), GoAway is sent best-effort, the carrier ends. */
  destroy(error?: MuxError): void;
  /** Emits once when the session has ended. */
  readonly closed$: Observable<SessionEnd>;
  readonly isClosed: boolean;
  /** Counters now. */
  stats(): SessionStats;
  /** The registered channels now. */
  channels(): Channel[];
}

const EMPTY = new Uint8Array(0);

/** Schedules the end-of-job flush (cheaper than Node's queueMicrotask, which makes an AsyncResource per call). */
const RESOLVED: Promise<void> = Promise.resolve();

/** While handling one carrier chunk, what was made so far is written after every this many frames. */
const MID_CHUNK_FLUSH_FRAMES = 64;

/**
 * A scheduler whose clock reads below this (ms since 1970: early 1973) at session start keeps virtual time (a
 * TestScheduler starts at 0). Read from the injected scheduler only: no second clock.
 */
const VIRTUAL_CLOCK_BELOW = 1e11;

/**
 * Control frames a hostile peer can make us queue (Ping answers, RSTs refusing its opens) are dropped while the carrier
 * is saturated and this many control frames already wait: otherwise a peer that floods pings or SYNs without reading
 * would grow our queue without bound. (go-yamux drops ping replies past a backlog of 32 alike.)
 */
export const CONTROL_BACKLOG = 64;
type PingWaiter = { start: number; done: (rtt: number) => void; fail: (e: MuxError) => void };

/** Creates a session and starts it at once. See {@link multiplex} for the Observable form. */
export function createSession(carrier: Carrier, options: SessionOptions): Session {
  return new SessionImpl(carrier, resolveOptions(options));
}

/**
 * The session as an Observable: subscribing starts it and emits it once; the subscription is its lifetime.
 * Completes when the session closes cleanly, errors with a MuxError when it fails; unsubscribing closes it gracefully.
 *
 * @example
 * ```ts
 * multiplex(socketCarrier(socket), { role: 'server' })
 *   .pipe(switchMap((session) => session.incoming$))
 *   .subscribe((req) => req.accept().incoming$.subscribe(console.log));
 * ```
 */
export function multiplex(carrier: Carrier, options: SessionOptions): Observable<Session> {
  const resolved = resolveOptions(options);
  return new Observable<Session>((subscriber) => {
    const session = new SessionImpl(carrier, resolved);
    const sub = session.closed$.subscribe(({ error }) => (error ? subscriber.error(error) : subscriber.complete()));
    subscriber.next(session);
    return () => {
      sub.unsubscribe();
      if (!session.isClosed) void session.close();
    };
  });
}

/** A peer's open waiting for an answer: what `incoming$` emits. */
class Incoming implements IncomingChannel {
  readonly id: number;
  readonly meta: Uint8Array;

  constructor(
    private readonly session: SessionImpl,
    private readonly ch: ChannelImpl,
  ) {
    this.id = ch.id;
    this.meta = ch.meta;
  }

  accept(options: AcceptOptions = {}): Channel {
    return this.session.acceptIncoming(this.ch, options);
  }

  reject(reason?: string, code = 0): void {
    this.session.rejectIncoming(this.ch, reason, code);
  }
}

class SessionImpl implements Session, ChannelHost {
  readonly role: 'client' | 'server';
  readonly profile: 'rxmux' | 'yamux';
  readonly scheduler: SchedulerLike;
  rtt = -1;
  bufferedIn = 0;

  private readonly map = new Map<number, ChannelImpl>();
  private nextId: number;
  private lastPeerId = 0;
  private readonly writer: FairWriter;
  private readonly decoder: FrameReader;
  private readonly carrierSubs: Subscription[] = [];
  private inBatch = 0;
  /** Frames handled so far in the current carrier chunk. */
  private chunkFrames = 0;
  /** {@link clock} while a carrier chunk is handled or a deferred flush is pending (-1: not read yet). */
  private batchClock = -1;
  /** A deferred flush is scheduled (see {@link flush}). */
  private flushQueued = false;
  /**
   * The scheduler keeps virtual time (a TestScheduler, or asyncScheduler inside TestScheduler.run): deferred flushes
   * go through it, at the end of the current virtual frame, instead of a microtask that virtual time never reaches.
   */
  private readonly virtualClock: boolean;
  private closedWith: MuxError | undefined;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Set once close() has queued every FIN and RST (the GoAway follows once they are out): from then on the session ends when all is flushed. */
  private closeArmed = false;
  private sentGoAway = false;
  private peerGoAway = false;
  private readonly ended = new OnceSignal<SessionEnd>();
  private readonly deferred = new Set<ChannelImpl>();

  // Inbound opens waiting for the application.
  private readonly backlog: IncomingChannel[] = [];
  private pendingAccept = 0;
  private acceptor: Subscriber<IncomingChannel> | undefined;

  // Pings.
  private nextPing = 1;
  private readonly pings = new Map<number, PingWaiter>();
  private keepAliveTimer: Subscription | undefined;
  /** One deadline per keep-alive ping still waiting (several when keepAliveTimeout > keepAliveInterval). */
  private readonly keepAliveChecks = new Set<Subscription>();
  private shutdownTimer: Subscription | undefined;
  private chunksIn = 0;
  /** One timer for every open timeout and close timeout. */
  private readonly sweeper: DeadlineSweeper;
  /** Scheduler time at the start: channel timestamps are kept relative to it. */
  private readonly epoch: number;
    /** A Ping for the first round-trip sample is on its way. */
  private rttProbe = false;

  // Counters.
  private bytesIn = 0;
  private framesIn = 0;
  private openedLocal = 0;
  private openedRemote = 0;
  private refusedOpens = 0;
  private droppedFrames = 0;
  private droppedControl = 0;

  constructor(
    private readonly carrier: Carrier,
    readonly options: ResolvedOptions,
  ) {
    this.role = options.role;
    this.profile = options.profile;
    this.scheduler = options.scheduler;
    this.epoch = this.scheduler.now();
    this.virtualClock = this.epoch < VIRTUAL_CLOCK_BELOW;
    this.sweeper = new DeadlineSweeper(this.scheduler, () => this.clock());
    this.nextId = options.role === 'client' ? 1 : 2;
    this.writer = new FairWriter(carrier, {
      maxFrameSize: options.maxFrameSize,
      quantum: options.quantum,
      batchSize: options.writeBatchSize,
    });
    const sink: FrameSink = {
      header: (type, flags, id, length) => this.checkHeader(type, flags, id, length),
      frame: (type, flags, id, length, data) => {
        this.onFrame(type, flags, id, length, data);
        // A chunk of many frames (a burst of opens, say): write the answers so far every so often, so the peer
        // works on them while this side handles the rest, instead of both sides taking turns.
        if (++this.chunkFrames % MID_CHUNK_FLUSH_FRAMES === 0) this.writer.flush();
      },
      skipped: (_type, flags, id, length) => this.onSkip(flags, id, length),
      dataPart: (id, data, last) => this.onDataPart(id, data, last),
    };
    this.decoder = new FrameReader(sink, Math.max(options.maxReceiveWindow, INITIAL_WINDOW));
    this.carrierSubs.push(
      carrier.drain$.subscribe(() => {
        this.writer.drained();
        if (this.closing) this.closeIfFlushed();
      }),
      carrier.incoming$.subscribe({
        next: (chunk) => this.onChunk(chunk),
        error: (e) => this.onCarrierError(e),
        complete: () => this.onCarrierEnd(),
      }),
    );
    if (options.keepAlive && !this.closed) this.startKeepAlive();
  }

  // ---------------------------------------------------------------- public API

  get isClosed(): boolean {
    return this.closed;
  }

  get closed$(): Observable<SessionEnd> {
    return this.ended.observable;
  }

  get incoming$(): Observable<IncomingChannel> {
    return new Observable<IncomingChannel>((subscriber) => {
      if (this.acceptor) {
        subscriber.error(new MuxError('ERR_MUX_READ_BUSY', 'incoming$ already has a subscriber'));
        return;
      }
      if (this.closed) {
        this.closedWith && this.closedWith.code !== 'ERR_MUX_SESSION_CLOSED' ? subscriber.error(this.closedWith) : subscriber.complete();
        return;
      }
      this.acceptor = subscriber;
      while (this.backlog.length > 0 && this.acceptor === subscriber && !subscriber.closed) {
        subscriber.next(this.backlog.shift()!);
      }
      this.flush();
      return () => {
        if (this.acceptor === subscriber) this.acceptor = undefined;
      };
    });
  }

  open(options: OpenOptions = {}): Observable<Channel> {
    return new Observable<Channel>((subscriber) => {
      const refusal = this.openRefusal(options);
      if (refusal instanceof MuxError) {
        subscriber.error(refusal);
        return;
      }
      const meta = refusal;
      const id = this.nextId;
      this.nextId += 2;
      const ch = new ChannelImpl(
        this,
        id,
        'local',
        options.readTimeout ?? this.options.readTimeout,
        options.writeTimeout ?? this.options.writeTimeout,
      );
      ch.meta = meta;
      ch.weight = options.weight ?? 1;
      this.map.set(id, ch);
      this.openedLocal++;
      ch.openedAt = this.clock();
      // yamux style (the yamux profile's default): the channel is handed over at once and may send within the
      // initial window before the ACK; a refusal then fails the channel. rxmux style: handed over on the ACK.
      const eager = !(options.waitForAccept ?? this.profile === 'rxmux');
      if (!eager) ch.opener = subscriber;
      this.sendOpen(ch);
      const timeout = options.timeout ?? this.options.openTimeout;
      if (timeout > 0) {
        // The channel is its own sweeper entry: its deadline() is this while it is opening.
        ch.openDeadline = ch.openedAt + timeout;
        this.sweeper.add(ch, ch.openDeadline);
      }
      if (eager) {
        ch.eager = true;
        subscriber.next(ch);
        subscriber.complete();
      }
      this.flush();
      return eager ? undefined : () => this.cancelOpen(ch);
    });
  }

  /** The peer acknowledged a channel we opened. */
  opened(ch: ChannelImpl): void {
    // Leave the sweeper unless a close timeout is watched too (an eager channel may half-close while opening).
    if (ch.deadline() === undefined) this.sweeper.delete(ch);
    this.rttSample(this.clock() - ch.openedAt);
    const opener = ch.opener;
    ch.opener = undefined;
    if (opener) {
      opener.next(ch);
      opener.complete();
    }
  }

  /** A channel we opened failed before the peer acknowledged it (refused, reset, timed out, session ended). */
  openFailed(ch: ChannelImpl, error: MuxError): void {
    const opener = ch.opener;
    ch.opener = undefined;
    opener?.error(error);
  }

  /** The open timeout of a channel still waiting for its ACK passed. */
  openExpired(ch: ChannelImpl): void {
    this.sendRst(ch, 0, 'open timeout');
    ch.fail(new MuxError('ERR_MUX_TIMEOUT', `open of channel ${ch.id} got no answer within ${ch.openDeadline - ch.openedAt} ms`));
    this.flush();
  }

  /** The opener unsubscribed from open() before the ACK (or after: then nothing happens). */
  private cancelOpen(ch: ChannelImpl): void {
    if (ch.state !== 'opening') return;
    ch.opener = undefined;
    this.sendRst(ch, 0, 'open cancelled');
    ch.fail(new MuxError('ERR_MUX_RESET', `open of channel ${ch.id} was cancelled`));
    this.flush();
  }

  ping(timeout?: number): Observable<number> {
    return new Observable<number>((subscriber) => {
      if (this.closed) {
        subscriber.error(this.closedError() ?? this.sessionClosed());
        return;
      }
      const limit = timeout ?? this.options.keepAliveTimeout;
      const opaque = this.sendPing(
        (rtt) => {
          timer?.unsubscribe();
          subscriber.next(rtt);
          subscriber.complete();
        },
        (e) => {
          timer?.unsubscribe();
          subscriber.error(e);
        },
      );
      const timer: Subscription | undefined =
        limit > 0
          ? this.scheduler.schedule(() => {
              this.pings.delete(opaque);
              subscriber.error(new MuxError('ERR_MUX_TIMEOUT', `ping ${opaque} got no answer within ${limit} ms`));
            }, limit)
          : undefined;
      return () => {
        timer?.unsubscribe();
        this.pings.delete(opaque);
      };
    });
  }

  goAway(): void {
    if (this.closed || this.sentGoAway) return;
    this.sentGoAway = true;
    this.writer.enqueueControl(FrameType.GoAway, 0, 0, GoAwayCode.Normal);
    this.flush();
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    if (this.closed) return Promise.resolve();
    this.closing = new Promise<void>((resolve) => {
      this.ended.observable.subscribe(() => resolve());
    });
    for (const ch of [...this.map.values()]) {
      if (ch.state === 'open') ch.end();
      else {
        this.sendRst(ch, 0, 'session closing');
        ch.fail(this.sessionClosed());
      }
    }
    // The GoAway(0) is queued by closeIfFlushed once every channel's bytes and FIN are out: as a control frame
    // queued now, it would overtake them.
    if (this.closed) return this.closing;
    this.shutdownTimer = this.scheduler.schedule(() => {
      // Bytes still queued (the peer gave no credit): tell the peer, and fail what is left with a timeout.
      if (!this.sentGoAway) this.forceGoAway(GoAwayCode.Normal);
      const timeout = new MuxError('ERR_MUX_TIMEOUT', `close() gave up after ${this.options.shutdownTimeout} ms with bytes still queued`);
      this.finish(undefined, 'end', timeout);
    }, this.options.shutdownTimeout);
    // Only now may the session end: finishing inside the loop above (after the first channel's FIN) would skip
    // the other channels' FINs and the GoAway, and leave the shutdown timer behind.
    this.closeArmed = true;
    this.flush();
    return this.closing;
  }

  /** During a graceful close: ends the session once every queued byte and FIN has gone to the carrier. */
  private closeIfFlushed(): void {
    if (!this.closeArmed || this.closed || this.writer.controlQueued > 0) return;
    for (const ch of this.map.values()) if (!ch.flushed) return;
    if (!this.sentGoAway) {
      // Flushes, and comes back here to finish once the GoAway is written (or on drain).
      this.goAway();
      return;
    }
    this.finish(undefined, 'end');
  }

  destroy(error?: MuxError): void {
    if (this.closed) return;
    this.forceGoAway(error ? GoAwayCode.InternalError : GoAwayCode.Normal);
    this.finish(error, 'end');
  }

  stats(): SessionStats {
    return {
      bytesIn: this.bytesIn,
      bytesOut: this.writer.bytesOut,
      framesIn: this.framesIn,
      framesOut: this.writer.framesOut,
      openChannels: this.map.size,
      openedLocal: this.openedLocal,
      openedRemote: this.openedRemote,
      refusedOpens: this.refusedOpens,
      droppedFrames: this.droppedFrames,
      droppedControl: this.droppedControl,
      bufferedIn: this.bufferedIn,
      rtt: this.rtt,
    };
  }

  channels(): Channel[] {
    return [...this.map.values()];
  }

  // ---------------------------------------------------------------- ChannelHost

  activate(ch: ChannelImpl): void {
    if (!this.closed) this.writer.activate(ch);
  }

  /**
   * Writes what is queued, at the end of the current job: frames made by several calls in one turn (open, write,
   * end on many channels) leave in one carrier write. Inside {@link onChunk} the flush waits for the chunk's end.
   */
  flush(): void {
    if (this.inBatch > 0 || this.closed || this.flushQueued) return;
    this.flushQueued = true;
    if (this.virtualClock) this.scheduler.schedule(this.deferredFlush);
    else RESOLVED.then(this.deferredFlush);
  }

  private readonly deferredFlush = (): void => {
    this.flushQueued = false;
    this.batchClock = -1;
    try {
      this.flushNow();
    } catch (e) {
      // Nobody would see it here (a rejected microtask): fail the session instead.
      this.fatal(new MuxError('ERR_MUX_INTERNAL', `internal error while writing: ${String(e)}`, { cause: e, wireCode: GoAwayCode.InternalError }));
    }
  };

  flushNow(): void {
    if (this.inBatch > 0 || this.closed) return;
    this.writer.flush();
    if (this.closing) this.closeIfFlushed();
  }

  sendWindowUpdate(ch: ChannelImpl, delta: number): void {
    if (this.closed) return;
    this.writer.enqueueControl(FrameType.WindowUpdate, 0, ch.id, delta);
    this.flush();
  }

  sendRst(ch: ChannelImpl, code: number, reason: string | undefined): void {
    if (this.closed) return;
    const text = reason ? toBytes(reason).subarray(0, this.options.maxMetadata) : EMPTY;
    ch.sendWindow -= this.enqueueRst(ch.id, code, text, ch.sendWindow);
  }

  /**
   * Queues the RST for a stream: in the rxmux profile a Data|RST carrying the code and reason when its payload fits
   * in `room` (it counts against the peer's window), otherwise a bare WindowUpdate|RST. Returns the payload bytes sent.
   */
  private enqueueRst(id: number, code: number, text: Uint8Array, room: number): number {
    if (this.profile === 'rxmux') {
      const payload = encodeReason(code, text);
      if (payload.byteLength <= room) {
        this.writer.enqueueControl(FrameType.Data, Flag.RST, id, payload.byteLength, payload);
        return payload.byteLength;
      }
    }
    this.writer.enqueueControl(FrameType.WindowUpdate, Flag.RST, id, 0);
    return 0;
  }

  clock(): number {
    if (this.batchClock >= 0) return this.batchClock;
    const now = this.scheduler.now() - this.epoch;
    // One reading per carrier chunk, and per job until its deferred flush: what one chunk or one turn of calls
    // causes happens at one moment.
    if (this.inBatch > 0 || this.flushQueued) this.batchClock = now;
    return now;
  }

  requestRtt(): void {
    if (this.rtt >= 0 || this.rttProbe || this.closed) return;
    this.rttProbe = true;
    const settle = (): void => {
      this.rttProbe = false;
    };
    this.sendPing(settle, settle);
  }

  watchClose(ch: ChannelImpl): void {
    const at = ch.deadline();
    if (at !== undefined && !this.closed) this.sweeper.add(ch, at);
  }

  deferGrant(ch: ChannelImpl): void {
    this.deferred.add(ch);
  }

  released(ch: ChannelImpl): void {
    if (this.map.get(ch.id) === ch) this.map.delete(ch.id);
    this.deferred.delete(ch);
    this.sweeper.delete(ch);
    if (ch.awaitingAccept) {
      // An open the peer cancelled (RST) before the application saw it: drop it from the backlog, or a peer
      // looping SYN+RST while nobody accepts would grow the backlog without bound.
      const i = this.backlog.findIndex((req) => req.id === ch.id);
      if (i >= 0) this.backlog.splice(i, 1);
    }
    this.settlePending(ch);
    this.retryDeferred();
  }

  protocolError(message: string): void {
    this.fatal(new MuxError('ERR_MUX_PROTOCOL', message, { wireCode: GoAwayCode.ProtocolError }));
  }

  closedError(): MuxError | undefined {
    // Calls on an ended session fail with ERR_MUX_SESSION_CLOSED whatever ended it (as errors.ts documents; Go yamux
    // answers ErrSessionShutdown alike); how it ended was reported once on closed$ and rides along as `cause`.
    if (this.closed) {
      const how = this.closedWith;
      if (!how || how.code === 'ERR_MUX_SESSION_CLOSED') return how ?? this.sessionClosed();
      return new MuxError('ERR_MUX_SESSION_CLOSED', `the session is closed (${how.code}: ${how.message})`, { cause: how });
    }
    if (this.closing) return this.sessionClosed();
    return undefined;
  }

  // ---------------------------------------------------------------- inbound

  private onChunk(chunk: Uint8Array): void {
    if (this.closed) return;
    this.bytesIn += chunk.byteLength;
    this.chunksIn++;
    this.chunkFrames = 0;
    this.batchClock = -1;
    this.inBatch++;
    try {
      this.decoder.push(chunk);
    } catch (e) {
      if (e instanceof MuxError) this.fatal(e);
      else this.fatal(new MuxError('ERR_MUX_INTERNAL', `internal error while handling a frame: ${String(e)}`, { cause: e, wireCode: GoAwayCode.InternalError }));
    } finally {
      this.inBatch--;
    }
    this.retryDeferred();
    this.flushNow();
    if (!this.flushQueued) this.batchClock = -1;
  }

  // The decoder hands header fields over as numbers (no object per frame): see FrameSink.

  /** Header check, before any payload is read. */
  private checkHeader(type: number, flags: number, id: number, length: number): HeaderVerdict {
    // A frame earlier in this chunk ended the session (e.g. a WindowUpdate overflow): stop decoding the rest, or
    // later SYNs would register channels on a closed session.
    if (this.closed) return this.closedWith ?? this.sessionClosed();
    if (type !== FrameType.Data || length === 0) return undefined;
    if (flags & Flag.SYN) {
      // The window rule first (as for ACK below): more than the initial window is a violation, not oversized metadata.
      if (length > INITIAL_WINDOW) return this.protocolErr(`Data on new channel ${id} exceeds the initial window`);
      if (this.profile === 'rxmux' && length > this.options.maxMetadata) return 'skip';
      return undefined;
    }
    const ch = this.map.get(id);
    if (!ch) return 'skip';
    if (length > ch.recvAvailable) {
      return this.protocolErr(`channel ${id}: ${length} bytes exceed the receive window (${ch.recvAvailable} left)`);
    }
    if (this.profile === 'rxmux' && flags & Flag.ACK && ch.state === 'opening' && length > this.options.maxMetadata) return 'skip';
    return undefined;
  }

  /** A frame whose payload the header check skipped. */
  private onSkip(flags: number, id: number, length: number): void {
    if (flags & Flag.SYN) {
      // Oversized open metadata: answer with RST, nothing buffered.
      if (!this.admitPeerId(id)) return;
      this.refusedOpens++;
      this.writeRstFor(id, 'metadata exceeds the limit');
      return;
    }
    const ch = this.map.get(id);
    if (ch && ch.state === 'opening' && flags & Flag.ACK) {
      ch.consumedControl(length);
      this.sendRst(ch, 0, 'reply metadata exceeds the limit');
      ch.fail(new MuxError('ERR_MUX_LIMIT', `channel ${ch.id}: reply metadata of ${length} bytes exceeds the ${this.options.maxMetadata}-byte limit`));
      return;
    }
    this.droppedFrames++;
  }

  /** A piece of a flagless Data frame whose payload spans carrier chunks (its header passed {@link checkHeader}). */
  private onDataPart(id: number, data: Uint8Array, last: boolean): void {
    if (last) this.framesIn++;
    const ch = this.map.get(id);
    if (ch) ch.data(data, !last);
    else if (last) this.droppedFrames++;
  }

  /** A whole frame: `length` is the Data payload length, or the delta / opaque / code of the other types. */
  private onFrame(type: number, flags: number, id: number, length: number, data: Uint8Array): void {
    this.framesIn++;
    switch (type) {
      case FrameType.Ping:
        if (flags & Flag.SYN) {
          if (this.controlBacklogFull()) this.droppedControl++;
          else this.writer.enqueueControl(FrameType.Ping, Flag.ACK, 0, length);
        } else if (flags & Flag.ACK) {
          const w = this.pings.get(length);
          if (w) {
            this.pings.delete(length);
            const rtt = this.scheduler.now() - w.start;
            this.rttSample(rtt);
            w.done(rtt);
          }
        }
        return;
      case FrameType.GoAway:
        this.onGoAway(length);
        return;
      default:
        this.onStreamFrame(type === FrameType.Data, flags, id, length, data);
    }
  }

  /** A Data (`isData`) or WindowUpdate frame; `length` is the WindowUpdate's delta. */
  private onStreamFrame(isData: boolean, flags: number, id: number, length: number, data: Uint8Array): void {
    const rxmux = this.profile === 'rxmux';
    let ch: ChannelImpl | undefined;
    let payload = isData ? data : EMPTY;
    if (flags & Flag.SYN) {
      if (!this.admitPeerId(id)) return;
      const refusal = this.inboundRefusal();
      if (refusal) {
        this.refusedOpens++;
        this.writeRstFor(id, refusal);
        return;
      }
      ch = new ChannelImpl(this, id, 'remote', this.options.readTimeout, this.options.writeTimeout);
      this.map.set(id, ch);
      this.openedRemote++;
      this.pendingAccept++;
      ch.awaitingAccept = true;
      if (rxmux && isData) {
        ch.meta = payload.byteLength ? payload.slice() : EMPTY;
        ch.consumedControl(payload.byteLength);
        payload = EMPTY;
      }
      // A WindowUpdate|SYN's delta (a peer window above 256 KiB) counts before the acceptor sees the channel.
      if (!isData && !(flags & Flag.RST) && length > 0) {
        ch.window(length);
        if (this.closed) return;
      }
      this.announce(ch);
    } else {
      ch = this.map.get(id);
      if (!ch) {
        this.droppedFrames++;
        return;
      }
    }
    if (flags & Flag.ACK && ch.state === 'opening') {
      let reply = EMPTY;
      if (rxmux && isData) {
        reply = payload.byteLength ? payload.slice() : EMPTY;
        ch.consumedControl(payload.byteLength);
        payload = EMPTY;
      }
      if (!isData) ch.window(length);
      ch.acknowledged(reply);
      if (!isData) {
        if (flags & Flag.FIN) ch.remoteFin();
        if (flags & Flag.RST) ch.remoteReset(0, undefined);
        return;
      }
    } else if (!isData) {
      if (flags & Flag.RST) {
        ch.remoteReset(0, undefined);
        return;
      }
      if (!(flags & Flag.SYN)) ch.window(length);
      if (flags & Flag.FIN) ch.remoteFin();
      return;
    }
    // Data frame.
    if (flags & Flag.RST) {
      if (rxmux) {
        ch.consumedControl(payload.byteLength);
        const { code, reason } = parseReason(payload);
        ch.remoteReset(code, reason);
      } else {
        if (payload.byteLength) ch.data(payload);
        ch.remoteReset(0, undefined);
      }
      return;
    }
    if (payload.byteLength > 0) ch.data(payload);
    if (flags & Flag.FIN) ch.remoteFin();
  }

  /** Checks a peer-chosen id: peer parity, increasing, not reused. A violation fails the session. */
  private admitPeerId(id: number): boolean {
    const peerParity = this.role === 'client' ? 0 : 1;
    if (id % 2 !== peerParity) {
      this.protocolError(`peer opened channel ${id} with this side's id parity (are both ends ${this.role}s?)`);
      return false;
    }
    if (id <= this.lastPeerId) {
      this.protocolError(`peer opened channel ${id} after ${this.lastPeerId}: ids must increase and never be reused`);
      return false;
    }
    this.lastPeerId = id;
    return true;
  }

  private inboundRefusal(): string | undefined {
    if (this.sentGoAway || this.closing) return 'session going away';
    if (this.map.size >= this.options.maxOpen) return 'too many open channels';
    if (this.pendingAccept >= this.options.acceptBacklog) return 'accept backlog full';
    return undefined;
  }

  private announce(ch: ChannelImpl): void {
    const incoming = new Incoming(this, ch);
    if (this.acceptor) this.acceptor.next(incoming);
    else this.backlog.push(incoming);
  }

  /** {@link IncomingChannel.accept} of `ch` (answered once: later calls return the channel and do nothing). */
  acceptIncoming(ch: ChannelImpl, options: AcceptOptions): Channel {
    if (ch.state !== 'pending' || !ch.awaitingAccept) return ch;
    this.settlePending(ch);
    const weight = options.weight;
    if (weight !== undefined && !(weight > 0 && Number.isFinite(weight))) {
      // Same rule as open(): a weight of 0 (or NaN) would give the channel no share, and the fair writer would spin on it.
      this.sendRst(ch, 0, 'invalid accept options');
      ch.fail(new MuxError('ERR_MUX_INVALID_OPTION', `option weight: expected a positive number, got ${String(weight)}`));
      this.flush();
      return ch;
    }
    let reply: Uint8Array;
    try {
      reply = this.checkMeta(options.meta);
    } catch (e) {
      this.sendRst(ch, 0, 'invalid reply metadata');
      ch.fail(e as MuxError);
      this.flush();
      return ch;
    }
    ch.replyMeta = reply;
    if (weight !== undefined) ch.weight = weight;
    ch.configureTimeouts(options.readTimeout ?? this.options.readTimeout, options.writeTimeout ?? this.options.writeTimeout);
    this.sendAccept(ch, reply);
    ch.accepted();
    this.flush();
    return ch;
  }

  /** {@link IncomingChannel.reject} of `ch` (answered once). */
  rejectIncoming(ch: ChannelImpl, reason: string | undefined, code: number): void {
    if (ch.state !== 'pending' || !ch.awaitingAccept) return;
    this.settlePending(ch);
    this.refusedOpens++;
    this.sendRst(ch, code, reason);
    ch.fail(new MuxError('ERR_MUX_REJECTED', `channel ${ch.id} rejected locally${reason ? `: ${reason}` : ''}`, { wireCode: code, ...(reason === undefined ? {} : { reason }) }));
    this.flush();
  }

  private settlePending(ch: ChannelImpl): void {
    if (ch.awaitingAccept) {
      ch.awaitingAccept = false;
      this.pendingAccept--;
    }
  }

  private onGoAway(code: number): void {
    if (code === GoAwayCode.Normal) {
      this.peerGoAway = true;
      return;
    }
    const error =
      code === GoAwayCode.ProtocolError
        ? new MuxError('ERR_MUX_PROTOCOL', 'peer ended the session reporting a protocol error (GoAway 1)', { wireCode: code, remote: true })
        : new MuxError('ERR_MUX_INTERNAL', `peer ended the session with GoAway ${code}`, { wireCode: code, remote: true });
    this.finish(error, 'end');
  }

  private onCarrierError(cause: unknown): void {
    if (this.closed) return;
    const error =
      cause instanceof MuxError && cause.code === 'ERR_MUX_CARRIER'
        ? cause
        : new MuxError('ERR_MUX_CARRIER', `carrier failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.finish(error, 'destroy');
  }

  private onCarrierEnd(): void {
    if (this.closed) return;
    if (this.peerGoAway || this.closing) {
      this.finish(undefined, 'end', this.sessionClosed('the peer closed the session'));
      return;
    }
    this.finish(new MuxError('ERR_MUX_CARRIER', 'carrier ended before the session was closed'), 'end');
  }

  // ---------------------------------------------------------------- outbound helpers

  private openRefusal(options: OpenOptions): MuxError | Uint8Array {
    if (this.closed || this.closing) return this.closedError() ?? this.sessionClosed();
    if (this.peerGoAway) return new MuxError('ERR_MUX_GOAWAY', 'the peer sent GoAway: no new channels on this session');
    if (this.map.size >= this.options.maxOpen) return new MuxError('ERR_MUX_LIMIT', `maxOpen (${this.options.maxOpen}) channels are open`);
    if (this.nextId > MAX_U32) return new MuxError('ERR_MUX_LIMIT', 'stream ids are exhausted on this session');
    if (options.weight !== undefined && !(options.weight > 0 && Number.isFinite(options.weight))) {
      return new MuxError('ERR_MUX_INVALID_OPTION', `option weight: expected a positive number, got ${String(options.weight)}`);
    }
    try {
      return this.checkMeta(options.meta);
    } catch (e) {
      return e as MuxError;
    }
  }

  private checkMeta(meta: Uint8Array | string | undefined): Uint8Array {
    if (meta === undefined) return EMPTY;
    const bytes = toBytes(meta);
    if (bytes.byteLength === 0) return EMPTY;
    if (this.profile === 'yamux') throw new MuxError('ERR_MUX_UNSUPPORTED', 'metadata needs the rxmux profile; this session uses the yamux profile');
    if (bytes.byteLength > this.options.maxMetadata) {
      throw new MuxError('ERR_MUX_LIMIT', `metadata of ${bytes.byteLength} bytes exceeds the ${this.options.maxMetadata}-byte limit`);
    }
    return bytes;
  }

  private sendOpen(ch: ChannelImpl): void {
    const extra = this.options.receiveWindow - INITIAL_WINDOW;
    if (this.profile === 'rxmux') {
      ch.sendWindow -= ch.meta.byteLength;
      this.writer.enqueueControl(FrameType.Data, Flag.SYN, ch.id, ch.meta.byteLength, ch.meta);
      if (extra > 0) this.writer.enqueueControl(FrameType.WindowUpdate, 0, ch.id, extra);
    } else {
      this.writer.enqueueControl(FrameType.WindowUpdate, Flag.SYN, ch.id, extra);
    }
    ch.recvAvailable += extra;
  }

  private sendAccept(ch: ChannelImpl, reply: Uint8Array): void {
    const extra = this.options.receiveWindow - INITIAL_WINDOW;
    if (this.profile === 'rxmux') {
      ch.sendWindow -= reply.byteLength;
      this.writer.enqueueControl(FrameType.Data, Flag.ACK, ch.id, reply.byteLength, reply);
      if (extra > 0) this.writer.enqueueControl(FrameType.WindowUpdate, 0, ch.id, extra);
    } else {
      this.writer.enqueueControl(FrameType.WindowUpdate, Flag.ACK, ch.id, extra);
    }
    ch.recvAvailable += extra;
  }

  /** RST for an id that has no channel object (refused opens). */
  private writeRstFor(id: number, reason: string): void {
    if (this.controlBacklogFull()) {
      this.droppedControl++;
      return;
    }
    // Our own short, fixed reasons: not capped by maxMetadata (which bounds what applications send). A refused
    // open has the whole initial window as room.
    this.enqueueRst(id, 0, toBytes(reason), INITIAL_WINDOW);
  }

  /** True when answers to the peer must be dropped: the carrier is saturated and CONTROL_BACKLOG control frames wait. */
  private controlBacklogFull(): boolean {
    return this.writer.isSaturated && this.writer.controlQueued >= CONTROL_BACKLOG;
  }

  private sendPing(done: (rtt: number) => void, fail: (e: MuxError) => void): number {
    let opaque = this.nextPing;
    while (this.pings.has(opaque)) opaque = (opaque + 1) >>> 0;
    this.nextPing = (opaque + 1) >>> 0;
    this.pings.set(opaque, { start: this.scheduler.now(), done, fail });
    this.writer.enqueueControl(FrameType.Ping, Flag.SYN, 0, opaque);
    this.flush();
    return opaque;
  }

  private rttSample(sample: number): void {
    this.rtt = this.rtt < 0 ? sample : Math.round((this.rtt * 7 + sample) / 8);
  }

  private frame(type: number, flags: number, id: number, length: number, payload?: Uint8Array): Uint8Array {
    const out = new Uint8Array(HEADER_LENGTH + (payload ? payload.byteLength : 0));
    writeHeader(out, 0, type, flags, id, length);
    if (payload) out.set(payload, HEADER_LENGTH);
    return out;
  }

  retryDeferred(): void {
    if (this.deferred.size === 0 || this.bufferedIn >= this.options.receiveBudget) return;
    for (const ch of [...this.deferred]) {
      this.deferred.delete(ch);
      ch.retryGrant();
      if (this.bufferedIn >= this.options.receiveBudget) break;
    }
  }

  // ---------------------------------------------------------------- keep-alive

  private startKeepAlive(): void {
    const { keepAliveInterval, keepAliveTimeout } = this.options;
    this.keepAliveTimer = this.scheduler.schedule(
      function (this: SchedulerAction<SessionImpl>, session) {
        const s = session!;
        if (s.closed) return;
        const mark = s.chunksIn;
        const noop = (): void => undefined;
        const opaque = s.sendPing(noop, noop);
        // Each ping keeps its own deadline: replacing the previous one would never fire when the timeout exceeds the interval.
        const check: Subscription = s.scheduler.schedule(() => {
          s.keepAliveChecks.delete(check);
          s.pings.delete(opaque);
          if (!s.closed && s.chunksIn === mark) {
            s.finish(new MuxError('ERR_MUX_TIMEOUT', `peer sent nothing for ${keepAliveTimeout} ms after a keep-alive ping`), 'destroy');
          }
        }, keepAliveTimeout);
        s.keepAliveChecks.add(check);
        this.schedule(s, keepAliveInterval);
      },
      keepAliveInterval,
      this,
    );
  }

  // ---------------------------------------------------------------- ending

  private protocolErr(message: string): MuxError {
    return new MuxError('ERR_MUX_PROTOCOL', message, { wireCode: GoAwayCode.ProtocolError });
  }

  private sessionClosed(message = 'the session is closed'): MuxError {
    return new MuxError('ERR_MUX_SESSION_CLOSED', message);
  }

  /** A local fatal condition: tell the peer with GoAway, then end. */
  private fatal(error: MuxError): void {
    if (this.closed) return;
    this.forceGoAway(error.code === 'ERR_MUX_PROTOCOL' ? GoAwayCode.ProtocolError : GoAwayCode.InternalError);
    this.finish(error, 'end');
  }

  /** Writes a GoAway straight to the carrier, past any saturation. */
  private forceGoAway(code: number): void {
    if (this.closed) return;
    this.writer.stop();
    try {
      this.carrier.write([this.frame(FrameType.GoAway, 0, 0, code)]);
    } catch {
      // The carrier may already be gone; the session ends either way.
    }
  }

  private finish(error: MuxError | undefined, how: 'end' | 'destroy', channelError = error ?? this.sessionClosed()): void {
    if (this.closed) return;
    this.closed = true;
    this.closedWith = error;
    this.writer.stop();
    this.keepAliveTimer?.unsubscribe();
    for (const check of this.keepAliveChecks) check.unsubscribe();
    this.keepAliveChecks.clear();
    this.shutdownTimer?.unsubscribe();
    this.sweeper.clear();
    for (const s of this.carrierSubs) s.unsubscribe();
    this.carrierSubs.length = 0;
    for (const ch of [...this.map.values()]) ch.fail(channelError);
    this.map.clear();
    this.deferred.clear();
    const pings = [...this.pings.values()];
    this.pings.clear();
    for (const w of pings) w.fail(channelError);
    this.backlog.length = 0;
    const acceptor = this.acceptor;
    this.acceptor = undefined;
    if (acceptor) error ? acceptor.error(error) : acceptor.complete();
    try {
      if (how === 'end') this.carrier.end();
      else this.carrier.destroy(error);
    } catch {
      // Ignore: the carrier is released either way.
    }
    this.ended.emit({ error });
  }
}
