// The session: wiring of carrier, decoder, writer and channels; the channel map; flush batching (frames of one
// turn leave in one carrier write); graceful close, destroy and the end of everything; stats.
import { concat, defer, filter, map, type Observable, of, type Subscription, throwError } from 'rxjs';
import type { Carrier } from '../carrier.js';
import type { ChannelImpl } from '../channel/channel.js';
import type { Channel, ChannelHost } from '../channel/types.js';
import { ReceiveBudget } from '../credit/receive-budget.js';
import type { RttEstimate } from '../credit/rtt.js';
import { MuxError } from '../errors.js';
import { FrameType, GoAwayCode } from '../frame/constants.js';
import type { ResolvedOptions } from '../options.js';
import { FairWriter } from '../scheduler/fair-writer.js';
import type { WriterChannel } from '../scheduler/types.js';
import { DeadlineSweeper, type Expiring } from '../util/deadlines.js';
import { OnceSignal } from '../util/signal.js';
import { Control } from './control.js';
import { InboundFrames } from './inbound.js';
import { Opens } from './opens.js';
import { Pacing } from './pacing.js';
import { Pings } from './pings.js';
import { Turns } from './turns.js';
import { ResumeLink } from './resume/link.js';
import type { CloseOptions, IncomingChannel, OpenOptions, Session, SessionEnd, SessionState, SessionStats } from './types.js';

/** The session (applications see it as {@link Session}); the channels' {@link ChannelHost}. */
export class SessionImpl implements Session, ChannelHost {
  readonly role: 'client' | 'server';
  readonly profile: 'rxmux' | 'yamux';
  readonly scheduler: ResolvedOptions['scheduler'];
  readonly budget: ReceiveBudget;
  readonly pings: Pings;
  readonly opens: Opens;
  readonly controls: Control;
  closedWith: MuxError | undefined;
  peerGoAway = false;
  chunksIn = 0;

  private readonly map = new Map<number, ChannelImpl>();
  private readonly writer: FairWriter;
  private readonly pacing: Pacing;
  private readonly inbound: InboundFrames;
  private readonly carrierSubs: Subscription[] = [];
  private readonly turns: Turns;
  private closed = false;
  private closing: Promise<void> | undefined;
  /** Set once close() has queued every FIN and RST (the GoAway follows once they are out). */
  private closeArmed = false;
  private sentGoAway = false;
  private readonly ended = new OnceSignal<SessionEnd>();
  /** The peer's GoAway code, or -1 when the session ended without one. */
  private readonly goneAway = new OnceSignal<number>();
  /** close({ channels: 'end' }): channels still open at the end close cleanly. */
  private endChannels = false;
  private shutdownTimer: Subscription | undefined;
  /** One timer for every open timeout, close timeout and the frame timeout. */
  private readonly sweeper: DeadlineSweeper;
  private bytesIn = 0;
  private readonly carrier: Carrier;
  /** The resumption layer between this session and its carrier; only with `resume` on in the rxmux profile. */
  private readonly link: ResumeLink | undefined;

  constructor(
    carrier: Carrier,
    readonly options: ResolvedOptions,
  ) {
    if (options.resume && options.profile === 'rxmux') {
      this.link = new ResumeLink(carrier, options, options.resume);
      this.link.host = this;
      this.carrier = this.link;
    } else this.carrier = carrier;
    carrier = this.carrier;
    this.role = options.role;
    this.profile = options.profile;
    this.scheduler = options.scheduler;
    this.turns = new Turns(this.scheduler, this.deferredFlush);
    this.sweeper = new DeadlineSweeper(this.scheduler, () => this.clock());
    this.budget = new ReceiveBudget(options.receiveBudget);
    this.pings = new Pings(this);
    this.opens = new Opens(this);
    this.writer = new FairWriter(carrier, {
      maxFrameSize: options.maxFrameSize,
      quantum: options.quantum,
      batchSize: options.writeBatchSize,
      allowance: () => this.pacing.allowance(),
      flushed: () => this.pacing.afterFlush(),
    });
    this.pacing = new Pacing(this, this.writer, options.inFlightMin);
    this.controls = new Control(this.writer, carrier);
    this.inbound = new InboundFrames(this);
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
    if (options.keepAlive && !this.closed) this.pings.startKeepAlive();
  }

  // ---------------------------------------------------------------- public API

  get isClosed(): boolean {
    return this.closed;
  }

  get closed$(): Observable<SessionEnd> {
    return this.ended.observable;
  }

  get peerGoAway$(): Observable<number> {
    return this.goneAway.observable.pipe(filter((code) => code >= 0));
  }

  get incoming$(): Observable<IncomingChannel> {
    return this.opens.incoming();
  }

  open(options: OpenOptions = {}): Observable<Channel> {
    return this.opens.open(options);
  }

  ping(timeout?: number): Observable<number> {
    return this.pings.ping(timeout);
  }

  get rtt(): RttEstimate {
    return this.pings.rtt;
  }

  goAway(): void {
    if (this.closed || this.sentGoAway) return;
    this.sentGoAway = true;
    this.controls.queue(FrameType.GoAway, 0, 0, GoAwayCode.Normal);
    this.flush();
  }

  close(options: CloseOptions = {}): Promise<void> {
    if (this.closing) return this.closing;
    if (this.closed) return Promise.resolve();
    const mode = options.channels ?? 'fail';
    if (mode !== 'fail' && mode !== 'end') {
      return Promise.reject(new MuxError('ERR_MUX_INVALID_ARGUMENT', `close: channels: expected 'fail' or 'end', got ${String(mode)}`));
    }
    this.endChannels = mode === 'end';
    this.closing = new Promise<void>((resolve) => {
      this.ended.observable.subscribe(() => resolve());
    });
    for (const ch of [...this.map.values()]) {
      if (ch.state === 'open' || (this.endChannels && ch.heldOpening)) ch.end();
      else ch.abort(0, 'session closing', this.sessionClosed());
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
    this.finish(undefined, 'end', undefined, this.endChannels);
  }

  destroy(error?: MuxError): void {
    if (this.closed) return;
    this.forceGoAway(error ? GoAwayCode.InternalError : GoAwayCode.Normal);
    this.finish(error, 'end');
  }

  get state$(): Observable<SessionState> {
    const link = this.link;
    if (link) return link.state$.asObservable();
    return defer(() =>
      this.closed
        ? of<SessionState>('closed')
        : concat(of<SessionState>('connected'), this.closed$.pipe(map((): SessionState => 'closed'))),
    );
  }

  resume(carrier: Carrier): Observable<void> {
    if (this.link) return this.link.resume(carrier);
    return throwError(
      () => new MuxError('ERR_MUX_UNSUPPORTED', 'resumption is off for this session (the resume option needs the rxmux profile)'),
    );
  }

  /** The carrier was lost and the session is suspended: pings waiting fail, keep-alive and idle timers pause. */
  suspended(): void {
    this.pings.stop(new MuxError('ERR_MUX_CARRIER', 'the carrier was lost before the ping was answered'));
    for (const ch of this.map.values()) ch.pauseIdle();
    this.inbound.pauseFrameTimeout();
  }

  /** A new carrier resumed the session: keep-alive and idle timers start again from now. */
  resumed(): void {
    if (this.closed) return;
    this.pacing.restart();
    if (this.options.keepAlive) this.pings.startKeepAlive();
    for (const ch of this.map.values()) ch.resumeIdle();
    this.inbound.resumeFrameTimeout();
  }

  /** The keep-alive saw nothing from the peer: with resumption the carrier counts as lost, else the session fails. */
  keepAliveExpired(error: MuxError): void {
    if (this.link?.stalled()) return;
    this.finish(error, 'destroy');
  }

  stats(): SessionStats {
    const link = this.link;
    return {
      bytesIn: this.bytesIn,
      bytesOut: this.writer.bytesOut,
      framesIn: this.inbound.framesIn,
      framesOut: this.writer.framesOut,
      openChannels: this.map.size,
      openedLocal: this.opens.openedLocal,
      openedRemote: this.opens.openedRemote,
      refusedOpens: this.opens.refusedOpens,
      droppedFrames: this.inbound.droppedFrames,
      droppedControl: this.controls.dropped,
      bufferedIn: this.budget.used,
      rtt: this.pings.rtt.smoothed,
      resumptions: link ? link.resumptions : 0,
      replayedBytes: link ? link.replayedBytes : 0,
      replayBuffered: link ? link.store.bytes : 0,
      replayPeak: link ? link.store.peak : 0,
    };
  }

  channels(): Channel[] {
    return [...this.map.values()].map((ch) => ch.view);
  }

  // ---------------------------------------------------------------- for the session's own parts

  get openChannels(): number {
    return this.map.size;
  }

  /** True once this side is going away (GoAway sent or close() called): the peer's opens are refused. */
  get goingAway(): boolean {
    return this.sentGoAway || this.closing !== undefined;
  }

  channel(id: number): ChannelImpl | undefined {
    return this.map.get(id);
  }

  register(ch: ChannelImpl): void {
    this.map.set(ch.id, ch);
  }

  onGoAway(code: number): void {
    this.goneAway.emit(code);
    if (code === GoAwayCode.Normal) {
      this.peerGoAway = true;
      return;
    }
    const error =
      code === GoAwayCode.ProtocolError
        ? new MuxError('ERR_MUX_PROTOCOL', `peer ended the session reporting a protocol error (GoAway 1)${this.roleHint()}`, {
            wireCode: code,
            remote: true,
          })
        : new MuxError('ERR_MUX_INTERNAL', `peer ended the session with GoAway ${code}`, { wireCode: code, remote: true });
    this.finish(error, 'end');
  }

  /** For a GoAway(1) that is the peer's first frame after our opens: the likely cause, said in the error. */
  private roleHint(): string {
    if (this.opens.openedLocal === 0 || this.inbound.framesIn > 1) return '';
    return `; it was the peer's first answer to our opens: are both ends ${this.role}s?`;
  }

  // ---------------------------------------------------------------- ChannelHost

  clock(): number {
    return this.turns.clock();
  }

  control(type: number, flags: number, id: number, length: number, payload?: Uint8Array): void {
    if (!this.closed) this.writer.enqueueControl(type, flags, id, length, payload);
  }

  activate(ch: WriterChannel): void {
    if (!this.closed) this.writer.activate(ch);
  }

  /**
   * Writes what is queued, at the end of the current job: frames made by several calls in one turn (open, write,
   * end on many channels) leave in one carrier write. Inside a carrier chunk the flush waits for the chunk's end.
   */
  flush(): void {
    if (!this.turns.inChunk && !this.closed) this.turns.defer();
  }

  private readonly deferredFlush = (): void => {
    try {
      this.flushNow();
    } catch (e) {
      // Nobody would see it here (a rejected microtask): fail the session instead.
      this.fatal(
        new MuxError('ERR_MUX_INTERNAL', `internal error while writing: ${String(e)}`, { cause: e, wireCode: GoAwayCode.InternalError }),
      );
    }
  };

  flushNow(): void {
    if (this.turns.inChunk || this.closed) return;
    this.writer.flush();
    if (this.closing) this.closeIfFlushed();
  }

  /** Hands what is queued to the carrier now, even inside a carrier chunk. */
  writeNow(): void {
    this.writer.flush();
  }

  watch(item: Expiring): void {
    const at = item.deadline();
    if (at !== undefined && !this.closed) this.sweeper.add(item, at);
  }

  released(ch: ChannelImpl): void {
    if (this.map.get(ch.id) === ch) this.map.delete(ch.id);
    this.sweeper.delete(ch);
    this.writer.remove(ch);
    this.opens.released(ch);
    this.budget.retry();
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
    this.turns.enter();
    try {
      this.inbound.push(chunk);
    } catch (e) {
      if (e instanceof MuxError) this.fatal(e);
      else
        this.fatal(
          new MuxError('ERR_MUX_INTERNAL', `internal error while handling a frame: ${String(e)}`, {
            cause: e,
            wireCode: GoAwayCode.InternalError,
          }),
        );
    } finally {
      this.turns.leave();
    }
    this.inbound.trackFrame();
    this.budget.retry();
    this.flushNow();
    this.turns.settled();
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
      this.finish(undefined, 'end', this.sessionClosed('the peer closed the session'), this.endChannels);
      return;
    }
    this.finish(new MuxError('ERR_MUX_CARRIER', 'carrier ended before the session was closed'), 'end');
  }

  // ---------------------------------------------------------------- ending

  private sessionClosed(message = 'the session is closed'): MuxError {
    return new MuxError('ERR_MUX_SESSION_CLOSED', message);
  }

  /** A local fatal condition: tell the peer with GoAway, then end. */
  private fatal(error: MuxError): void {
    if (this.closed) return;
    this.forceGoAway(error.code === 'ERR_MUX_PROTOCOL' ? GoAwayCode.ProtocolError : GoAwayCode.InternalError);
    this.finish(error, 'end');
  }

  private forceGoAway(code: number): void {
    if (!this.closed) this.controls.forceGoAway(code);
  }

  /** Ends the session for good (once); `clean`: channels still open end without an error (close({ channels: 'end' })). */
  finish(error: MuxError | undefined, how: 'end' | 'destroy', channelError = error ?? this.sessionClosed(), clean = false): void {
    if (this.closed) return;
    this.closed = true;
    this.closedWith = error;
    this.writer.stop();
    this.shutdownTimer?.unsubscribe();
    this.sweeper.clear();
    for (const s of this.carrierSubs) s.unsubscribe();
    this.carrierSubs.length = 0;
    for (const ch of [...this.map.values()]) {
      if (clean && ch.flushed) ch.endCleanly();
      else ch.fail(channelError);
    }
    this.map.clear();
    this.budget.clear();
    this.pings.stop(channelError);
    this.opens.stop(error);
    if (this.options.releaseCarrier) {
      try {
        if (how === 'end') this.carrier.end();
        else this.carrier.destroy(error);
      } catch {
        // Ignore: the carrier is released either way.
      }
    }
    this.goneAway.emit(-1);
    this.ended.emit({ error });
  }
}
