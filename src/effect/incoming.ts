// Owns the peer's opens in Effect terms: a Stream of requests, each answered with a scoped accept or a reject.
// Pulling the stream is what takes a request: while nobody pulls, the session's accept backlog holds them.
import { Cause, Effect, Stream, type Scope } from 'effect';
import { take } from 'rxjs';
import type { AcceptOptions, IncomingChannel, Session } from '../index.js';
import { scopedChannel, type MuxChannel } from './channel.js';
import { failWith, type RxmuxError } from './errors.js';

/**
 * An open request from the peer. Answer each one: accept or reject (an unanswered open waits until the opener's open
 * timeout, 75 s by default).
 *
 * @example
 * ```ts
 * const channel = yield* request.accept({ meta: 'welcome' });
 * ```
 */
export interface MuxIncoming {
  /** The rxmux request underneath (RxJS API). */
  readonly request: IncomingChannel;
  /** The stream id the peer opened. */
  readonly id: number;
  /** The opener's metadata (empty in the yamux profile). */
  readonly meta: Uint8Array;
  /** The opener's metadata as UTF-8 text. */
  readonly metaText: string;
  /**
   * Accepts: the opener's open succeeds with our reply metadata (`meta`, at most `maxMetadata` bytes), and the channel
   * lives in the current scope (ended when the scope closes with success, reset on failure or interruption).
   */
  accept(options?: AcceptOptions): Effect.Effect<MuxChannel, never, Scope.Scope>;
  /** Refuses: the opener's open fails with `MuxRejectedError` carrying `reason` and `code` (u32; rxmux profile). */
  reject(reason?: string, code?: number): Effect.Effect<void>;
}

const decoder = new TextDecoder();

function wrapIncoming(request: IncomingChannel): MuxIncoming {
  return {
    request,
    id: request.id,
    meta: request.meta,
    metaText: decoder.decode(request.meta),
    accept: (options) => Effect.suspend(() => scopedChannel(request.accept(options))),
    reject: (reason, code) => Effect.sync(() => request.reject(reason, code)),
  };
}

/**
 * The next open from the peer: subscribes to `session.incoming$` for one request only, so requests not yet pulled wait
 * in the session's accept backlog (default 256; past it the session answers RST). Fails with `Cause.Done` once the
 * session ended cleanly. The fiber resumes only once that subscription is torn down: a consumer that pulls again at
 * once (the resume may run synchronously) then finds `incoming$` free, not busy.
 */
function nextIncoming(session: Session): Effect.Effect<MuxIncoming, RxmuxError | Cause.Done> {
  return Effect.callback<MuxIncoming, RxmuxError | Cause.Done>((resume) => {
    let outcome: Effect.Effect<MuxIncoming, RxmuxError | Cause.Done> | undefined;
    let interrupted = false;
    const sub = session.incoming$.pipe(take(1)).subscribe({
      next: (request) => {
        outcome = Effect.succeed(wrapIncoming(request));
      },
      error: (error: unknown) => {
        outcome = failWith(error);
      },
      complete: () => {
        outcome ??= Cause.done();
      },
    });
    // Runs after take's own teardown (added first), i.e. once the session no longer counts us as its acceptor.
    sub.add(() => {
      if (!interrupted && outcome) resume(outcome);
    });
    return Effect.sync(() => {
      interrupted = true;
      sub.unsubscribe();
    });
  });
}

/**
 * The peer's opens as a Stream: ends when the session closes cleanly, fails with the session's error. One reader of a
 * session's opens at a time (`MuxReadBusyError`).
 *
 * @example
 * ```ts
 * yield* incomingRequests(session).pipe(
 *   Stream.mapEffect((request) => Effect.scoped(Effect.flatMap(request.accept(), (ch) => ch.send(ch.stream))), { concurrency: 'unbounded' }),
 *   Stream.runDrain,
 * );
 * ```
 */
export function incomingRequests(session: Session): Stream.Stream<MuxIncoming, RxmuxError> {
  return Stream.fromEffectRepeat(nextIncoming(session));
}
