// Owns the adapter from Effect's Socket (effect/socket: NodeSocket, WebSocket layers) to an rxmux Carrier.
// The carrier lives in the acquiring scope: closing it releases the socket's reader and writer.
import { Effect, Exit, Scope } from 'effect';
import type { Socket } from 'effect/socket';
import { Observable, Subject, type Subscriber } from 'rxjs';
import { MuxError, type Carrier } from '../index.js';
import { ClockScheduler } from './clock-scheduler.js';
import { fromMuxError, type MuxCarrierError } from './errors.js';

/** Options of {@link socketCarrier}. */
export interface SocketCarrierOptions {
  /**
   * Bytes written and not yet flushed by the socket's writer at which the carrier's `write` returns false (the session
   * then holds frames until `drain$`, which emits once that drops to half). Default 1048576 (1 MiB).
   */
  readonly highWaterMark?: number;
}

const encoder = new TextEncoder();

function carrierFailure(message: string, cause: unknown): MuxError {
  return new MuxError('ERR_MUX_CARRIER', message, { cause });
}

/** True when a SocketError is the peer's clean close (TCP end, WebSocket close 1000). */
function isCleanClose(error: Socket.SocketError): boolean {
  return error.reason._tag === 'SocketCloseError' && error.reason.code === 1000;
}

/**
 * An rxmux {@link Carrier} over an Effect `Socket`: acquiring it acquires the socket's reader (which connects) and
 * writer in the current scope; the carrier's `end()` releases the writer (a half-close where the transport has one),
 * `destroy()` releases both; closing the scope releases whatever is left.
 *
 * Reading: one fiber pulls batches and hands them to the session as they come (the session's credit bounds what the
 * peer may send). A clean close (`SocketCloseError` with code 1000: TCP end, WebSocket close 1000) completes
 * `incoming$`; any other `SocketError` errors it with `ERR_MUX_CARRIER` carrying the SocketError as `cause`
 * (`wireCode` = the close code). Writing: frames go to `writer.writeAll` in order, one batch at a time, and honour
 * its back-pressure through `highWaterMark` and `drain$`.
 *
 * @example
 * ```ts
 * import { NodeSocket } from '@effect/platform-node';
 * const carrier = yield* socketCarrier(yield* NodeSocket.makeNet({ host: '127.0.0.1', port: 7000 }));
 * ```
 *
 * @returns fails with `MuxCarrierError` when the socket cannot connect (`cause`: the SocketError).
 */
export const socketCarrier = (
  socket: Socket.Socket,
  options: SocketCarrierOptions = {},
): Effect.Effect<Carrier, MuxCarrierError, Scope.Scope> =>
  Effect.gen(function* () {
    const highWaterMark = options.highWaterMark ?? 1024 * 1024;
    const scope = yield* Effect.scope;
    const readerScope = yield* Scope.fork(scope);
    const writerScope = yield* Scope.fork(scope);
    const reader = yield* Scope.provide(socket.reader, readerScope).pipe(
      Effect.mapError((e) => fromMuxError(carrierFailure(`socket failed to open: ${e.message}`, e)) as MuxCarrierError),
    );
    const writer = yield* Scope.provide(socket.writer, writerScope);
    const fork = new ClockScheduler(yield* Effect.context<never>()).fork;

    let subscriber: Subscriber<Uint8Array> | undefined;
    let readFiber: ReturnType<typeof fork> | undefined;
    let pending: Uint8Array[] = [];
    let queued = 0;
    let writing = false;
    let saturated = false;
    let ending = false;
    let done = false;
    const drain$ = new Subject<void>();

    const fail = (error: MuxError): void => {
      const s = subscriber;
      subscriber = undefined;
      s?.error(error);
    };
    const release = (target: Scope.Closeable): void => void fork(Scope.close(target, Exit.void));

    const writeLoop: Effect.Effect<void> = Effect.suspend(() => {
      if (pending.length === 0 || done) {
        writing = false;
        if (ending && !done) release(writerScope);
        return Effect.void;
      }
      const batch = pending as [Uint8Array, ...Uint8Array[]];
      pending = [];
      let bytes = 0;
      for (const chunk of batch) bytes += chunk.byteLength;
      return writer.writeAll(batch).pipe(
        Effect.matchEffect({
          onFailure: (e) =>
            Effect.sync(() => {
              writing = false;
              pending = [];
              fail(carrierFailure(`socket write failed: ${e.message}`, e));
            }),
          onSuccess: () =>
            Effect.suspend(() => {
              queued -= bytes;
              if (saturated && queued <= highWaterMark / 2) {
                saturated = false;
                drain$.next();
              }
              return writeLoop;
            }),
        }),
      );
    });

    const incoming$ = new Observable<Uint8Array>((s) => {
      if (subscriber || readFiber) {
        s.error(new MuxError('ERR_MUX_READ_BUSY', 'socket carrier: incoming$ already has a subscriber'));
        return;
      }
      subscriber = s;
      const deliver = (batch: readonly (Uint8Array | string)[]): void => {
        for (const chunk of batch) subscriber?.next(typeof chunk === 'string' ? encoder.encode(chunk) : chunk);
      };
      readFiber = fork(
        Effect.forever(Effect.flatMap(reader.pull, (batch) => Effect.sync(() => deliver(batch)))).pipe(
          Effect.catch((e: Socket.SocketError) =>
            Effect.sync(() => {
              if (isCleanClose(e)) {
                const current = subscriber;
                subscriber = undefined;
                current?.complete();
              } else {
                const code = e.reason._tag === 'SocketCloseError' ? e.reason.code : undefined;
                fail(new MuxError('ERR_MUX_CARRIER', `socket failed: ${e.message}`, { cause: e, wireCode: code, remote: true }));
              }
            }),
          ),
        ),
      );
      return () => {
        subscriber = undefined;
        readFiber?.interruptUnsafe();
      };
    });

    const carrier: Carrier = {
      incoming$,
      drain$: drain$.asObservable(),
      write(chunks) {
        if (done || ending) return false;
        for (const chunk of chunks) {
          if (chunk.byteLength === 0) continue;
          pending.push(chunk);
          queued += chunk.byteLength;
        }
        if (!writing && pending.length > 0) {
          writing = true;
          fork(writeLoop);
        }
        if (queued >= highWaterMark) saturated = true;
        return !saturated;
      },
      end() {
        if (done || ending) return;
        ending = true;
        if (!writing) release(writerScope);
      },
      destroy() {
        if (done) return;
        done = true;
        pending = [];
        drain$.complete();
        release(writerScope);
        release(readerScope);
      },
    };
    return carrier;
  });
