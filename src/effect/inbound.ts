// Owns a channel's inbound bytes as an Effect Stream where pulling is consuming: credit goes back only for pulled bytes.
// Also owns what happens when the stream stops before the peer's FIN (reset, or keep the channel as it is).
import { Cause, Effect, Stream } from 'effect';
import type { Channel } from '../index.js';
import { failWith, type RxmuxError } from './errors.js';

/** Options of {@link readable}. */
export interface ReadableOptions {
  /**
   * What stopping the stream before the peer's FIN does (the consumer was interrupted, or took what it needed, e.g.
   * `Stream.take`): `'reset'` (default) resets the channel with code 0 and reason `reader stopped`, so the peer stops
   * sending at once; `'keep'` leaves the channel as it is (another reader may go on from the next chunk). A stop while
   * a pull is waiting for bytes always resets: the chunk that pull would take cannot be put back.
   */
  readonly onStop?: 'reset' | 'keep';
}

/**
 * A channel's inbound bytes as a `Stream<Uint8Array, RxmuxError>`. Each pull takes one chunk with `channel.read()`;
 * only then does the chunk count as consumed and earn credit for the peer. A consumer that pulls slowly therefore holds
 * the peer at one receive window (256 KiB by default), and other channels are not slowed. The stream ends after the
 * peer's FIN and fails with the channel's error (`MuxResetError`, `MuxTimeoutError`, the session's error).
 * One reader at a time per channel (a second one fails with `MuxReadBusyError`).
 *
 * @example
 * ```ts
 * const text = yield* readable(channel).pipe(Stream.decodeText(), Stream.mkString);
 * ```
 */
export function readable(channel: Channel, options: ReadableOptions = {}): Stream.Stream<Uint8Array, RxmuxError> {
  const onStop = options.onStop ?? 'reset';
  return Stream.suspend(() => {
    let finished = false;
    let waiting = false;
    const pull: Effect.Effect<Uint8Array, RxmuxError | Cause.Done> = Effect.callback<Uint8Array, RxmuxError | Cause.Done>((resume) => {
      waiting = true;
      let abandoned = false;
      channel.read().then(
        (chunk) => {
          waiting = false;
          if (abandoned) return;
          if (chunk === null) {
            finished = true;
            resume(Cause.done());
          } else {
            resume(Effect.succeed(chunk));
          }
        },
        (error: unknown) => {
          waiting = false;
          finished = true;
          if (!abandoned) resume(failWith(error));
        },
      );
      return Effect.sync(() => {
        abandoned = true;
      });
    });
    return Stream.fromEffectRepeat(pull).pipe(
      Stream.onExit(() =>
        Effect.sync(() => {
          if (finished || channel.state === 'closed') return;
          if (onStop === 'reset' || waiting) channel.reset(0, 'reader stopped');
        }),
      ),
    );
  });
}
