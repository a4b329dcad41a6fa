// Owns a channel's outbound side in Effect terms: write (waits on the queue/credit), a Sink, and send(stream).
// Also owns what interrupting a writer does: the channel is reset, as unsubscribing from send() does on the RxJS side.
import { Effect, Exit, Sink, Stream } from 'effect';
import type { Channel } from '../index.js';
import { failWith, type RxmuxError } from './errors.js';

/** Options of {@link writable} and {@link send}. */
export interface WritableOptions {
  /** Half-close the channel (FIN after every queued byte) when the source ends. Default true. */
  readonly end?: boolean;
}

/** Resets `channel` unless it already ended: the reaction to an interrupted or failed writer. */
function abort(channel: Channel, reason: string): void {
  if (channel.state !== 'closed' && !channel.stats().writeClosed) channel.reset(0, reason);
}

/**
 * Queues bytes (a string is sent as UTF-8) and succeeds once the channel's queue is under its high-water mark
 * (256 KiB by default): while the peer grants no credit, the fiber waits here. Fails with `MuxWriteClosedError` after
 * `end`, `MuxResetError` after a reset, or the session's error. Interrupting a waiting write resets the channel
 * (code 0, reason `writer interrupted`): the bytes are queued already and would otherwise still go out.
 *
 * @example
 * ```ts
 * yield* write(channel, 'hello\n');
 * ```
 */
export function write(channel: Channel, data: Uint8Array | string): Effect.Effect<void, RxmuxError> {
  return Effect.callback<void, RxmuxError>((resume) => {
    let settled = false;
    channel.write(data).then(
      () => {
        settled = true;
        resume(Effect.void);
      },
      (error: unknown) => {
        settled = true;
        resume(failWith(error));
      },
    );
    return Effect.sync(() => {
      if (!settled) abort(channel, 'writer interrupted');
    });
  });
}

/**
 * A `Sink` that writes every element to the channel, each one waiting on {@link write} (so a stream run into it is
 * pulled only as fast as the peer's credit allows), then half-closes it (FIN) when the stream ends (unless `end` is
 * false). If the run is interrupted, or the stream fails, the channel is reset (code 0, reason `writer interrupted`
 * or `source failed`) so the peer does not take a cut-short stream for a whole one.
 *
 * @example
 * ```ts
 * yield* Stream.make('a', 'b').pipe(Stream.run(writable(channel)));
 * ```
 */
export function writable(channel: Channel, options: WritableOptions = {}): Sink.Sink<void, Uint8Array | string, never, RxmuxError> {
  const end = options.end ?? true;
  // biome-ignore lint/suspicious/useIterableCallbackReturn: Effect's Sink.forEach runs an Effect per element; its result is that Effect
  return Sink.forEach((chunk: Uint8Array | string) => write(channel, chunk)).pipe(
    Sink.onExit((exit) =>
      Effect.sync(() => {
        if (Exit.isSuccess(exit)) {
          if (end) channel.end();
        } else {
          abort(channel, Exit.hasInterrupts(exit) ? 'writer interrupted' : 'source failed');
        }
      }),
    ),
  );
}

/**
 * Sends a whole stream: every element through {@link writable}, then the FIN (unless `end` is false). Succeeds when
 * the last byte is queued. A failing source fails the Effect with its own error and resets the channel (reason
 * `source failed`); interruption resets it (reason `writer interrupted`).
 *
 * @example
 * ```ts
 * yield* send(channel, readable(channel)); // echo
 * ```
 */
export function send<E, R>(
  channel: Channel,
  source: Stream.Stream<Uint8Array | string, E, R>,
  options: WritableOptions = {},
): Effect.Effect<void, RxmuxError | E, R> {
  const end = options.end ?? true;
  return Stream.runForEach(source, (chunk) => write(channel, chunk)).pipe(
    Effect.onExit((exit) =>
      Effect.sync(() => {
        if (Exit.isSuccess(exit)) {
          if (end) channel.end();
        } else {
          abort(channel, Exit.hasInterrupts(exit) ? 'writer interrupted' : 'source failed');
        }
      }),
    ),
  );
}
