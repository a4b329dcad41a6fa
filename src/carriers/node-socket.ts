// The Node socket carrier (net.Socket, tls.TLSSocket, any Duplex): reads as incoming$, batched writes that
// copy small batches and cork larger ones, drain$ from 'drain', end/destroy.
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { Observable } from 'rxjs';
import type { Carrier } from '../carrier.js';
import { MuxError, MuxErrorCodes } from '../errors.js';

/** Options of {@link socketCarrier}. */
export interface SocketCarrierOptions {
  /**
   * Disable Nagle's algorithm (`socket.setNoDelay(true)`) when the socket has `setNoDelay` (a `net.Socket` or
   * `tls.TLSSocket`), so small control frames (pings, window updates) are not held back. Default: `true`.
   */
  readonly noDelay?: boolean;
}

/**
 * Wraps a Node `net.Socket` (or any binary `stream.Duplex`) as a {@link Carrier}. The carrier owns the socket.
 *
 * - `incoming$` (one subscription; a second one errors with `ERR_MUX_READ_BUSY`): the socket is paused at
 *   construction and resumed on subscribe, so no byte is lost in between; each `'data'` Buffer is emitted as a
 *   plain `Uint8Array` view of the same memory (no copy). Completes on `'end'`. Errors with
 *   `MuxError('ERR_MUX_CARRIER', { cause })` on `'error'`, and with `ERR_MUX_CARRIER` "carrier closed before end"
 *   when the socket closes without `'end'` and without an error (an abrupt close). Completes when the close was
 *   caused by this carrier's own `destroy()`. Unsubscribing removes its listeners and pauses the socket.
 * - `write(chunks)`: one chunk → `socket.write`; several of at most 16 KiB together → copied into one Buffer and
 *   one `socket.write` (cheaper than Node's writev path for a message and its header); more → `cork()`, write each,
 *   `uncork()` so Node gathers them into one `writev`. Returns the last `socket.write` result: false means saturated, wait for `drain$`.
 *   After `end()`/`destroy()` (or once the socket is no longer writable) writes are ignored and return false.
 * - `drain$`: the socket's `'drain'` events; completes when the socket closes (or at once if it is not writable).
 * - `end()` → `socket.end()` (flushes, then FIN). `destroy(err?)` → `socket.destroy()` (the error is not passed to
 *   the socket: it is the caller's, not the carrier's).
 *
 * Half-close: `net` sockets default to `allowHalfOpen: false`, so when the peer ends, Node ends this side too.
 * Create both server and client with `allowHalfOpen: true` if one side must keep writing after the other ended.
 *
 * A persistent `'error'` listener is attached at construction, so a socket error never crashes the process; an
 * error that happens before `incoming$` is subscribed is reported on subscription.
 *
 * @example
 * ```ts
 * import { connect } from 'node:net';
 * import { socketCarrier } from 'rxmux/node';
 * const carrier = socketCarrier(connect(port, '127.0.0.1'));
 * ```
 *
 * @throws MuxError `ERR_MUX_INVALID_ARGUMENT` if `socket` is not a Duplex-like stream, `ERR_MUX_INVALID_OPTION`
 * for a bad option.
 */
export function socketCarrier(socket: Socket | Duplex, options: SocketCarrierOptions = {}): Carrier {
  if (
    socket === null ||
    typeof socket !== 'object' ||
    typeof socket.on !== 'function' ||
    typeof socket.write !== 'function' ||
    typeof socket.pause !== 'function' ||
    typeof socket.resume !== 'function' ||
    typeof socket.destroy !== 'function'
  ) {
    throw new MuxError(MuxErrorCodes.INVALID_ARGUMENT, 'socketCarrier: socket must be a net.Socket or stream.Duplex');
  }
  if (options === null || typeof options !== 'object') {
    throw new MuxError(MuxErrorCodes.INVALID_OPTION, 'socketCarrier: options must be an object');
  }
  const noDelay = options.noDelay ?? true;
  if (typeof noDelay !== 'boolean') {
    throw new MuxError(MuxErrorCodes.INVALID_OPTION, `socketCarrier: option "noDelay" must be a boolean, got ${String(noDelay)}`);
  }
  return new SocketCarrier(socket, noDelay);
}

function carrierError(cause: unknown): MuxError {
  const detail = cause instanceof Error ? cause.message : String(cause);
  return new MuxError(MuxErrorCodes.CARRIER, `carrier error: ${detail}`, { cause });
}

function closedBeforeEnd(): MuxError {
  return new MuxError(MuxErrorCodes.CARRIER, 'carrier closed before end');
}

/** Batches up to this many bytes are copied into one buffer and written with one call; larger ones go as writev. */
const COPY_LIMIT = 16 * 1024;

class SocketCarrier implements Carrier {
  readonly incoming$: Observable<Uint8Array>;
  readonly drain$: Observable<void>;

  private subscribed = false;
  private firstError: { readonly error: unknown } | undefined;
  private closed = false;
  private destroyedLocally = false;

  constructor(
    private readonly socket: Socket | Duplex,
    noDelay: boolean,
  ) {
    // Persistent: records the first error and keeps an unhandled 'error' event from crashing the process.
    socket.on('error', (error: unknown) => {
      this.firstError ??= { error };
    });
    socket.on('close', () => {
      this.closed = true;
    });
    socket.pause();
    if (noDelay && typeof (socket as Socket).setNoDelay === 'function') {
      (socket as Socket).setNoDelay(true);
    }

    this.incoming$ = new Observable<Uint8Array>((subscriber) => {
      if (this.subscribed) {
        subscriber.error(new MuxError(MuxErrorCodes.READ_BUSY, 'socket carrier: incoming$ can be subscribed only once'));
        return;
      }
      this.subscribed = true;
      if (this.firstError !== undefined) {
        subscriber.error(carrierError(this.firstError.error));
        return;
      }
      if (socket.readableEnded) {
        subscriber.complete();
        return;
      }
      if (this.closed || socket.destroyed) {
        if (this.destroyedLocally) subscriber.complete();
        else subscriber.error(closedBeforeEnd());
        return;
      }
      const onData = (chunk: Buffer | string): void => {
        if (typeof chunk === 'string') {
          subscriber.error(
            new MuxError(
              MuxErrorCodes.CARRIER,
              'socket carrier: the socket delivers strings (setEncoding was called); binary data is required',
            ),
          );
          return;
        }
        subscriber.next(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
      };
      const onEnd = (): void => subscriber.complete();
      const onError = (error: unknown): void => subscriber.error(carrierError(error));
      const onClose = (): void => {
        if (this.firstError !== undefined) subscriber.error(carrierError(this.firstError.error));
        else if (this.destroyedLocally) subscriber.complete();
        else subscriber.error(closedBeforeEnd());
      };
      socket.on('data', onData);
      socket.on('end', onEnd);
      socket.on('error', onError);
      socket.on('close', onClose);
      socket.resume();
      return () => {
        socket.off('data', onData);
        socket.off('end', onEnd);
        socket.off('error', onError);
        socket.off('close', onClose);
        if (!socket.destroyed) socket.pause();
      };
    });

    this.drain$ = new Observable<void>((subscriber) => {
      if (socket.destroyed || !socket.writable) {
        subscriber.complete();
        return;
      }
      const onDrain = (): void => subscriber.next();
      const onClose = (): void => subscriber.complete();
      socket.on('drain', onDrain);
      socket.on('close', onClose);
      return () => {
        socket.off('drain', onDrain);
        socket.off('close', onClose);
      };
    });
  }

  write(chunks: readonly Uint8Array[]): boolean {
    const socket = this.socket;
    if (this.destroyedLocally || socket.destroyed || !socket.writable) return false;
    const n = chunks.length;
    if (n === 1) return socket.write(chunks[0]!);
    let ok = !socket.writableNeedDrain;
    if (n === 0) return ok;
    let total = 0;
    for (let i = 0; i < n && total <= COPY_LIMIT; i++) total += chunks[i]!.byteLength;
    if (total <= COPY_LIMIT) {
      // Small batches (a message and its header, a few control frames): one copied buffer and one plain write cost
      // less than Node's writev path (per-chunk bookkeeping, and a costlier syscall on loopback).
      const one = Buffer.allocUnsafe(total);
      let at = 0;
      for (let i = 0; i < n; i++) {
        const c = chunks[i]!;
        one.set(c, at);
        at += c.byteLength;
      }
      return socket.write(one);
    }
    socket.cork();
    try {
      for (const chunk of chunks) {
        if (chunk.byteLength > 0) ok = socket.write(chunk);
      }
    } finally {
      socket.uncork();
    }
    return ok;
  }

  end(): void {
    const socket = this.socket;
    if (!this.destroyedLocally && !socket.destroyed && !socket.writableEnded) socket.end();
  }

  destroy(_error?: unknown): void {
    if (this.destroyedLocally) return;
    this.destroyedLocally = true;
    if (!this.socket.destroyed) this.socket.destroy();
  }
}
