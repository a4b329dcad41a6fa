import { isObservable, Observable, type SchedulerAction, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
import { MuxError } from '../errors.js';
import type { OverflowStrategy, ResolvedOptions } from '../options.js';
import type { WriterChannel } from '../scheduler/fair-writer.js';
import { clear } from '../util/arrays.js';
import type { Expiring } from '../util/deadlines.js';
import { OnceSignal, Watched } from '../util/signal.js';
import { toBytes } from '../util/bytes.js';

/** Where a channel stands. */
export type ChannelState =
  /** We sent SYN and wait for the answer. */
  | 'opening'
  /** The peer opened it; the application has not accepted or rejected it yet. */
  | 'pending'
  /** Both directions may carry bytes (or one still does after a half-close). */
  | 'open'
  /** Both directions closed, reset, or failed. */
  | 'closed';

/** A snapshot of one channel's counters. */
export interface ChannelStats {
  readonly id: number;
  readonly state: ChannelState;
  /** Payload bytes received / sent. */
  readonly bytesIn: number;
  readonly bytesOut: number;
  /** Data frames received / sent (frames carrying payload). */
  readonly framesIn: number;
  readonly framesOut: number;
  /** Bytes the peer still lets us send (its window for us). */
  readonly credit: number;
  /** Our receive window for this channel (grows with auto-tuning). */
  readonly receiveWindow: number;
  /** Inbound bytes received and not yet consumed by the application. */
  readonly bufferedIn: number;
  /** Outbound bytes queued and not yet handed to the carrier. */
  readonly queuedOut: number;
  /** True once the peer sent FIN. */
  readonly readClosed: boolean;
  /** True once our FIN was queued (end() called). */
  readonly writeClosed: boolean;
}

/** How a channel ended: `error` is undefined for a clean close of both directions. */
export interface ChannelEnd {
  readonly error: MuxError | undefined;
}

/** Options for {@link Channel.send}. */
export interface SendOptions {
  /** Close the write side (FIN) when the source completes. Default true. */
  end?: boolean;
  /** For Observable sources: what to do when the source outruns the high-water mark. Default: the session's `overflow` (`error`). */
  overflow?: OverflowStrategy;
}

/** What {@link Channel.send} accepts: push (Observable) or pull (AsyncIterable / Iterable) sources of bytes or strings. */
export type ByteSource =
  | Observable<Uint8Array | string>
  | AsyncIterable<Uint8Array | string>
  | Iterable<Uint8Array | string>;

/**
 * One bidirectional byte channel of a session.
 *
 * @example
 * ```ts
 * session.open({ meta: 'files/report.csv' }).subscribe(async (channel) => {
 *   await channel.write('hello');
 *   channel.end();
 *   channel.incoming$.subscribe((bytes) => console.log(bytes.byteLength));
 * });
 * ```
 */
export interface Channel {
  /** Stream id on the wire: odd when the client opened it, even when the server did. */
  readonly id: number;
  /** `local` when this side opened it. */
  readonly origin: 'local' | 'remote';
  /** The opener's metadata (empty in the yamux profile). */
  readonly meta: Uint8Array;
  /** The acceptor's reply metadata (empty in the yamux profile). */
  readonly replyMeta: Uint8Array;
  /** Current state. */
  readonly state: ChannelState;
  /**
   * Inbound bytes. Each chunk counts as consumed once `next` returns, and credit flows back to the peer
   * (in batches of about half the window). Completes after the peer's FIN; errors with ERR_MUX_RESET on reset,
   * or with the session's error. One subscriber at a time (another gets ERR_MUX_READ_BUSY).
   * While nobody subscribes (or while paused), bytes wait, at most one receive window of them.
   */
  readonly incoming$: Observable<Uint8Array>;
  /** Pull one chunk: resolves with bytes, or null after the peer's FIN; rejects on reset or failure. */
  read(): Promise<Uint8Array | null>;
  /** Pull-based reading: `for await (const chunk of channel)`. */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array>;
  /** Stop delivering to `incoming$` (bytes wait and no credit is returned). */
  pause(): void;
  /** Resume delivery to `incoming$`. */
  resume(): void;
  /**
   * Queue bytes (a string is sent as UTF-8). Resolves at once while the queue is under the high-water mark,
   * otherwise when it drains below it: await it to hold the producer. Zero-length writes send nothing.
   * Rejects with ERR_MUX_WRITE_CLOSED after end(), ERR_MUX_RESET after a reset.
   */
  write(data: Uint8Array | string): Promise<void>;
  /**
   * Cold: on subscribe, sends everything the source yields, then (by default) closes the write side.
   * Iterables and AsyncIterables are pulled only while the queue is under the high-water mark; Observables
   * are push-only and get the overflow strategy. Completes when the last byte is queued. Unsubscribing
   * before that resets the channel.
   */
  send(source: ByteSource, options?: SendOptions): Observable<never>;
  /** Half-close: the FIN goes after every queued byte. Idempotent. */
  end(): void;
  /** Abort both directions: queued bytes are dropped, the peer's channel errors with ERR_MUX_RESET (code and, in the rxmux profile, reason). */
  reset(code?: number, reason?: string): void;
  /** The peer's credit for us (bytes we may send now); current value first. Completes when the channel closes. */
  readonly credit$: Observable<number>;
  /** Emits once when the channel is fully closed, with its error if it failed. */
  readonly closed$: Observable<ChannelEnd>;
  /** Share of the carrier relative to other channels (default 1). */
  weight: number;
  /** Counters now. */
  stats(): ChannelStats;
}

/** What a channel needs from its session. */
export interface ChannelHost {
  readonly options: ResolvedOptions;
  readonly scheduler: SchedulerLike;
  /** Smoothed round-trip time in ms, or -1 before the first sample. */
  readonly rtt: number;
  /** Bytes buffered across all channels. */
  bufferedIn: number;
  /** Milliseconds of the session's scheduler since the session started (small numbers: no boxed doubles per channel). */
  clock(): number;
  activate(ch: ChannelImpl): void;
  /** The peer acknowledged a channel this side opened. */
  opened(ch: ChannelImpl): void;
  /** A channel this side opened failed before its ACK. */
  openFailed(ch: ChannelImpl, error: MuxError): void;
  /** The open timeout of a channel still opening passed. */
  openExpired(ch: ChannelImpl): void;
  /** Writes what is queued at the end of the current job (frames of one turn leave together). */
  flush(): void;
  /** Writes what is queued now (unless the session is inside a carrier chunk, which flushes at its end). */
  flushNow(): void;
  sendWindowUpdate(ch: ChannelImpl, delta: number): void;
  sendRst(ch: ChannelImpl, code: number, reason: string | undefined): void;
  deferGrant(ch: ChannelImpl): void;
  /** Watches a half-closed channel's close timeout (one session timer for all channels). */
  watchClose(ch: ChannelImpl): void;
  /** Asks for one round-trip sample (a Ping) when none was taken yet: window auto-tuning needs it. */
  requestRtt(): void;
  /** Buffered bytes were consumed: grants deferred by the session receive budget may go now. */
  retryDeferred(): void;
  released(ch: ChannelImpl): void;
  /** Fails the whole session with a protocol error. */
  protocolError(message: string): void;
  /** The session's error when it is closed, to fail new writes with. */
  closedError(): MuxError | undefined;
}

const EMPTY = new Uint8Array(0);
/** One settled promise for every write that needs no waiting (no allocation per write). */
const RESOLVED: Promise<void> = Promise.resolve();
const NO_ERROR: ChannelEnd = { error: undefined };

function writeClosed(id: number): MuxError {
  return new MuxError('ERR_MUX_WRITE_CLOSED', `channel ${id}: write side is closed`);
}

/** The channel implementation. Users see it through the {@link Channel} interface. */
export class ChannelImpl implements Channel, WriterChannel, Expiring {
  state: ChannelState;
  meta: Uint8Array = EMPTY;
  replyMeta: Uint8Array = EMPTY;
  private share = 1;
  deficit = 0;
  inRing = false;

  // Send side: the peer's window for us, and our queue.
  sendWindow: number;
  private outQ: Uint8Array[] | undefined;
  private outHead = 0;
  private outOff = 0;
  private outBytes = 0;
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] | undefined;
  private finQueued = false;
  private finGone = false;

  // Receive side: what the peer may still send, the window we aim for, bytes consumed but not yet granted back.
  recvAvailable: number;
  recvWindow: number;
  private unacked = 0;
  grantDeferred = false;
  /** The last bytes delivered were a piece of a frame whose rest is still to come (see {@link data}). */
  private midFrame = false;
  /** A remote open the application has not answered yet (counted in the accept backlog). */
  awaitingAccept = false;
  private lastGrantAt: number;
  private inQ: Uint8Array[] | undefined;
  private inHead = 0;
  /** While set, the last chunk of inQ is `tail[0, tailUsed)`, a buffer of ours that small payloads are appended to. */
  private tail: Uint8Array | undefined;
  private tailUsed = 0;
  private inBytes = 0;
  private reader: Subscriber<Uint8Array> | undefined;
  private pulls: { resolve: (v: Uint8Array | null) => void; reject: (e: unknown) => void }[] | undefined;
  private paused = false;
  private delivering = false;
  /** Set when the peer sent FIN. */
  private finReceived = false;
  /** Set when the channel failed or was reset: readers and writers get it. */
  private failure: MuxError | undefined;

  // Counters.
  bytesIn = 0;
  bytesOut = 0;
  framesIn = 0;
  framesOut = 0;

  // Deadlines (only tracked when a timeout is configured).
  private readTimeout: number;
  private writeTimeout: number;
  private lastRead = 0;
  private lastWriteProgress = 0;
  private lastActivity = 0;
  private halfClosedAt = -1;
  private watchdog: Subscription | undefined;

  private credit: Watched<number> | undefined;
  /** How the channel ended, once it has; the signal is created only when someone asks for closed$. */
  private end_: ChannelEnd | undefined;
  private ended: OnceSignal<ChannelEnd> | undefined;
  /** Who waits for open() to emit (an opener that waits for the ACK), until the channel opens or fails. */
  opener: Subscriber<Channel> | undefined;
  /** Open-timeout deadline (session clock ms) while opening; -1 for none. */
  openDeadline = -1;
    openedAt = 0;
  /** Handed to the application before the ACK (yamux-style open): may send within the initial window meanwhile. */
  eager = false;

  /** True when queued bytes may go out: open, or opened eagerly and still waiting for the ACK. */
  private get sendable(): boolean {
    return this.state === 'open' || (this.eager && this.state === 'opening');
  }

  constructor(
    private readonly host: ChannelHost,
    readonly id: number,
    readonly origin: 'local' | 'remote',
    readTimeout: number,
    writeTimeout: number,
  ) {
    const o = host.options;
    this.state = origin === 'local' ? 'opening' : 'pending';
    this.sendWindow = 256 * 1024;
    this.recvWindow = o.receiveWindow;
    // The peer assumes 256 KiB; a larger window is granted with the SYN/ACK's WindowUpdate delta.
    this.recvAvailable = 256 * 1024;
    this.readTimeout = readTimeout;
    this.writeTimeout = writeTimeout;
    this.lastGrantAt = host.clock();
  }

  get weight(): number {
    return this.share;
  }

  set weight(value: number) {
    if (typeof value !== 'number' || !(value > 0) || !Number.isFinite(value)) {
      throw new MuxError('ERR_MUX_INVALID_ARGUMENT', `channel ${this.id}: weight must be a positive finite number, got ${String(value)}`);
    }
    this.share = value;
  }

  // ---------------------------------------------------------------- public: reading

  get incoming$(): Observable<Uint8Array> {
    return new Observable<Uint8Array>((subscriber) => {
      if (this.liveReader() || this.pulls?.length) {
        subscriber.error(new MuxError('ERR_MUX_READ_BUSY', `channel ${this.id}: another reader is active`));
        return;
      }
      if (this.failure && !this.finReceived) {
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
    if (this.inBytes > 0 && !this.pulls?.length) return Promise.resolve(this.shiftConsumed());
    if (this.failure && !this.finReceived) return Promise.reject(this.failure);
    if (this.finReceived) return Promise.resolve(null);
    return new Promise((resolve, reject) => (this.pulls ??= []).push({ resolve, reject }));
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: async () => {
        const chunk = await this.read();
        return chunk === null ? { done: true, value: undefined } : { done: false, value: chunk };
      },
      return: async () => {
        if (!this.finReceived && this.state !== 'closed') this.reset(0, 'reader stopped');
        return { done: true, value: undefined };
      },
    };
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
    if (this.outBytes <= this.host.options.highWaterMark) return RESOLVED;
    // Past the mark: write what credit and the carrier take now, so only bytes that cannot leave make the caller wait.
    this.host.flushNow();
    if (this.outBytes <= this.host.options.highWaterMark) return RESOLVED;
    return new Promise((resolve, reject) => (this.waiters ??= []).push({ resolve, reject }));
  }

  send(source: ByteSource, options: SendOptions = {}): Observable<never> {
    return new Observable<never>((subscriber) => {
      const end = options.end ?? true;
      let done = false;
      const finish = (): void => {
        done = true;
        if (end) this.end();
        subscriber.complete();
      };
      const fail = (e: unknown): void => {
        done = true;
        subscriber.error(e);
      };
      const refused = this.writeRefusal();
      if (refused) {
        fail(refused);
        return;
      }
      let inner: Subscription | undefined;
      if (isObservable(source)) {
        const strategy = options.overflow ?? this.host.options.overflow;
        inner = (source as Observable<Uint8Array | string>).subscribe({
          next: (value) => {
            if (done) return;
            let bytes: Uint8Array;
            try {
              bytes = toBytes(value);
            } catch (e) {
              this.reset(0, 'invalid chunk');
              fail(e);
              return;
            }
            const stop = this.writeRefusal();
            if (stop) return fail(stop);
            if (this.pushWithOverflow(bytes, strategy) === 'overflow') {
              const e = new MuxError('ERR_MUX_OVERFLOW', `channel ${this.id}: source outran the ${this.host.options.highWaterMark}-byte high-water mark`);
              this.reset(0, 'overflow');
              fail(e);
              inner?.unsubscribe();
            }
          },
          error: (e) => {
            if (done) return;
            this.reset(0, 'source failed');
            fail(e);
          },
          complete: () => {
            if (!done) finish();
          },
        });
      } else {
        void this.pump(source as AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>, () => done).then(
          () => {
            if (!done) finish();
          },
          (e) => {
            if (done) return;
            if (this.state !== 'closed') this.reset(0, 'source failed');
            fail(e);
          },
        );
      }
      return () => {
        inner?.unsubscribe();
        if (!done) {
          done = true;
          if (this.state !== 'closed') this.reset(0, 'send cancelled');
        }
      };
    });
  }

  end(): void {
    if (this.finQueued || this.state === 'closed') return;
    this.finQueued = true;
    this.markHalfClosed();
    this.host.activate(this);
    this.host.flush();
  }

  reset(code = 0, reason?: string): void {
    if (this.state === 'closed') return;
    this.host.sendRst(this, code, reason);
    this.fail(new MuxError('ERR_MUX_RESET', `channel ${this.id} was reset locally${reason ? `: ${reason}` : ''}`, { wireCode: code, ...(reason === undefined ? {} : { reason }) }));
    this.host.flush();
  }

  get credit$(): Observable<number> {
    return (this.credit ??= new Watched(this.sendWindow)).observable;
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
      bufferedIn: this.inBytes,
      queuedOut: this.outBytes,
      readClosed: this.finReceived,
      writeClosed: this.finQueued,
    };
  }

  // ---------------------------------------------------------------- writer side (WriterChannel)

  readyBytes(): number {
    return this.sendable ? Math.min(this.outBytes, this.sendWindow) : 0;
  }

  finReady(): boolean {
    return this.finQueued && !this.finGone && this.outBytes === 0 && this.sendable;
  }

  take(n: number, out: Uint8Array[]): void {
    this.takeOut(n, out, undefined, 0);
  }

  copy(n: number, into: Uint8Array, at: number): void {
    this.takeOut(n, undefined, into, at);
  }

  /** Consumes `n` queued bytes: as views pushed to `out`, or copied into `into` at `at`. */
  private takeOut(n: number, out: Uint8Array[] | undefined, into: Uint8Array | undefined, at: number): void {
    const q = this.outQ!;
    let left = n;
    while (left > 0) {
      const c = q[this.outHead]!;
      const off = this.outOff;
      const avail = c.byteLength - off;
      const k = avail <= left ? avail : left;
      const piece = off === 0 && k === c.byteLength ? c : c.subarray(off, off + k);
      if (into) {
        into.set(piece, at);
        at += k;
      } else {
        out!.push(piece);
      }
      if (avail <= left) {
        q[this.outHead++] = EMPTY;
        this.outOff = 0;
      } else {
        this.outOff += k;
      }
      left -= k;
    }
    if (this.outHead === q.length) {
      clear(q);
      this.outHead = 0;
    } else if (this.outHead > 64 && this.outHead * 2 > q.length) {
      q.splice(0, this.outHead);
      this.outHead = 0;
    }
    this.outBytes -= n;
    this.sendWindow -= n;
    this.bytesOut += n;
    this.framesOut++;
    if (this.writeTimeout > 0 || this.halfClosedAt >= 0) this.lastWriteProgress = this.lastActivity = this.host.clock();
    this.credit?.set(this.sendWindow);
    if (this.waiters && this.outBytes <= this.host.options.highWaterMark) this.releaseWaiters();
  }

  finSent(): void {
    this.finGone = true;
    this.maybeReleased();
  }

  // ---------------------------------------------------------------- session side: inbound frames

  /** The peer accepted our open (ACK). */
  acknowledged(replyMeta: Uint8Array): void {
    if (this.state !== 'opening') return;
    this.replyMeta = replyMeta;
    this.state = 'open';
    this.startWatchdog();
    this.host.opened(this);
    this.host.activate(this);
  }

  /** The application accepted the peer's open. */
  accepted(): void {
    if (this.state !== 'pending') return;
    this.state = 'open';
    this.startWatchdog();
    this.host.activate(this);
  }

  /**
   * Payload for this channel (the session checked it against the window). `more` is true for a piece of a frame
   * whose rest is still to come: it counts no frame, and credit goes back only once the frame is complete, so the
   * WindowUpdates written do not depend on how the carrier cut the bytes.
   */
  data(bytes: Uint8Array, more = false): void {
    this.midFrame = more;
    const n = bytes.byteLength;
    this.recvAvailable -= n;
    this.bytesIn += n;
    if (!more) this.framesIn++;
    if (this.readTimeout > 0 || this.halfClosedAt >= 0) this.lastRead = this.lastActivity = this.host.clock();
    if (this.failure || this.finReceived) {
      // Bytes after FIN or for a failed channel: count them as consumed so the window stays consistent.
      return;
    }
    const reader = this.state !== 'pending' && !this.paused && this.inBytes === 0 && !this.delivering ? this.liveReader() : undefined;
    if (reader) {
      reader.next(bytes);
      this.consumed(n);
      return;
    }
    if (this.state !== 'pending' && this.pulls?.length && this.inBytes === 0) {
      this.pulls.shift()!.resolve(bytes);
      this.consumed(n);
      return;
    }
    this.queueIn(bytes);
    this.inBytes += n;
    this.host.bufferedIn += n;
  }

  /** Bytes the peer sent that carry no application data (metadata, reasons) but count against the window. */
  consumedControl(n: number): void {
    this.recvAvailable -= n;
    this.consumed(n);
  }

  /** The peer granted `delta` more bytes. */
  window(delta: number): void {
    const next = this.sendWindow + delta;
    if (next > 0xffff_ffff) {
      this.host.protocolError(`WindowUpdate on channel ${this.id} pushes the window past 2^32-1`);
      return;
    }
    this.sendWindow = next;
    this.credit?.set(next);
    if (delta > 0 && this.outBytes > 0) this.host.activate(this);
  }

  /** The peer half-closed (FIN). */
  remoteFin(): void {
    if (this.finReceived || this.state === 'closed') return;
    this.finReceived = true;
    this.markHalfClosed();
    this.maybeReleased();
    this.deliver();
  }

  /** The peer reset the channel, or refused our open. */
  remoteReset(code: number, reason: string | undefined): void {
    if (this.state === 'closed') return;
    const details = { wireCode: code, remote: true, ...(reason === undefined ? {} : { reason }) };
    if (this.state === 'opening') {
      this.fail(new MuxError('ERR_MUX_REJECTED', `open of channel ${this.id} was rejected${reason ? `: ${reason}` : ''}`, details));
    } else {
      this.fail(new MuxError('ERR_MUX_RESET', `channel ${this.id} was reset by the peer${reason ? `: ${reason}` : ''}`, details));
    }
  }

  /** Ends the channel with an error, sending nothing (session end, timeouts after an RST was sent). */
  fail(error: MuxError): void {
    if (this.state === 'closed') return;
    const wasOpening = this.state === 'opening';
    // Bytes of a channel the application never got (an open it never accepted, or our open that failed before its
    // answer, unless it was handed over eagerly) are unreachable: drop them even after the peer's FIN.
    const unreachable = this.state === 'pending' || (wasOpening && !this.eager);
    this.state = 'closed';
    this.failure = error;
    this.stopWatchdog();
    // Drop queued bytes.
    this.outQ = undefined;
    this.outHead = this.outOff = 0;
    this.outBytes = 0;
    this.releaseWaiters(error);
    if (!this.finReceived || unreachable) {
      this.host.bufferedIn -= this.inBytes;
      this.inQ = this.tail = undefined;
      this.inHead = 0;
      this.inBytes = 0;
      const reader = this.liveReader();
      this.reader = undefined;
      reader?.error(error);
      const pulls = this.pulls;
      this.pulls = undefined;
      if (pulls) for (const p of pulls) p.reject(error);
    }
    this.credit?.complete();
    if (wasOpening) this.host.openFailed(this, error);
    this.host.released(this);
    this.settle({ error });
  }

  private settle(end: ChannelEnd): void {
    this.end_ = end;
    this.ended?.emit(end);
  }

    /** Grants credit that waited for the session budget. */
  retryGrant(): void {
    this.grantDeferred = false;
    this.grant();
  }

  /** Sets the idle timeouts (ms, 0 = none) before the channel opens. */
  configureTimeouts(readTimeout: number, writeTimeout: number): void {
    this.readTimeout = readTimeout;
    this.writeTimeout = writeTimeout;
  }

  /** True when nothing is left to hand to the writer: no queued bytes, and the FIN (if asked for) has gone. */
  get flushed(): boolean {
    return this.state !== 'open' || (this.outBytes === 0 && (!this.finQueued || this.finGone));
  }

  /** True when the application may no longer see new inbound bytes (FIN or failure). */
  get readDone(): boolean {
    return this.finReceived || this.failure !== undefined;
  }

  // ---------------------------------------------------------------- internals

  private writeRefusal(): MuxError | undefined {
    if (this.failure) return this.failure.code === 'ERR_MUX_RESET' ? this.failure : writeClosed(this.id);
    if (this.finQueued || this.state === 'closed') return writeClosed(this.id);
    return this.host.closedError();
  }

  private enqueue(bytes: Uint8Array): void {
    const armWriteDeadline = this.outBytes === 0 && this.writeTimeout > 0;
    // A one-element literal: `[].push` would reserve 17 slots for a channel that mostly writes once.
    if (this.outQ === undefined) this.outQ = [bytes];
    else this.outQ.push(bytes);
    this.outBytes += bytes.byteLength;
    if (armWriteDeadline) {
      // The write deadline runs only while bytes wait.
      this.lastWriteProgress = this.host.clock();
      this.startWatchdog();
    }
    if (this.sendable && this.sendWindow > 0) {
      this.host.activate(this);
      this.host.flush();
    }
  }

  private pushWithOverflow(bytes: Uint8Array, strategy: OverflowStrategy): 'ok' | 'overflow' | 'dropped' {
    const hwm = this.host.options.highWaterMark;
    if (bytes.byteLength === 0) return 'ok';
    // Past the mark: first write what credit and the carrier take now, so only bytes that cannot leave count.
    if (this.outBytes + bytes.byteLength > hwm && this.outBytes > 0) this.host.flushNow();
    if (this.outBytes + bytes.byteLength <= hwm || this.outBytes === 0) {
      this.enqueue(bytes);
      return 'ok';
    }
    if (strategy === 'error') return 'overflow';
    if (strategy === 'dropping') return 'dropped';
    // sliding: drop whole queued chunks from the oldest end (never a chunk already partly sent) until the new one fits.
    const q = this.outQ!;
    let i = this.outOff > 0 ? this.outHead + 1 : this.outHead;
    while (i < q.length && this.outBytes + bytes.byteLength > hwm) {
      this.outBytes -= q[i]!.byteLength;
      q.splice(i, 1);
    }
    this.enqueue(bytes);
    return 'ok';
  }

  /** Pulls a source only while the queue is under the high-water mark (each write is awaited). */
  private async pump(source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>, stopped: () => boolean): Promise<void> {
    if (!(Symbol.asyncIterator in source)) {
      const it = source[Symbol.iterator]();
      for (let r = it.next(); !r.done; r = it.next()) {
        await this.write(r.value);
        if (stopped()) {
          it.return?.();
          return;
        }
      }
      return;
    }
    const it = source[Symbol.asyncIterator]();
    for (;;) {
      const r = await it.next();
      if (r.done) return;
      if (stopped()) {
        await it.return?.();
        return;
      }
      await this.write(r.value);
    }
  }

  private releaseWaiters(error?: unknown): void {
    const w = this.waiters;
    if (!w) return;
    this.waiters = undefined;
    for (const x of w) error === undefined ? x.resolve() : x.reject(error);
  }

  /**
   * Buffers inbound bytes for a reader that is not taking them. Chunks are kept as they came (a view pinning a carrier
   * chunk more than 4 times its size is copied), but once 16 chunks wait, payloads under 4 KiB are copied into a tail
   * chunk (grown by doubling up to 16 KiB): a peer sending 1-byte frames would otherwise make each buffered byte cost
   * an array entry and a view (~100 bytes of heap), or pin a whole carrier chunk, instead of one byte.
   */
  private queueIn(bytes: Uint8Array): void {
    const q = (this.inQ ??= []);
    const n = bytes.byteLength;
    if (n >= 4096 || (!this.tail && q.length - this.inHead < 16)) {
      q.push(n * 4 < bytes.buffer.byteLength ? bytes.slice() : bytes);
      this.tail = undefined;
      return;
    }
    let tail = this.tail;
    const used = tail ? this.tailUsed : 0;
    if (!tail || used + n > tail.byteLength) {
      const grown = tail && used + n <= 16384 ? new Uint8Array(Math.min(16384, Math.max(2 * (used + n), 256))) : undefined;
      if (grown && tail) grown.set(tail.subarray(0, used));
      else q.push(EMPTY); // a new tail chunk
      tail = grown ?? new Uint8Array(Math.max(2 * n, 256));
      if (!grown) this.tailUsed = 0;
      this.tail = tail;
    }
    tail.set(bytes, this.tailUsed);
    this.tailUsed += n;
    q[q.length - 1] = tail.subarray(0, this.tailUsed);
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
    const q = this.inQ!;
    const chunk = q[this.inHead]!;
    q[this.inHead++] = EMPTY;
    if (this.inHead === q.length) {
      q.length = 0;
      this.inHead = 0;
      this.tail = undefined; // the tail chunk went to the reader: never append to it again
    } else if (this.inHead > 64 && this.inHead * 2 > q.length) {
      q.splice(0, this.inHead);
      this.inHead = 0;
    }
    const n = chunk.byteLength;
    this.inBytes -= n;
    this.host.bufferedIn -= n;
    this.consumed(n);
    this.host.retryDeferred();
    return chunk;
  }

  /** Delivers buffered bytes to the reader (or pending pulls), then completion after FIN. */
  private deliver(): void {
    if (this.delivering || this.state === 'pending') return;
    this.delivering = true;
    try {
      while (this.inBytes > 0) {
        const reader = this.paused ? undefined : this.liveReader();
        if (reader) {
          reader.next(this.shiftConsumed());
        } else if (this.pulls?.length) {
          const p = this.pulls.shift()!;
          p.resolve(this.shiftConsumed());
        } else {
          break;
        }
      }
      if (this.inBytes === 0 && this.finReceived) {
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
  private consumed(n: number): void {
    this.unacked += n;
    if (this.unacked * 2 >= this.recvWindow && !this.grantDeferred && !this.midFrame) this.grant();
  }

  private grant(): void {
    if (this.unacked === 0 || this.finReceived || this.state === 'closed') return;
    const host = this.host;
    if (host.bufferedIn >= host.options.receiveBudget) {
      this.grantDeferred = true;
      host.deferGrant(this);
      return;
    }
    let growth = 0;
    const max = host.options.maxReceiveWindow;
    if (max > this.recvWindow) {
      const now = host.clock();
      if (host.rtt < 0) {
        // No round-trip sample yet (e.g. on the accepting side): take one, so later grants can tune.
        host.requestRtt();
      } else if (now - this.lastGrantAt <= 2 * Math.max(host.rtt, 1)) {
        // Used up a window's worth within about two round trips: the window limits throughput, so grow it.
        growth = Math.min(this.recvWindow, max - this.recvWindow);
        this.recvWindow += growth;
      }
      this.lastGrantAt = now;
    }
    const delta = this.unacked + growth;
    this.unacked = 0;
    this.recvAvailable += delta;
    host.sendWindowUpdate(this, delta);
  }

  private markHalfClosed(): void {
    if (this.halfClosedAt < 0) {
      this.halfClosedAt = this.lastActivity = this.host.clock();
      if (this.host.options.closeTimeout > 0) this.host.watchClose(this);
    }
  }

  /** For the session's sweeper: the open-timeout deadline while opening, else the close-timeout deadline while half-closed (session clock ms). */
  deadline(): number | undefined {
    if (this.state === 'opening' && this.openDeadline >= 0) {
      const close = this.halfClosedAt < 0 ? Infinity : this.lastActivity + this.host.options.closeTimeout;
      return Math.min(this.openDeadline, close);
    }
    return this.state === 'closed' || this.halfClosedAt < 0 ? undefined : this.lastActivity + this.host.options.closeTimeout;
  }

  /** A deadline passed: the open timeout (no ACK in time) or the close timeout; reset on both ends. */
  expire(): void {
    if (this.state === 'closed') return;
    if (this.state === 'opening' && this.openDeadline >= 0 && this.host.clock() >= this.openDeadline) {
      this.host.openExpired(this);
      return;
    }
    this.host.sendRst(this, 0, 'timeout');
    this.fail(new MuxError('ERR_MUX_TIMEOUT', `channel ${this.id}: half-closed and idle for ${this.host.options.closeTimeout} ms (close timeout)`));
    this.host.flush();
  }

  private maybeReleased(): void {
    if (this.finGone && this.finReceived && this.state !== 'closed') {
      this.state = 'closed';
      this.stopWatchdog();
      this.credit?.complete();
      this.host.released(this);
      this.settle(NO_ERROR);
    }
  }

  // ---------------------------------------------------------------- deadlines

  private startWatchdog(): void {
    if (this.state !== 'open') return;
    const now = this.host.clock();
    if (this.lastRead === 0) this.lastRead = now;
    const next = this.nextDeadline(now);
    if (next === undefined) return;
    this.stopWatchdog();
    this.watchdog = this.host.scheduler.schedule(
      function (this: SchedulerAction<ChannelImpl>, ch) {
        ch!.checkDeadlines(this);
      },
      Math.max(0, next - now),
      this,
    );
  }

  private stopWatchdog(): void {
    this.watchdog?.unsubscribe();
    this.watchdog = undefined;
  }

  private nextDeadline(now: number): number | undefined {
    let next: number | undefined;
    const consider = (t: number): void => {
      if (next === undefined || t < next) next = t;
    };
    if (this.readTimeout > 0 && !this.finReceived) consider(this.lastRead + this.readTimeout);
    if (this.writeTimeout > 0 && this.outBytes > 0) consider(this.lastWriteProgress + this.writeTimeout);
    return next;
  }

  private checkDeadlines(action: SchedulerAction<ChannelImpl>): void {
    if (this.state !== 'open') return;
    const now = this.host.clock();
    let why: string | undefined;
    if (this.readTimeout > 0 && !this.finReceived && now - this.lastRead >= this.readTimeout) {
      why = `no bytes received for ${this.readTimeout} ms (read timeout)`;
    } else if (this.writeTimeout > 0 && this.outBytes > 0 && now - this.lastWriteProgress >= this.writeTimeout) {
      why = `queued bytes made no progress for ${this.writeTimeout} ms (write timeout)`;
    }
    if (why) {
      this.watchdog = undefined;
      this.host.sendRst(this, 0, 'timeout');
      this.fail(new MuxError('ERR_MUX_TIMEOUT', `channel ${this.id}: ${why}`));
      this.host.flush();
      return;
    }
    const next = this.nextDeadline(now);
    if (next === undefined) {
      this.watchdog = undefined;
      return;
    }
    action.schedule(this, Math.max(1, next - now));
  }
}
