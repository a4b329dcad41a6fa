// One channel's state machine: its lifecycle (opening -> open -> half-closed -> closed), the frames the session
// hands it (it reads its own flags), credit both ways (grants and window auto-tuning), and delivery to its reader.
import { Observable, type Subscriber } from 'rxjs';
import type { BudgetWaiter } from '../credit/receive-budget.js';
import { MuxError } from '../errors.js';
import { Flag, FrameType, INITIAL_WINDOW, MAX_U32 } from '../frame/constants.js';
import type { HeaderVerdict } from '../frame/decode.js';
import { parseReason } from '../frame/reason.js';
import { checkWeight, type OverflowStrategy } from '../options.js';
import type { WriterChannel } from '../scheduler/fair-writer.js';
import { toBytes } from '../util/bytes.js';
import type { Expiring } from '../util/deadlines.js';
import { OnceSignal, Watched } from '../util/signal.js';
import { Inbound } from './inbound.js';
import { Outbound } from './outbound.js';
import { queueReset } from './reset-frame.js';
import { send, type SendTarget } from './send.js';
import type { ByteSource, Channel, ChannelEnd, ChannelHost, ChannelState, ChannelStats, SendOptions } from './types.js';
import { ChannelView } from './view.js';
import { Watchdog, type Watchable } from './watchdog.js';

const EMPTY = new Uint8Array(0);
/** One settled promise for every write that needs no waiting (no allocation per write). */
const RESOLVED: Promise<void> = Promise.resolve();
const NO_ERROR: ChannelEnd = { error: undefined };

/** The write side: open; FIN queued behind the bytes (`end()` called); FIN handed to the carrier. */
type WriteSide = 'open' | 'ending' | 'ended';

function writeClosed(id: number): MuxError {
  return new MuxError('ERR_MUX_WRITE_CLOSED', `channel ${id}: write side is closed`);
}

/** Per-channel idle timeouts, in ms (0 = none). */
export interface IdleTimeouts {
  readTimeout: number;
  writeTimeout: number;
}

/**
 * The channel. Applications see it through its {@link ChannelView}; the session drives it through the methods below
 * and the fair writer through {@link WriterChannel}.
 */
export class ChannelImpl implements WriterChannel, Expiring, Watchable, SendTarget, BudgetWaiter {
  state: ChannelState;
  meta: Uint8Array = EMPTY;
  replyMeta: Uint8Array = EMPTY;
  private share = 1;
  deficit = 0;
  inRing = false;
  slot = -1;

  // Send side: the peer's window for us, our queue, the write side's state.
  private sendWindow = INITIAL_WINDOW;
  private out: Outbound | undefined;
  private writeSide: WriteSide = 'open';
  /** Handed to the application before the ACK (yamux-style open): may send within the initial window meanwhile. */
  private eager = false;

  // Receive side: what the peer may still send, the window we aim for, bytes consumed but not yet granted back.
  private recvAvailable = INITIAL_WINDOW;
  private recvWindow: number;
  private unacked = 0;
  /** The last bytes delivered were a piece of a frame whose rest is still to come (see {@link data}). */
  private midFrame = false;
  private lastGrantAt: number;
  private inb: Inbound | undefined;
  private reader: Subscriber<Uint8Array> | undefined;
  private pulls: { resolve: (v: Uint8Array | null) => void; reject: (e: unknown) => void }[] | undefined;
  private paused = false;
  private delivering = false;
  /** The peer sent FIN. */
  private readEnded = false;
  /** Set when the channel failed or was reset: readers and writers get it. */
  private failure: MuxError | undefined;

  bytesIn = 0;
  bytesOut = 0;
  framesIn = 0;
  framesOut = 0;

  private dog: Watchdog | undefined;
  private lastActivity = 0;
  private halfClosedAt = -1;
  /** Who waits for open() to emit (an opener that waits for the ACK), until the channel opens or fails. */
  private opener: Subscriber<Channel> | undefined;
  /** Open-timeout deadline (session clock ms) while opening; -1 for none. */
  private openDeadline = -1;
  private openedAt = 0;

  private credit: Watched<number> | undefined;
  /** How the channel ended, once it has; the signal is created only when someone asks for closed$. */
  private end_: ChannelEnd | undefined;
  private ended: OnceSignal<ChannelEnd> | undefined;
  private view_: ChannelView | undefined;

  constructor(
    private readonly host: ChannelHost,
    readonly id: number,
    readonly origin: 'local' | 'remote',
  ) {
    this.state = origin === 'local' ? 'opening' : 'pending';
    this.recvWindow = host.options.receiveWindow;
    this.lastGrantAt = host.clock();
  }

  /** What the application holds. */
  get view(): ChannelView {
    return (this.view_ ??= new ChannelView(this));
  }

  get weight(): number {
    return this.share;
  }

  set weight(value: number) {
    const bad = checkWeight(value, `channel ${this.id}: weight`, 'ERR_MUX_INVALID_ARGUMENT');
    if (bad) throw bad;
    this.share = value;
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  get reading(): boolean {
    return !this.readEnded;
  }

  get writing(): boolean {
    return this.queued > 0;
  }

  private get queued(): number {
    return this.out === undefined ? 0 : this.out.bytes;
  }

  /** True when queued bytes may go out: open, or opened eagerly and still waiting for the ACK. */
  private get sendable(): boolean {
    return this.state === 'open' || (this.eager && this.state === 'opening');
  }

  // ---------------------------------------------------------------- opening (driven by the session)

  /** Sends our SYN. `timeout` ms for the answer (0 = none); `eager` hands the channel over now, else to `opener` on the ACK. */
  openLocal(meta: Uint8Array, weight: number, idle: IdleTimeouts, timeout: number, opener: Subscriber<Channel> | undefined): void {
    this.meta = meta;
    this.share = weight;
    this.configure(idle);
    this.openedAt = this.host.clock();
    this.opener = opener;
    this.eager = opener === undefined;
    this.handshake(Flag.SYN, meta);
    if (timeout > 0) {
      this.openDeadline = this.openedAt + timeout;
      this.host.watch(this);
    }
  }

  /** The opener stopped waiting before the answer. */
  cancelOpen(): void {
    if (this.state !== 'opening') return;
    this.opener = undefined;
    this.abort(0, 'open cancelled', new MuxError('ERR_MUX_RESET', `open of channel ${this.id} was cancelled`));
  }

  /** The application accepted the peer's open: answer with ACK (and `reply`). */
  accept(reply: Uint8Array, weight: number | undefined, idle: IdleTimeouts): void {
    if (this.state !== 'pending') return;
    this.replyMeta = reply;
    if (weight !== undefined) this.share = weight;
    this.configure(idle);
    this.handshake(Flag.ACK, reply);
    this.state = 'open';
    this.dog?.start();
    this.host.activate(this);
  }

  private configure(idle: IdleTimeouts): void {
    if (idle.readTimeout > 0 || idle.writeTimeout > 0) {
      this.dog = new Watchdog(this, this.host.scheduler, () => this.host.clock(), idle.readTimeout, idle.writeTimeout);
    }
  }

  /** SYN or ACK: in the rxmux profile a Data frame carrying the metadata; a larger window goes as a WindowUpdate delta. */
  private handshake(flag: number, payload: Uint8Array): void {
    const extra = this.host.options.receiveWindow - INITIAL_WINDOW;
    if (this.host.options.profile === 'rxmux') {
      this.sendWindow -= payload.byteLength;
      this.host.control(FrameType.Data, flag, this.id, payload.byteLength, payload);
      if (extra > 0) this.host.control(FrameType.WindowUpdate, 0, this.id, extra);
    } else {
      this.host.control(FrameType.WindowUpdate, flag, this.id, extra);
    }
    this.recvAvailable += extra;
  }

  // ---------------------------------------------------------------- frames from the peer

  /** Header check of a Data frame for this channel, before its payload is read. */
  checkData(flags: number, length: number): HeaderVerdict {
    if (length > this.recvAvailable) {
      return new MuxError('ERR_MUX_PROTOCOL', `channel ${this.id}: ${length} bytes exceed the receive window (${this.recvAvailable} left)`, { wireCode: 1 });
    }
    const o = this.host.options;
    if (o.profile === 'rxmux' && flags & Flag.ACK && this.state === 'opening' && length > o.maxMetadata) return 'skip';
    return undefined;
  }

  /** The SYN part of the peer's first frame (the session admitted it); returns the payload left for {@link receive}. */
  admit(isData: boolean, flags: number, length: number, payload: Uint8Array): Uint8Array {
    if (isData && this.host.options.profile === 'rxmux') {
      this.meta = payload.byteLength ? payload.slice() : EMPTY;
      this.consumedControl(payload.byteLength);
      return EMPTY;
    }
    // A WindowUpdate|SYN's delta (a peer window above 256 KiB) counts before the acceptor sees the channel.
    if (!isData && !(flags & Flag.RST) && length > 0) this.window(length);
    return payload;
  }

  /** A Data (`isData`) or WindowUpdate frame; `length` is a WindowUpdate's delta (applied by {@link admit} on a SYN). */
  receive(isData: boolean, flags: number, length: number, payload: Uint8Array): void {
    const rxmux = this.host.options.profile === 'rxmux';
    if (flags & Flag.ACK && this.state === 'opening') {
      let reply = EMPTY;
      if (rxmux && isData) {
        reply = payload.byteLength ? payload.slice() : EMPTY;
        this.consumedControl(payload.byteLength);
        payload = EMPTY;
      }
      if (!isData) this.window(length);
      this.acknowledged(reply);
      if (!isData) {
        if (flags & Flag.FIN) this.remoteFin();
        if (flags & Flag.RST) this.remoteReset(0, undefined);
        return;
      }
      // A later ACK (ACK is sent once) is not looked at again: its payload is stream data (docs/PROTOCOL.md).
    } else if (!isData) {
      if (flags & Flag.RST) return this.remoteReset(0, undefined);
      if (!(flags & Flag.SYN)) this.window(length);
      if (flags & Flag.FIN) this.remoteFin();
      return;
    }
    if (flags & Flag.RST) {
      if (rxmux) {
        this.consumedControl(payload.byteLength);
        const { code, reason } = parseReason(payload);
        this.remoteReset(code, reason);
      } else {
        if (payload.byteLength) this.data(payload);
        this.remoteReset(0, undefined);
      }
      return;
    }
    if (payload.byteLength > 0) this.data(payload);
    if (flags & Flag.FIN) this.remoteFin();
  }

  /** Reply metadata over the limit (its payload was skipped): refuse the channel. */
  oversizedReply(length: number): void {
    this.consumedControl(length);
    const limit = this.host.options.maxMetadata;
    this.abort(0, 'reply metadata exceeds the limit', new MuxError('ERR_MUX_LIMIT', `channel ${this.id}: reply metadata of ${length} bytes exceeds the ${limit}-byte limit`));
  }

  /** The peer accepted our open (ACK). */
  private acknowledged(replyMeta: Uint8Array): void {
    this.replyMeta = replyMeta;
    this.state = 'open';
    this.dog?.start();
    this.host.rtt.sample(this.host.clock() - this.openedAt);
    const opener = this.opener;
    this.opener = undefined;
    if (opener) {
      opener.next(this.view);
      opener.complete();
    }
    this.host.activate(this);
  }

  /**
   * Payload for this channel (checked against the window). `more` is true for a piece of a frame whose rest is still
   * to come: it counts no frame, and credit goes back only once the frame is complete, so the WindowUpdates written
   * do not depend on how the carrier cut the bytes.
   */
  data(bytes: Uint8Array, more = false): void {
    this.midFrame = more;
    const n = bytes.byteLength;
    this.recvAvailable -= n;
    this.bytesIn += n;
    if (!more) this.framesIn++;
    if (this.dog !== undefined || this.halfClosedAt >= 0) {
      const now = this.host.clock();
      if (this.dog) this.dog.lastRead = now;
      this.lastActivity = now;
    }
    // Bytes after FIN or for a failed channel: count them as consumed so the window stays consistent.
    if (this.failure || this.readEnded) return;
    const empty = this.inb === undefined || this.inb.bytes === 0;
    if (empty && this.state !== 'pending' && !this.delivering) {
      const reader = this.paused ? undefined : this.liveReader();
      if (reader) {
        reader.next(bytes);
        this.consumed(n);
        return;
      }
      if (this.pulls?.length) {
        this.pulls.shift()!.resolve(bytes);
        this.consumed(n);
        return;
      }
    }
    (this.inb ??= new Inbound(this.host.budget)).push(bytes);
  }

  /** Bytes the peer sent that carry no application data (metadata, reasons) but count against the window. */
  private consumedControl(n: number): void {
    this.recvAvailable -= n;
    this.consumed(n);
  }

  /** The peer granted `delta` more bytes. */
  private window(delta: number): void {
    const next = this.sendWindow + delta;
    if (next > MAX_U32) {
      this.host.protocolError(`WindowUpdate on channel ${this.id} pushes the window past 2^32-1`);
      return;
    }
    this.sendWindow = next;
    this.credit?.set(next);
    if (delta > 0 && this.queued > 0) this.host.activate(this);
  }

  private remoteFin(): void {
    if (this.readEnded || this.state === 'closed') return;
    this.readEnded = true;
    this.markHalfClosed();
    this.maybeReleased();
    this.deliver();
  }

  private remoteReset(code: number, reason: string | undefined): void {
    if (this.state === 'closed') return;
    const details = { wireCode: code, remote: true, ...(reason === undefined ? {} : { reason }) };
    const suffix = reason ? `: ${reason}` : '';
    this.fail(
      this.state === 'opening'
        ? new MuxError('ERR_MUX_REJECTED', `open of channel ${this.id} was rejected${suffix}`, details)
        : new MuxError('ERR_MUX_RESET', `channel ${this.id} was reset by the peer${suffix}`, details),
    );
  }

  // ---------------------------------------------------------------- public: reading

  get incoming$(): Observable<Uint8Array> {
    return new Observable<Uint8Array>((subscriber) => {
      if (this.liveReader() || this.pulls?.length) {
        subscriber.error(new MuxError('ERR_MUX_READ_BUSY', `channel ${this.id}: another reader is active`));
        return;
      }
      if (this.failure && !this.readEnded) {
        // Failed before this reader came (reset, session end): tell it, as read() does, instead of leaving it hanging.
        subscriber.error(this.failure);
        return;
      }
      // No teardown: an unsubscribed reader is noticed through `closed` (see liveReader), which saves a closure
      // and a finalizer array per channel.
      this.reader = subscriber;
      this.deliver();
    });
  }

  read(): Promise<Uint8Array | null> {
    if (this.liveReader()) return Promise.reject(new MuxError('ERR_MUX_READ_BUSY', `channel ${this.id}: incoming$ has a subscriber`));
    if (this.inb !== undefined && this.inb.bytes > 0 && !this.pulls?.length) return Promise.resolve(this.shiftConsumed());
    if (this.failure && !this.readEnded) return Promise.reject(this.failure);
    if (this.readEnded) return Promise.resolve(null);
    return new Promise((resolve, reject) => (this.pulls ??= []).push({ resolve, reject }));
  }

  /** The async iterator's return(): a reader that stops early resets the channel. */
  stopReading(): void {
    if (!this.readEnded && this.state !== 'closed') this.reset(0, 'reader stopped');
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.deliver();
    this.host.flush();
  }

  /** The current incoming$ subscriber, unless it has unsubscribed (or ended) since. */
  private liveReader(): Subscriber<Uint8Array> | undefined {
    const reader = this.reader;
    if (reader && reader.closed) {
      this.reader = undefined;
      return undefined;
    }
    return reader;
  }

  private shiftConsumed(): Uint8Array {
    const chunk = this.inb!.shift();
    this.consumed(chunk.byteLength);
    this.host.budget.retry();
    return chunk;
  }

  /** Delivers buffered bytes to the reader (or pending pulls), then completion after FIN. */
  private deliver(): void {
    if (this.delivering || this.state === 'pending') return;
    this.delivering = true;
    try {
      const inb = this.inb;
      while (inb !== undefined && inb.bytes > 0) {
        const reader = this.paused ? undefined : this.liveReader();
        if (reader) reader.next(this.shiftConsumed());
        else if (this.pulls?.length) this.pulls.shift()!.resolve(this.shiftConsumed());
        else break;
      }
      if ((inb === undefined || inb.bytes === 0) && this.readEnded) {
        const reader = this.liveReader();
        if (reader && !this.paused) {
          this.reader = undefined;
          reader.complete();
        }
        const pulls = this.pulls;
        this.pulls = undefined;
        if (pulls) for (const p of pulls) p.resolve(null);
      }
    } finally {
      this.delivering = false;
    }
  }

  // ---------------------------------------------------------------- credit back to the peer

  /** The application consumed `n` bytes: credit flows back in batches of half the window. */
  private consumed(n: number): void {
    this.unacked += n;
    if (this.unacked * 2 >= this.recvWindow && !this.midFrame) this.grant();
  }

  /** Grants credit that waited for the session budget. */
  retryGrant(): void {
    this.grant();
  }

  private grant(): void {
    if (this.unacked === 0 || this.readEnded || this.state === 'closed') return;
    const host = this.host;
    if (host.budget.full) {
      host.budget.defer(this);
      return;
    }
    let growth = 0;
    const max = host.options.maxReceiveWindow;
    if (max > this.recvWindow) {
      const now = host.clock();
      // The minimum round trip: on a loaded carrier the latest samples include queueing delay, not the path's.
      const rtt = host.rtt.min;
      if (rtt < 0) {
        // No round-trip sample yet (e.g. on the accepting side): take one, so later grants can tune.
        host.rtt.request();
      } else if (now - this.lastGrantAt <= 2 * Math.max(rtt, 1)) {
        // Used up a window's worth within about two round trips: the window limits throughput, so grow it.
        growth = Math.min(this.recvWindow, max - this.recvWindow);
        this.recvWindow += growth;
      }
      this.lastGrantAt = now;
    }
    const delta = this.unacked + growth;
    this.unacked = 0;
    this.recvAvailable += delta;
    host.control(FrameType.WindowUpdate, 0, this.id, delta);
    host.flush();
  }

  // ---------------------------------------------------------------- public: writing

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

  reset(code = 0, reason?: string): void {
    if (this.state === 'closed') return;
    const details = { wireCode: code, ...(reason === undefined ? {} : { reason }) };
    this.abort(code, reason, new MuxError('ERR_MUX_RESET', `channel ${this.id} was reset locally${reason ? `: ${reason}` : ''}`, details));
  }

  /** Sends RST (code and reason), fails the channel with `error`, and flushes. */
  abort(code: number, reason: string | undefined, error: MuxError): void {
    this.sendReset(code, reason);
    this.fail(error);
    this.host.flush();
  }

  private sendReset(code: number, reason: string | undefined): void {
    const text = reason ? toBytes(reason).subarray(0, this.host.options.maxMetadata) : EMPTY;
    this.sendWindow -= queueReset(this.host, this.host.options.profile === 'rxmux', this.id, code, text, this.sendWindow);
  }

  writeRefusal(): MuxError | undefined {
    if (this.failure) return this.failure.code === 'ERR_MUX_RESET' ? this.failure : writeClosed(this.id);
    if (this.writeSide !== 'open' || this.state === 'closed') return writeClosed(this.id);
    return this.host.closedError();
  }

  private enqueue(bytes: Uint8Array): void {
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

  // ---------------------------------------------------------------- the fair writer's side (WriterChannel)

  readyBytes(): number {
    const out = this.out;
    if (out === undefined || !this.sendable) return 0;
    return out.bytes < this.sendWindow ? out.bytes : this.sendWindow;
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

  private taken(n: number): void {
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
  }

  finSent(): void {
    this.writeSide = 'ended';
    this.maybeReleased();
  }

  /** True when nothing is left to hand to the writer: no queued bytes, and the FIN (if asked for) has gone. */
  get flushed(): boolean {
    return this.state !== 'open' || (this.queued === 0 && this.writeSide !== 'ending');
  }

  // ---------------------------------------------------------------- observing

  get credit$(): Observable<number> {
    if (this.credit === undefined) {
      this.credit = new Watched(this.sendWindow);
      // Asked for after the channel closed: it starts (and stays) complete, as its doc says.
      if (this.state === 'closed') this.credit.complete();
    }
    return this.credit.observable;
  }

  get closed$(): Observable<ChannelEnd> {
    if (!this.ended) {
      this.ended = new OnceSignal<ChannelEnd>();
      if (this.end_) this.ended.emit(this.end_);
    }
    return this.ended.observable;
  }

  stats(): ChannelStats {
    return {
      id: this.id,
      state: this.state,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      framesIn: this.framesIn,
      framesOut: this.framesOut,
      credit: this.sendWindow,
      receiveWindow: this.recvWindow,
      bufferedIn: this.inb === undefined ? 0 : this.inb.bytes,
      queuedOut: this.queued,
      readClosed: this.readEnded,
      writeClosed: this.writeSide !== 'open',
    };
  }

  // ---------------------------------------------------------------- ending

  /** Ends the channel with an error, sending nothing (session end; peer reset; after an RST was queued). */
  fail(error: MuxError): void {
    if (this.state === 'closed') return;
    const wasOpening = this.state === 'opening';
    // Bytes of a channel the application never got (an open it never accepted, or our open that failed before its
    // answer, unless it was handed over eagerly) are unreachable: drop them even after the peer's FIN.
    const unreachable = this.state === 'pending' || (wasOpening && !this.eager);
    this.state = 'closed';
    this.failure = error;
    this.dog?.stop();
    this.out?.drop(error);
    if (!this.readEnded || unreachable) {
      this.inb?.drop();
      this.inb = undefined;
      const reader = this.liveReader();
      this.reader = undefined;
      reader?.error(error);
      const pulls = this.pulls;
      this.pulls = undefined;
      if (pulls) for (const p of pulls) p.reject(error);
    }
    if (wasOpening) {
      const opener = this.opener;
      this.opener = undefined;
      opener?.error(error);
    }
    this.leave({ error });
  }

  private maybeReleased(): void {
    if (this.writeSide === 'ended' && this.readEnded && this.state !== 'closed') {
      this.state = 'closed';
      this.dog?.stop();
      this.leave(NO_ERROR);
    }
  }

  /** Leaves the session: bytes still buffered for the reader stop counting against the session's budget. */
  private leave(end: ChannelEnd): void {
    this.inb?.detach();
    this.host.budget.forget(this);
    this.credit?.complete();
    this.host.released(this);
    this.end_ = end;
    this.ended?.emit(end);
  }

  // ---------------------------------------------------------------- deadlines (the session's sweeper)

  private markHalfClosed(): void {
    if (this.halfClosedAt < 0) {
      this.halfClosedAt = this.lastActivity = this.host.clock();
      if (this.host.options.closeTimeout > 0) this.host.watch(this);
    }
  }

  /** The open-timeout deadline while opening, else the close-timeout deadline while half-closed (session clock ms). */
  deadline(): number | undefined {
    if (this.state === 'closed') return undefined;
    const close = this.halfClosedAt < 0 ? undefined : this.lastActivity + this.host.options.closeTimeout;
    if (this.state === 'opening' && this.openDeadline >= 0) return Math.min(this.openDeadline, close ?? Infinity);
    return close;
  }

  /** A deadline passed: the open timeout (no ACK in time) or the close timeout; reset on both ends. */
  expire(): void {
    if (this.state === 'closed') return;
    if (this.state === 'opening' && this.openDeadline >= 0 && this.host.clock() >= this.openDeadline) {
      const waited = this.openDeadline - this.openedAt;
      this.abort(0, 'open timeout', new MuxError('ERR_MUX_TIMEOUT', `open of channel ${this.id} got no answer within ${waited} ms`));
      return;
    }
    const limit = this.host.options.closeTimeout;
    this.abort(0, 'timeout', new MuxError('ERR_MUX_TIMEOUT', `channel ${this.id}: half-closed and idle for ${limit} ms (close timeout)`));
  }

  /** An idle deadline of the watchdog passed. */
  idle(why: string): void {
    this.abort(0, 'timeout', new MuxError('ERR_MUX_TIMEOUT', `channel ${this.id}: ${why}`));
  }
}
