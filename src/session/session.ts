// The session: wiring of carrier, decoder, writer and channels; the channel map; flush batching (frames of one
// turn leave in one carrier write); stats. The ending is in ending.ts, the resumption hooks in resumption.ts.
import { filter, type Observable, type Subscription } from 'rxjs';
import type { Carrier } from '../carrier.js';
import type { ChannelImpl } from '../channel/channel.js';
import type { Channel, ChannelHost } from '../channel/types.js';
import { ReceiveBudget } from '../credit/receive-budget.js';
import type { RttEstimate } from '../credit/rtt.js';
import { MuxError } from '../errors.js';
import { GoAwayCode } from '../frame/constants.js';
import type { ResolvedOptions } from '../options.js';
import { FairWriter } from '../scheduler/fair-writer.js';
import type { WriterChannel } from '../scheduler/types.js';
import { DeadlineSweeper, type Expiring } from '../util/deadlines.js';
import { Control } from './control.js';
import { Ending } from './ending.js';
import { InboundFrames } from './inbound.js';
import { Opens } from './opens.js';
import { Pacing } from './pacing.js';
import { Pings } from './pings.js';
import { Turns } from './turns.js';
import { Resumption } from './resumption.js';
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
  readonly writer: FairWriter;
  readonly pacing: Pacing;
  readonly inbound: InboundFrames;
  private readonly carrierSubs: Subscription[] = [];
  private readonly turns: Turns;
  private closed = false;
  readonly ending = new Ending(this);
  /** One timer for every open timeout, close timeout and the frame timeout. */
  private readonly sweeper: DeadlineSweeper;
  private bytesIn = 0;
  readonly carrier: Carrier;
  readonly resumption: Resumption;

  constructor(
    carrier: Carrier,
    readonly options: ResolvedOptions,
  ) {
    this.resumption = new Resumption(this, carrier, options);
    this.carrier = carrier = this.resumption.carrier;
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
      beforeWrite: (out) => this.pacing.beforeWrite(out),
    });
    this.pacing = new Pacing(this, this.writer, options.inFlightMin);
    this.controls = new Control(this.writer, carrier);
    this.inbound = new InboundFrames(this);
    this.carrierSubs.push(
      carrier.drain$.subscribe(() => {
        this.writer.drained();
        if (this.ending.closing) this.ending.closeIfFlushed();
      }),
      carrier.incoming$.subscribe({
        next: (chunk) => this.onChunk(chunk),
        error: (e) => this.ending.carrierFailed(e),
        complete: () => this.ending.carrierEnded(),
      }),
    );
    if (options.keepAlive && !this.closed) this.pings.startKeepAlive();
  }

  // ---------------------------------------------------------------- public API

  get isClosed(): boolean {
    return this.closed;
  }

  get closed$(): Observable<SessionEnd> {
    return this.ending.ended.observable;
  }

  get peerGoAway$(): Observable<number> {
    return this.ending.goneAway.observable.pipe(filter((code) => code >= 0));
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
    this.ending.goAway();
  }

  close(options: CloseOptions = {}): Promise<void> {
    return this.ending.close(options);
  }

  destroy(error?: MuxError): void {
    this.ending.destroy(error);
  }

  get state$(): Observable<SessionState> {
    return this.resumption.state$();
  }

  resume(carrier: Carrier): Observable<void> {
    return this.resumption.resume(carrier);
  }

  stats(): SessionStats {
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
      ...this.resumption.stats(),
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
    return this.ending.sentGoAway || this.ending.closing !== undefined;
  }

  channel(id: number): ChannelImpl | undefined {
    return this.map.get(id);
  }

  register(ch: ChannelImpl): void {
    this.map.set(ch.id, ch);
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
    if (this.ending.closing) this.ending.closeIfFlushed();
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
    return this.ending.closedError();
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

  // ---------------------------------------------------------------- ending (the rest is in ending.ts)

  fatal(error: MuxError): void {
    this.ending.fatal(error);
  }

  /** The channels, in a copy: ending one removes it from the map. */
  channelImpls(): ChannelImpl[] {
    return [...this.map.values()];
  }

  /** The first step of the end: no more writes, timers or carrier events. */
  release(error: MuxError | undefined): void {
    this.closed = true;
    this.closedWith = error;
    this.writer.stop();
    this.sweeper.clear();
    for (const s of this.carrierSubs) s.unsubscribe();
    this.carrierSubs.length = 0;
  }

  /** The last step of the end: the channel map and the receive budget are empty. */
  forget(): void {
    this.map.clear();
    this.budget.clear();
  }
}
