// The WebSocket carrier: one binary message per write, drain$ from send callbacks or bufferedAmount polling,
// close codes mapped to a clean end (1000, 1001 as GoAway(0)) or ERR_MUX_CARRIER.
import { Observable, Subject, type SchedulerAction, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
import type { Carrier } from '../carrier.js';
import { MuxError, MuxErrorCodes } from '../errors.js';
import { concatBytes } from '../util/bytes.js';

import type { WebSocketLike } from './websocket.js';

const CONNECTING = 0;
const OPEN = 1;
/** Close code of a normal closure. */
const NORMAL = 1000;
/** Close code of an endpoint going away (a browser tab closing or navigating, a server shutting down). */
const GOING_AWAY = 1001;
/** yamux GoAway(0), normal termination: what a close with 1001 means to the session above. */
const GOAWAY_NORMAL = Uint8Array.of(0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
/** Close code sent by `destroy(error)` when the socket has no `terminate()` (browsers allow only 1000 and 3000-4999). */
const DESTROYED = 4000;

function join(chunks: readonly Uint8Array[]): Uint8Array {
  let nonEmpty: Uint8Array | undefined;
  let count = 0;
  for (const c of chunks) {
    if (c.byteLength === 0) continue;
    nonEmpty = c;
    count++;
  }
  return count <= 1 ? (nonEmpty ?? new Uint8Array(0)) : concatBytes(chunks);
}

export class WebSocketCarrier implements Carrier {
  readonly incoming$: Observable<Uint8Array>;
  readonly drain$: Observable<void>;

  private readonly drains = new Subject<void>();
  private reader: Subscriber<Uint8Array> | undefined;
  private subscribed = false;
  /** Messages received before `incoming$` was subscribed. */
  private early: Uint8Array[] | undefined = [];
  /** How the socket ended, once it did (kept for a late subscriber). */
  private terminal: { error: MuxError | undefined } | undefined;
  /** Messages written while CONNECTING. */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private saturated = false;
  /** Sends whose ws callback has not come yet (send-callback mode). */
  private outstanding = 0;
  private released = false;
  private endRequested = false;
  private destroyedLocally = false;
  private poller: Subscription | undefined;
  private readonly lowWaterMark: number;

  constructor(
    private readonly ws: WebSocketLike,
    private readonly highWaterMark: number,
    private readonly pollInterval: number,
    private readonly scheduler: SchedulerLike,
    private readonly callbacks: boolean,
  ) {
    this.lowWaterMark = Math.floor(highWaterMark / 2);
    ws.binaryType = 'arraybuffer';
    // Listeners stay for the socket's life: the ws package throws an 'error' event that has no listener.
    ws.addEventListener('message', (event: { data: unknown }) => this.onMessage(event.data));
    ws.addEventListener('open', () => this.onOpen());
    ws.addEventListener('error', (event: { message?: string; error?: unknown }) => {
      const detail = event?.message || (event?.error instanceof Error ? event.error.message : '') || 'error event';
      this.terminate(new MuxError(MuxErrorCodes.CARRIER, `websocket error: ${detail}`, { cause: event?.error ?? event }));
    });
    ws.addEventListener('close', (event: { code?: number; reason?: string }) => this.onClose(event?.code ?? 1005, event?.reason ?? ''));
    if (ws.readyState > OPEN) {
      this.terminate(new MuxError(MuxErrorCodes.CARRIER, 'websocket is already closing or closed'));
    }

    this.incoming$ = new Observable<Uint8Array>((subscriber) => {
      if (this.subscribed) {
        subscriber.error(new MuxError(MuxErrorCodes.READ_BUSY, 'websocket carrier: incoming$ can be subscribed only once'));
        return;
      }
      this.subscribed = true;
      const early = this.early ?? [];
      this.early = undefined;
      for (const m of early) {
        if (subscriber.closed) return;
        subscriber.next(m);
      }
      if (this.terminal) {
        const { error } = this.terminal;
        error ? subscriber.error(error) : subscriber.complete();
        return;
      }
      this.reader = subscriber;
      return () => {
        if (this.reader === subscriber) this.reader = undefined;
      };
    });
    this.drain$ = this.drains.asObservable();
  }

  write(chunks: readonly Uint8Array[]): boolean {
    if (this.released || this.terminal || this.ws.readyState > OPEN) return false;
    const data = join(chunks);
    if (data.byteLength === 0) return !this.saturated;
    if (this.ws.readyState === CONNECTING) {
      this.pending.push(data);
      this.pendingBytes += data.byteLength;
      if (this.pendingBytes > this.highWaterMark) this.saturated = true;
      return !this.saturated;
    }
    if (!this.send(data)) return false;
    if (this.ws.bufferedAmount > this.highWaterMark) {
      this.saturate();
      return false;
    }
    return !this.saturated;
  }

  end(): void {
    if (this.released) return;
    this.released = true;
    if (this.terminal) return;
    if (this.ws.readyState === CONNECTING) {
      this.endRequested = true;
      return;
    }
    this.stopPolling();
    this.safeClose(NORMAL);
  }

  destroy(error?: unknown): void {
    if (this.destroyedLocally) return;
    this.destroyedLocally = true;
    this.released = true;
    this.pending = [];
    this.stopPolling();
    const ws = this.ws;
    if (this.terminal && ws.readyState > OPEN) return;
    try {
      if (typeof ws.terminate === 'function') ws.terminate();
      else if (error === undefined) ws.close(NORMAL);
      else ws.close(DESTROYED, 'rxmux: carrier destroyed');
    } catch {
      // Closing a socket that is already gone: nothing to release.
    }
  }

  // ---------------------------------------------------------------- events

  private onMessage(data: unknown): void {
    if (this.terminal) return;
    let bytes: Uint8Array;
    // (Checked by tag, not instanceof: an ArrayBuffer from another realm, e.g. an iframe or a vm context, is fine too.)
    if (Object.prototype.toString.call(data) === '[object ArrayBuffer]') bytes = new Uint8Array(data as ArrayBuffer);
    else if (ArrayBuffer.isView(data)) bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    else {
      const what = typeof data === 'string' ? 'a text message' : 'a message that is not an ArrayBuffer (binaryType could not be set)';
      this.terminate(new MuxError(MuxErrorCodes.CARRIER, `websocket carrier: received ${what}; rxmux needs binary messages`));
      if (!this.destroyedLocally) this.safeClose(1003, 'rxmux: binary messages only');
      return;
    }
    if (this.reader) this.reader.next(bytes);
    else if (this.early) this.early.push(bytes);
  }

  private onOpen(): void {
    if (this.destroyedLocally || this.terminal) return;
    const pending = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    for (const m of pending) if (!this.send(m)) return;
    if (this.endRequested) {
      this.safeClose(NORMAL);
      return;
    }
    if (this.saturated) {
      if (this.ws.bufferedAmount <= this.lowWaterMark) this.drained();
      else this.saturate();
    }
  }

  private onClose(code: number, reason: string): void {
    if (code === GOING_AWAY && !this.destroyedLocally && !this.terminal) {
      // The peer went away (a tab closing, a server shutting down): for the session this is GoAway(0), then the end.
      if (this.reader) this.reader.next(GOAWAY_NORMAL.slice());
      else this.early?.push(GOAWAY_NORMAL.slice());
      this.terminate(undefined);
    } else if (code === NORMAL || this.destroyedLocally) this.terminate(undefined);
    else {
      const text = `websocket closed with code ${code}${reason ? `: ${reason}` : ''}`;
      this.terminate(new MuxError(MuxErrorCodes.CARRIER, text, { wireCode: code, ...(reason ? { reason } : {}) }));
    }
  }

  /** The socket ended (error, close or bad input): reports it once, stops timers, completes drain$. */
  private terminate(error: MuxError | undefined): void {
    if (this.terminal) return;
    const reported = this.destroyedLocally ? undefined : error;
    this.terminal = { error: reported };
    this.stopPolling();
    this.pending = [];
    const reader = this.reader;
    this.reader = undefined;
    if (reader) reported ? reader.error(reported) : reader.complete();
    this.drains.complete();
  }

  // ---------------------------------------------------------------- sending and drain

  private send(data: Uint8Array): boolean {
    try {
      // Carrier chunks live in ArrayBuffers (socket, WebSocket and user buffers), never in a SharedArrayBuffer.
      const message = data as Uint8Array<ArrayBuffer>;
      if (this.callbacks) {
        this.outstanding++;
        this.ws.send(message, () => this.afterSend());
      } else this.ws.send(message);
      return true;
    } catch (e) {
      this.terminate(
        new MuxError(MuxErrorCodes.CARRIER, `websocket send failed: ${e instanceof Error ? e.message : String(e)}`, { cause: e }),
      );
      return false;
    }
  }

  private saturate(): void {
    this.saturated = true;
    if (!this.callbacks) this.startPolling();
  }

  /** ws package: a send's bytes were written out. */
  private afterSend(): void {
    this.outstanding--;
    if (!this.saturated || this.terminal || this.ws.readyState !== OPEN) return;
    // Every send written out means nothing is left to wait for, whatever bufferedAmount says.
    if (this.outstanding <= 0 || this.ws.bufferedAmount <= this.lowWaterMark) this.drained();
  }

  private drained(): void {
    this.saturated = false;
    this.stopPolling();
    this.drains.next();
  }

  private startPolling(): void {
    if (this.poller) return;
    this.poller = this.scheduler.schedule(
      function (this: SchedulerAction<WebSocketCarrier>, self) {
        const carrier = self!;
        if (!carrier.saturated || carrier.terminal) {
          carrier.poller = undefined;
          return;
        }
        if (carrier.ws.bufferedAmount <= carrier.lowWaterMark) {
          carrier.poller = undefined;
          carrier.drained();
          return;
        }
        this.schedule(carrier, carrier.pollInterval);
      },
      this.pollInterval,
      this,
    );
  }

  private stopPolling(): void {
    this.poller?.unsubscribe();
    this.poller = undefined;
  }

  private safeClose(code: number, reason?: string): void {
    try {
      this.ws.close(code, reason);
    } catch {
      // Already closed.
    }
  }
}
