// `channel.send(source)`: the pump from a push source (Observable, with an overflow strategy) or a pull source
// (Iterable / AsyncIterable, pulled only while the queue is under the high-water mark) into one channel.
import { isObservable, Observable, type Subscription } from 'rxjs';
import { MuxError } from '../errors.js';
import type { OverflowStrategy } from '../options.js';
import { toBytes } from '../util/bytes.js';
import type { ByteSource, SendOptions } from './types.js';

/** The channel as the pump sees it. */
export interface SendTarget {
  readonly id: number;
  readonly isClosed: boolean;
  write(data: Uint8Array | string): Promise<void>;
  end(): void;
  reset(code?: number, reason?: string): void;
  /** Why writes are refused now, if they are. */
  writeRefusal(): MuxError | undefined;
  /** Queues `bytes` from a push source under `strategy`. */
  pushWithOverflow(bytes: Uint8Array, strategy: OverflowStrategy): 'ok' | 'overflow' | 'dropped';
}

/**
 * Sends everything `source` yields into `target`, then (by default) closes the write side. Cold: nothing happens
 * until subscribed; completes when the last byte is queued; unsubscribing before that resets the channel.
 *
 * @example
 * ```ts
 * send(channel, from(['a', 'b']), { end: true }, 'error', 262144).subscribe();
 * ```
 * @param defaultOverflow the session's `overflow` option
 * @param highWaterMark bytes, for the overflow error's message
 */
export function send(
  target: SendTarget,
  source: ByteSource,
  options: SendOptions,
  defaultOverflow: OverflowStrategy,
  highWaterMark: number,
): Observable<never> {
  return new Observable<never>((subscriber) => {
    const end = options.end ?? true;
    let done = false;
    const finish = (): void => {
      done = true;
      if (end) target.end();
      subscriber.complete();
    };
    const fail = (e: unknown): void => {
      done = true;
      subscriber.error(e);
    };
    const refused = target.writeRefusal();
    if (refused) {
      fail(refused);
      return;
    }
    let inner: Subscription | undefined;
    if (isObservable(source)) {
      const strategy = options.overflow ?? defaultOverflow;
      inner = (source as Observable<Uint8Array | string>).subscribe({
        next: (value) => {
          if (done) return;
          let bytes: Uint8Array;
          try {
            bytes = toBytes(value);
          } catch (e) {
            target.reset(0, 'invalid chunk');
            fail(e);
            return;
          }
          const stop = target.writeRefusal();
          if (stop) return fail(stop);
          if (target.pushWithOverflow(bytes, strategy) === 'overflow') {
            const e = new MuxError('ERR_MUX_OVERFLOW', `channel ${target.id}: source outran the ${highWaterMark}-byte high-water mark`);
            target.reset(0, 'overflow');
            fail(e);
            inner?.unsubscribe();
          }
        },
        error: (e) => {
          if (done) return;
          target.reset(0, 'source failed');
          fail(e);
        },
        complete: () => {
          if (!done) finish();
        },
      });
    } else {
      void pump(target, source as AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>, () => done).then(
        () => {
          if (!done) finish();
        },
        (e) => {
          if (done) return;
          if (!target.isClosed) target.reset(0, 'source failed');
          fail(e);
        },
      );
    }
    return () => {
      inner?.unsubscribe();
      if (!done) {
        done = true;
        if (!target.isClosed) target.reset(0, 'send cancelled');
      }
    };
  });
}

/** Pulls a source only while the queue is under the high-water mark (each write is awaited). */
async function pump(
  target: SendTarget,
  source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  stopped: () => boolean,
): Promise<void> {
  if (!(Symbol.asyncIterator in source)) {
    const it = source[Symbol.iterator]();
    for (let r = it.next(); !r.done; r = it.next()) {
      await target.write(r.value);
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
    await target.write(r.value);
  }
}
