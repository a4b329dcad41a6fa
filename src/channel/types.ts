// The public channel types (what applications see of a channel) and the narrow host interface a channel needs
// from the session that carries it. Nothing here imports from session/.
import type { Observable, SchedulerLike } from 'rxjs';
import type { MuxError } from '../errors.js';
import type { OverflowStrategy, ResolvedOptions } from '../options.js';
import type { ReceiveBudget } from '../credit/receive-budget.js';
import type { RttEstimate } from '../credit/rtt.js';
import type { WriterChannel } from '../scheduler/types.js';
import type { Expiring } from '../util/deadlines.js';
import type { ChannelImpl } from './channel.js';

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
  /** Stream id on the wire. */
  readonly id: number;
  /** Where the channel stands now. */
  readonly state: ChannelState;
  /** Payload bytes received. */
  readonly bytesIn: number;
  /** Payload bytes sent (taken into Data frames). */
  readonly bytesOut: number;
  /** Data frames received (frames carrying payload). */
  readonly framesIn: number;
  /** Data frames sent (frames carrying payload). */
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
  /** The error the channel failed with; undefined after a clean close of both directions. */
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
export type ByteSource = Observable<Uint8Array | string> | AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>;

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
  /**
   * Bytes that may still be queued before `write()` waits: the high-water mark minus the bytes queued now. 0 or
   * less means the queue is full (a write would wait): the synchronous answer to back-pressure, read right after a
   * write. See {@link drain$} for when to go on.
   */
  readonly desiredSize: number;
  /**
   * Cold: emits once and completes when the queue is at or under the high-water mark (at once when it is already);
   * errors when the channel fails first. The signal to go on after `desiredSize` fell to 0 or less.
   */
  readonly drain$: Observable<void>;
  /**
   * Cold: emits once and completes when every byte queued so far, and the FIN if `end()` was called, has been taken
   * by the session's writer for the carrier (at once when nothing is waiting); errors with the channel's error when
   * it fails first (its queued bytes are then dropped).
   */
  readonly flushed$: Observable<void>;
  /**
   * Keep write boundaries: a Data frame never carries bytes of two `write()` calls (a write larger than the
   * session's `maxFrameSize` or the peer's credit is still cut). Default: the session's `preserveWrites` (false).
   * May be changed at any time; it applies to bytes not yet sent.
   */
  preserveWrites: boolean;
  /** Half-close: the FIN goes after every queued byte. Idempotent. */
  end(): void;
  /**
   * Abort both directions: queued bytes are dropped, the peer's channel errors with ERR_MUX_RESET carrying `code`
   * (an integer from 0 to 2^32-1, default 0; else ERR_MUX_INVALID_ARGUMENT) and, in the rxmux profile, `reason`.
   * In the yamux profile the code travels in the length field of the WindowUpdate|RST, as go-yamux v5 sends it.
   */
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

/** What a channel needs from its session: settings, shared ledgers, the writer, and one way back up. */
export interface ChannelHost {
  readonly options: ResolvedOptions;
  readonly scheduler: SchedulerLike;
  /** The session-wide count of buffered inbound bytes. */
  readonly budget: ReceiveBudget;
  readonly rtt: RttEstimate;
  /** Milliseconds of the session's scheduler since the session started. */
  clock(): number;
  /** Queues a control frame (it goes before any further data). */
  control(type: number, flags: number, id: number, length: number, payload?: Uint8Array): void;
  /** The channel has bytes or a FIN for the writer. */
  activate(ch: WriterChannel): void;
  /** Writes what is queued at the end of the current job (frames of one turn leave together). */
  flush(): void;
  /** Writes what is queued now (unless the session is inside a carrier chunk, which flushes at its end). */
  flushNow(): void;
  /** Watches the channel's `deadline()` (open and close timeouts share one session timer). */
  watch(item: Expiring): void;
  /** The channel closed: it leaves the session. */
  released(ch: ChannelImpl): void;
  /** Fails the whole session with a protocol error. */
  protocolError(message: string): void;
  /** The session's error when it is closed or closing, to refuse new writes with. */
  closedError(): MuxError | undefined;
}
