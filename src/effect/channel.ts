// Owns MuxChannel, the Effect view of one rxmux Channel, and its scoped lifetime (leaving the scope ends or resets it).
// The RxJS Channel stays reachable as `.channel`, so one channel can be driven from Effect and RxJS code alike.
import { Effect, Exit, type Scope, type Sink, type Stream } from 'effect';
import type { Channel, ChannelStats } from '../index.js';
import { failWith, type RxmuxError } from './errors.js';
import { readable, type ReadableOptions } from './inbound.js';
import { send, writable, write, type WritableOptions } from './outbound.js';

/**
 * One channel of a session, in Effect terms.
 *
 * @example
 * ```ts
 * const channel = yield* session.open({ meta: 'echo' });
 * yield* channel.write('hello');
 * yield* channel.end;
 * const reply = yield* channel.stream.pipe(Stream.decodeText(), Stream.mkString);
 * ```
 */
export interface MuxChannel {
  /** The rxmux channel underneath (RxJS API). */
  readonly channel: Channel;
  /** Stream id on the wire. */
  readonly id: number;
  /** The opener's metadata (empty in the yamux profile). */
  readonly meta: Uint8Array;
  /** The acceptor's reply metadata (empty in the yamux profile). */
  readonly replyMeta: Uint8Array;
  /** Inbound bytes; pulling is consuming (see {@link readable}). Stopping it before the peer's FIN resets the channel. */
  readonly stream: Stream.Stream<Uint8Array, RxmuxError>;
  /** Inbound bytes with options (see {@link ReadableOptions}). */
  readable(options?: ReadableOptions): Stream.Stream<Uint8Array, RxmuxError>;
  /** Outbound: writes each element, waits on credit, FIN at the end (see {@link writable}). */
  readonly sink: Sink.Sink<void, Uint8Array | string, never, RxmuxError>;
  /** A sink with options (`end: false` keeps the write side open). */
  writable(options?: WritableOptions): Sink.Sink<void, Uint8Array | string, never, RxmuxError>;
  /** Sends a stream, then FIN (see {@link send}). */
  send<E, R>(source: Stream.Stream<Uint8Array | string, E, R>, options?: WritableOptions): Effect.Effect<void, RxmuxError | E, R>;
  /** Queues bytes; waits while the queue is full (see {@link write}). */
  write(data: Uint8Array | string): Effect.Effect<void, RxmuxError>;
  /** Half-close: FIN after every queued byte. Idempotent. */
  readonly end: Effect.Effect<void>;
  /** Aborts both directions; the peer fails with `MuxResetError` carrying `code` (u32) and `reason` (rxmux profile). */
  reset(code?: number, reason?: string): Effect.Effect<void>;
  /** Waits until both directions are closed; fails with the channel's error if it failed. */
  readonly closed: Effect.Effect<void, RxmuxError>;
  /** Counters now (bytes, frames, credit, receive window, buffered, queued). */
  readonly stats: Effect.Effect<ChannelStats>;
}

/**
 * The Effect view of an rxmux channel (no lifetime attached; see {@link scopedChannel}).
 *
 * @example
 * ```ts
 * const effectSide = wrapChannel(rxjsChannel);
 * ```
 */
export function wrapChannel(channel: Channel): MuxChannel {
  return {
    channel,
    id: channel.id,
    meta: channel.meta,
    replyMeta: channel.replyMeta,
    stream: readable(channel),
    readable: (options) => readable(channel, options),
    sink: writable(channel),
    writable: (options) => writable(channel, options),
    send: (source, options) => send(channel, source, options),
    write: (data) => write(channel, data),
    end: Effect.sync(() => channel.end()),
    reset: (code, reason) => Effect.sync(() => channel.reset(code, reason)),
    closed: Effect.callback<void, RxmuxError>((resume) => {
      const sub = channel.closed$.subscribe(({ error }) => resume(error ? failWith(error) : Effect.void));
      return Effect.sync(() => sub.unsubscribe());
    }),
    stats: Effect.sync(() => channel.stats()),
  };
}

/**
 * Ties a channel to the current scope: when the scope closes with success the channel is ended (our FIN after every
 * queued byte; it closes fully once the peer's FIN arrives, or after the session's `closeTimeout`); when it closes
 * with a failure or an interruption the channel is reset (code 0, reason `scope failed` / `scope interrupted`).
 */
export function scopedChannel(channel: Channel): Effect.Effect<MuxChannel, never, Scope.Scope> {
  return Effect.as(
    Effect.addFinalizer((exit) =>
      Effect.sync(() => {
        if (channel.state === 'closed') return;
        if (Exit.isSuccess(exit)) channel.end();
        else channel.reset(0, Exit.hasInterrupts(exit) ? 'scope interrupted' : 'scope failed');
      }),
    ),
    wrapChannel(channel),
  );
}
