// The WebSocket carrier's public face: what it needs from a socket (browser WebSocket or the ws package),
// its options, and the factory that checks them. The carrier itself is in websocket-carrier.ts.
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import type { Carrier } from '../carrier.js';
import { MuxError, MuxErrorCodes } from '../errors.js';
import { checkOptionsObject, intOption, oneOfOption, schedulerOption } from '../util/validate.js';
import { WebSocketCarrier } from './websocket-carrier.js';

/**
 * What {@link websocketCarrier} needs from a WebSocket: the browser `WebSocket` and the `ws` package's `WebSocket`
 * both fit (duck-typed; nothing is imported).
 */
export interface WebSocketLike {
  /** Set to `'arraybuffer'` by the carrier. */
  binaryType: string;
  /** 0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED. */
  readonly readyState: number;
  /** Bytes queued by `send` and not yet transmitted. */
  readonly bufferedAmount: number;
  /**
   * Sends one binary message. The `ws` package also calls `cb` once the bytes are written out.
   * (`Uint8Array<ArrayBuffer>` so that the DOM's `send(data: BufferSource | ...)` fits.)
   */
  send(data: Uint8Array<ArrayBuffer>, cb?: (err?: Error) => void): void;
  /** Starts the closing handshake with a close code (1000 normal, 3000-4999 application) and a reason. */
  close(code?: number, reason?: string): void;
  /** Listens for `'open'`, `'message'` (`{ data }`), `'close'` (`{ code, reason }`) and `'error'` events. */
  // biome-ignore lint/suspicious/noExplicitAny: the DOM WebSocket's and ws's listener signatures differ; both must be assignable
  addEventListener(type: string, listener: (event: any) => void): void;
  /** Removes a listener added with `addEventListener`. */
  // biome-ignore lint/suspicious/noExplicitAny: the DOM WebSocket's and ws's listener signatures differ; both must be assignable
  removeEventListener(type: string, listener: (event: any) => void): void;
  /** The `ws` package's abrupt close (destroys the socket). Used by `destroy()` when present. */
  terminate?(): void;
}

/** Options of {@link websocketCarrier}. */
export interface WebSocketCarrierOptions {
  /**
   * `write` returns false once `bufferedAmount` exceeds this many bytes after a send; `drain$` then emits when it
   * is down to half of it or less. Bytes written while the socket is still CONNECTING count too. Integer >= 1.
   * Default 1048576 (1 MiB).
   */
  readonly highWaterMark?: number;
  /** How often a saturated carrier checks `bufferedAmount`, in ms of `scheduler` (polling mode). Integer >= 1. Default 10. */
  readonly pollInterval?: number;
  /** Scheduler of the polling timer. Default `asyncScheduler` (pass a `TestScheduler` in virtual-time tests). */
  readonly scheduler?: SchedulerLike;
  /**
   * How `drain$` learns that the socket took the bytes: `'poll'` reads `bufferedAmount` every `pollInterval` ms;
   * `'send-callback'` uses the `ws` package's `send(data, cb)` callbacks (no timer); `'auto'` (default) uses the
   * callbacks when the socket looks like the `ws` package's (it has `terminate()`), polling otherwise.
   */
  readonly drain?: 'auto' | 'poll' | 'send-callback';
}

/**
 * Wraps a WebSocket (browser `WebSocket`, or the `ws` package's in Node) as a {@link Carrier}: one binary message
 * per `write` (several chunks are joined into one message). The carrier owns the socket.
 *
 * - The socket may still be CONNECTING: writes are queued (and count against the high-water mark) and sent on `open`.
 * - `incoming$` (one subscription; a second errors with ERR_MUX_READ_BUSY): each binary message as a `Uint8Array`.
 *   Messages that arrive before the subscription are held until it comes. Completes on a close with code 1000.
 *   A close with 1001 ("going away": a browser tab closing, a server shutting down) is a normal end too: it emits a
 *   yamux GoAway(0) frame (12 bytes) and completes, so the session above ends cleanly (`closed$` with no error; its
 *   open channels fail with ERR_MUX_SESSION_CLOSED).
 *   Errors with ERR_MUX_CARRIER on an `error` event, on any other close code (the message names the code and the
 *   reason; `wireCode` holds the code, `reason` the reason), and on a text message. Completes after this side's
 *   own `destroy()`.
 * - `write(chunks)`: returns false when `bufferedAmount` (or the bytes queued while connecting) exceeds
 *   `highWaterMark`; `drain$` emits once it is down to `highWaterMark / 2`. Writes after `end()`/`destroy()` or
 *   once the socket is closing are ignored and return false.
 * - `end()`: `close(1000)` once everything written has been handed to the socket (WebSockets cannot half-close:
 *   the peer's close answer ends both directions). `destroy(error?)`: `terminate()` when the socket has it (the
 *   `ws` package), otherwise `close(1000)`, or `close(4000)` when there is an error.
 *
 * @example
 * ```ts
 * import { multiplex } from 'rxmux';
 * import { websocketCarrier } from 'rxmux/web';
 * multiplex(websocketCarrier(new WebSocket('wss://example.com/mux')), { role: 'client' }).subscribe((session) => {
 *   session.open({ meta: 'quotes' }).subscribe((channel) => channel.incoming$.subscribe(render));
 * });
 * ```
 *
 * @throws MuxError ERR_MUX_INVALID_ARGUMENT when `ws` is not WebSocket-like, ERR_MUX_INVALID_OPTION for a bad option.
 */
export function websocketCarrier(ws: WebSocketLike, options: WebSocketCarrierOptions = {}): Carrier {
  if (
    ws === null ||
    typeof ws !== 'object' ||
    typeof ws.send !== 'function' ||
    typeof ws.close !== 'function' ||
    typeof ws.addEventListener !== 'function' ||
    typeof ws.readyState !== 'number'
  ) {
    throw new MuxError(MuxErrorCodes.INVALID_ARGUMENT, 'websocketCarrier: expected a WebSocket (browser WebSocket or the ws package)');
  }
  checkOptionsObject('websocketCarrier', options);
  const highWaterMark = intOption('websocketCarrier', 'highWaterMark', options.highWaterMark, 1024 * 1024, 1);
  const pollInterval = intOption('websocketCarrier', 'pollInterval', options.pollInterval, 10, 1);
  const scheduler = schedulerOption('websocketCarrier', options.scheduler, asyncScheduler);
  const mode = oneOfOption('websocketCarrier', 'drain', options.drain, ['auto', 'poll', 'send-callback'], 'auto');
  const callbacks = mode === 'send-callback' || (mode === 'auto' && typeof ws.terminate === 'function');
  return new WebSocketCarrier(ws, highWaterMark, pollInterval, scheduler, callbacks);
}
