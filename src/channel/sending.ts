// The send side of a channel: the peer's credit for us, the queue behind write()/send() with its high-water mark
// and overflow strategies, and what the fair writer takes (WriterChannel): data frames, then the FIN.
import { Observable, type Subscriber } from 'rxjs';
import { MuxError } from '../errors.js';
import { INITIAL_WINDOW, MAX_U32 } from '../frame/constants.js';
import { checkWeight, type OverflowStrategy } from '../options.js';
import type { WriterChannel } from '../scheduler/types.js';
import { toBytes } from '../util/bytes.js';
import { Watched } from '../util/signal.js';
import { Outbound } from './outbound.js';
import { ReceivingChannel } from './receiving.js';
import { queueReset } from './reset-frame.js';
import { send, type SendTarget } from './send.js';
import type { ByteSource, SendOptions } from './types.js';

const EMPTY = new Uint8Array(0);
/** One settled promise for every write that needs no waiting (no allocation per write). */
const RESOLVED: Promise<void> = Promise.resolve();

/** The write side: open; FIN queued behind the bytes (`end()` called); FIN handed to the carrier. */
type WriteSide = 'open' | 'ending' | 'ended';

function done(s: Subscriber<void>): void {
  s.next();
  s.complete();
}

function writeClosed(id: number): MuxError {
  return new MuxError('ERR_MUX_WRITE_CLOSED', `channel ${id}: write side is closed`);
}

/** The receive side plus the send side. See {@link ChannelImpl} for the whole. */
export abstract class SendingChannel extends ReceivingChannel implements WriterChannel, SendTarget {
  protected share = 1;
  deficit = 0;
  inRing = false;
  slot = -1;
  protected sendWindow = INITIAL_WINDOW;
  protected out: Outbound | undefined;
  protected writeSide: WriteSide = 'open';
  /** Handed to the application before the ACK (yamux-style open): may send within the initial window meanwhile. */
  protected eager = false;
  bytesOut = 0;
  framesOut = 0;
  protected credit: Watched<number> | undefined;
  /** Keep write boundaries: a frame takes bytes of one queued write only. */
  protected framed = this.host.options.preserveWrites;
  /** Subscribers of flushed$ waiting for the queue (and the FIN, if asked for) to leave. */
  private flushWaiters: Subscriber<void>[] | undefined;
  /** Subscribers of drain$ waiting for the queue to fall to the high-water mark. */
  private drainWaiters: Subscriber<void>[] | undefined;

  abstract get isClosed(): boolean;
  protected abstract markHalfClosed(): void;
  protected abstract maybeReleased(): void;

  get weight(): number {
    return this.share;
  }

  set weight(value: number) {
    const bad = checkWeight(value, `channel ${this.id}: weight`, 'ERR_MUX_INVALID_ARGUMENT');
    if (bad) throw bad;
    this.share = value;
  }

  get preserveWrites(): boolean {
    return this.framed;
  }

  set preserveWrites(value: boolean) {
    if (typeof value !== 'boolean') {
      throw new MuxError('ERR_MUX_INVALID_ARGUMENT', `channel ${this.id}: preserveWrites: expected a boolean, got ${String(value)}`);
    }
    this.framed = value;
  }

  /** Bytes that may still be queued before write() waits: the high-water mark minus what is queued (0 or less: full). */
  get desiredSize(): number {
    return this.host.options.highWaterMark - this.queued;
  }

  get drain$(): Observable<void> {
    return new Observable<void>((s) => {
      if (this.failure) s.error(this.failure);
      else if (this.queued <= this.host.options.highWaterMark) done(s);
      else return this.wait('drain', s);
    });
  }

  get flushed$(): Observable<void> {
    return new Observable<void>((s) => {
      if (this.failure) s.error(this.failure);
      else if (this.nothingLeft) done(s);
      else return this.wait('flush', s);
    });
  }

  /** Adds a drain$ or flushed$ subscriber; returns its teardown. */
  private wait(kind: 'drain' | 'flush', s: Subscriber<void>): () => void {
    const list = kind === 'drain' ? (this.drainWaiters ??= []) : (this.flushWaiters ??= []);
    list.push(s);
    return () => {
      const i = list.indexOf(s);
      if (i >= 0) list.splice(i, 1);
    };
  }

  /** No queued bytes, and no FIN waiting to go. */
  private get nothingLeft(): boolean {
    return this.queued === 0 && this.writeSide !== 'ending';
  }

  /**
   * Settles drain$ and flushed$ subscribers whose condition holds now; with `error` (the channel failed), all of
   * them with it. Synchronous, in the writer's turn: no promise, so virtual time sees it when it happens.
   */
  protected settleWaiters(error?: MuxError): void {
    const drain = this.drainWaiters;
    if (drain !== undefined && (error !== undefined || this.queued <= this.host.options.highWaterMark)) {
      this.drainWaiters = undefined;
      for (const s of drain) error ? s.error(error) : done(s);
    }
    const flush = this.flushWaiters;
    if (flush !== undefined && (error !== undefined || this.nothingLeft)) {
      this.flushWaiters = undefined;
      for (const s of flush) error ? s.error(error) : done(s);
    }
  }

  get writing(): boolean {
    return this.queued > 0;
  }

  protected get queued(): number {
    return this.out === undefined ? 0 : this.out.bytes;
  }

  /** Opened eagerly (the application holds it) and still waiting for the ACK. */
  get heldOpening(): boolean {
    return this.eager && this.state === 'opening';
  }

  /** True when queued bytes may go out: open, or opened eagerly and still waiting for the ACK. */
  protected get sendable(): boolean {
    return this.state === 'open' || (this.eager && this.state === 'opening');
  }

  /** The peer granted `delta` more bytes. */
  protected window(delta: number): void {
    const next = this.sendWindow + delta;
    if (next > MAX_U32) {
      this.host.protocolError(`WindowUpdate on channel ${this.id} pushes the window past 2^32-1`);
      return;
    }
    this.sendWindow = next;
    this.credit?.set(next);
    if (delta > 0 && this.queued > 0) this.host.activate(this);
  }

  write(data: Uint8Array | string): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = toBytes(data);
    } catch (e) {
      return Promise.reject(e);
    }
    const refused = this.writeRefusal();
    if (refused) return Promise.reject(refused);
    if (bytes.byteLength === 0) return RESOLVED;
    this.enqueue(bytes);
    const hwm = this.host.options.highWaterMark;
    if (this.queued <= hwm) return RESOLVED;
    // Past the mark: write what credit and the carrier take now, so only bytes that cannot leave make the caller wait.
    this.host.flushNow();
    if (this.queued <= hwm || this.out === undefined) return RESOLVED;
    return this.out.wait();
  }

  send(source: ByteSource, options: SendOptions = {}): Observable<never> {
    return send(this, source, options, this.host.options.overflow, this.host.options.highWaterMark);
  }

  end(): void {
    if (this.writeSide !== 'open' || this.state === 'closed') return;
    this.writeSide = 'ending';
    this.markHalfClosed();
    this.host.activate(this);
    this.host.flush();
  }

  protected sendReset(code: number, reason: string | undefined): void {
    const text = reason ? toBytes(reason).subarray(0, this.host.options.maxMetadata) : EMPTY;
    this.sendWindow -= queueReset(this.host, this.host.options.profile === 'rxmux', this.id, code, text, this.sendWindow);
  }

  writeRefusal(): MuxError | undefined {
    if (this.failure) return this.failure.code === 'ERR_MUX_RESET' ? this.failure : writeClosed(this.id);
    if (this.writeSide !== 'open' || this.state === 'closed') return writeClosed(this.id);
    return this.host.closedError();
  }

  protected enqueue(bytes: Uint8Array): void {
    const wasEmpty = this.queued === 0;
    if (this.out === undefined) this.out = new Outbound(bytes);
    else this.out.push(bytes);
    // The write deadline runs only while bytes wait.
    if (wasEmpty && this.dog) this.dog.writeQueued();
    if (this.sendable && this.sendWindow > 0) {
      this.host.activate(this);
      this.host.flush();
    }
  }

  pushWithOverflow(bytes: Uint8Array, strategy: OverflowStrategy): 'ok' | 'overflow' | 'dropped' {
    const hwm = this.host.options.highWaterMark;
    const n = bytes.byteLength;
    if (n === 0) return 'ok';
    // Past the mark: first write what credit and the carrier take now, so only bytes that cannot leave count.
    if (this.queued + n > hwm && this.queued > 0) this.host.flushNow();
    if (this.queued + n <= hwm || this.queued === 0) {
      this.enqueue(bytes);
      return 'ok';
    }
    if (strategy === 'error') return 'overflow';
    if (strategy === 'dropping') return 'dropped';
    this.out!.slide(n, hwm);
    this.enqueue(bytes);
    return 'ok';
  }

  queuedBytes(): number {
    return this.queued;
  }

  readyBytes(): number {
    const out = this.out;
    if (out === undefined || !this.sendable) return 0;
    const n = this.framed ? out.headBytes() : out.bytes;
    return Math.min(n, this.sendWindow);
  }

  finReady(): boolean {
    return this.writeSide === 'ending' && this.queued === 0 && this.sendable;
  }

  take(n: number, out: Uint8Array[]): void {
    this.out!.take(n, out, undefined, 0);
    this.taken(n);
  }

  copy(n: number, into: Uint8Array, at: number): void {
    this.out!.take(n, undefined, into, at);
    this.taken(n);
  }

  protected taken(n: number): void {
    this.sendWindow -= n;
    this.bytesOut += n;
    this.framesOut++;
    if ((this.dog !== undefined && this.dog.writeTimeout > 0) || this.halfClosedAt >= 0) {
      const now = this.host.clock();
      if (this.dog) this.dog.lastWrite = now;
      this.lastActivity = now;
    }
    this.credit?.set(this.sendWindow);
    const out = this.out!;
    if (out.waiting && out.bytes <= this.host.options.highWaterMark) out.release();
    if (this.flushWaiters !== undefined || this.drainWaiters !== undefined) this.settleWaiters();
  }

  finSent(): void {
    this.writeSide = 'ended';
    if (this.flushWaiters !== undefined) this.settleWaiters();
    this.maybeReleased();
  }

  /** True when nothing is left to hand to the writer: no queued bytes, and the FIN (if asked for) has gone. */
  get flushed(): boolean {
    return !this.sendable || this.nothingLeft;
  }

  get credit$(): Observable<number> {
    if (this.credit === undefined) {
      this.credit = new Watched(this.sendWindow);
      // Asked for after the channel closed: it starts (and stays) complete, as its doc says.
      if (this.state === 'closed') this.credit.complete();
    }
    return this.credit.observable;
  }
}
