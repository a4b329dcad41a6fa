// The receive side of a channel: inbound bytes held for the reader (against the session's budget), delivery to
// incoming$ or read(), and credit back to the peer as the application consumes (grants, window auto-tuning).
import { Observable, type Subscriber } from 'rxjs';
import type { BudgetWaiter } from '../credit/receive-budget.js';
import { MuxError } from '../errors.js';
import { FrameType, INITIAL_WINDOW } from '../frame/constants.js';
import { Inbound } from './inbound.js';
import type { ChannelHost, ChannelState } from './types.js';
import type { Watchdog } from './watchdog.js';

/** State every part of a channel shares, and the receive side. See {@link ChannelImpl} for the whole. */
export abstract class ReceivingChannel implements BudgetWaiter {
  state: ChannelState;
  /** Set when the channel failed or was reset: readers and writers get it. */
  protected failure: MuxError | undefined;
  bytesIn = 0;
  framesIn = 0;
  protected dog: Watchdog | undefined;
  /** Session-clock ms of the last activity, once half-closed (the close timeout runs from it). */
  protected lastActivity = 0;
  protected halfClosedAt = -1;

  // What the peer may still send, the window we aim for, bytes consumed but not yet granted back.
  protected recvAvailable = INITIAL_WINDOW;
  protected recvWindow: number;
  private unacked = 0;
  /** The last bytes delivered were a piece of a frame whose rest is still to come (see {@link data}). */
  private midFrame = false;
  private lastGrantAt: number;
  protected inb: Inbound | undefined;
  protected reader: Subscriber<Uint8Array> | undefined;
  protected pulls: { resolve: (v: Uint8Array | null) => void; reject: (e: unknown) => void }[] | undefined;
  private paused = false;
  private delivering = false;
  /** The peer sent FIN. */
  protected readEnded = false;

  constructor(
    protected readonly host: ChannelHost,
    readonly id: number,
    readonly origin: 'local' | 'remote',
  ) {
    this.state = origin === 'local' ? 'opening' : 'pending';
    this.recvWindow = host.options.receiveWindow;
    this.lastGrantAt = host.clock();
  }

  abstract reset(code?: number, reason?: string): void;

  get reading(): boolean {
    return !this.readEnded;
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
  protected consumedControl(n: number): void {
    this.recvAvailable -= n;
    this.consumed(n);
  }

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
  protected liveReader(): Subscriber<Uint8Array> | undefined {
    const reader = this.reader;
    if (reader?.closed) {
      this.reader = undefined;
      return undefined;
    }
    return reader;
  }

  protected shiftConsumed(): Uint8Array {
    const chunk = this.inb!.shift();
    this.consumed(chunk.byteLength);
    this.host.budget.retry();
    return chunk;
  }

  /** Delivers buffered bytes to the reader (or pending pulls), then completion after FIN. */
  protected deliver(): void {
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

  /** The application consumed `n` bytes: credit flows back in batches of half the window. */
  protected consumed(n: number): void {
    this.unacked += n;
    if (this.unacked * 2 >= this.recvWindow && !this.midFrame) this.grant();
  }

  /** Grants credit that waited for the session budget. */
  retryGrant(): void {
    this.grant();
  }

  protected grant(): void {
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
}
