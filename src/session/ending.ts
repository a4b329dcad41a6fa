// How a session ends: graceful close (every FIN out, then GoAway, bounded by shutdownTimeout), destroy, GoAway both
// ways, fatal errors, the carrier's end or failure, and the one finish that releases everything.
import { MuxError } from '../errors.js';
import { FrameType, GoAwayCode } from '../frame/constants.js';
import { OnceSignal } from '../util/signal.js';
import type { Subscription } from 'rxjs';
import type { SessionImpl } from './session.js';
import type { CloseOptions, SessionEnd } from './types.js';

/** The session's ending. */
export class Ending {
  closing: Promise<void> | undefined;
  sentGoAway = false;
  readonly ended = new OnceSignal<SessionEnd>();
  /** The peer's GoAway code, or -1 when the session ended without one. */
  readonly goneAway = new OnceSignal<number>();
  /** Set once close() has queued every FIN and RST (the GoAway follows once they are out). */
  private closeArmed = false;
  /** close({ channels: 'end' }): channels still open at the end close cleanly. */
  private endChannels = false;
  private shutdownTimer: Subscription | undefined;

  constructor(private readonly s: SessionImpl) {}

  /** See {@link Session.goAway}. */
  goAway(): void {
    const s = this.s;
    if (s.isClosed || this.sentGoAway) return;
    this.sentGoAway = true;
    s.controls.queue(FrameType.GoAway, 0, 0, GoAwayCode.Normal);
    s.flush();
  }

  /** See {@link Session.close}. */
  close(options: CloseOptions): Promise<void> {
    const s = this.s;
    if (this.closing) return this.closing;
    if (s.isClosed) return Promise.resolve();
    const mode = options.channels ?? 'fail';
    if (mode !== 'fail' && mode !== 'end') {
      return Promise.reject(new MuxError('ERR_MUX_INVALID_ARGUMENT', `close: channels: expected 'fail' or 'end', got ${String(mode)}`));
    }
    this.endChannels = mode === 'end';
    this.closing = new Promise<void>((resolve) => {
      this.ended.observable.subscribe(() => resolve());
    });
    for (const ch of s.channelImpls()) {
      if (ch.state === 'open' || (this.endChannels && ch.heldOpening)) ch.end();
      else ch.abort(0, 'session closing', this.sessionClosed());
    }
    // The GoAway(0) is queued by closeIfFlushed once every channel's bytes and FIN are out: as a control frame
    // queued now, it would overtake them.
    if (s.isClosed) return this.closing;
    this.shutdownTimer = s.scheduler.schedule(() => {
      // Bytes still queued (the peer gave no credit): tell the peer, and fail what is left with a timeout.
      if (!this.sentGoAway) this.forceGoAway(GoAwayCode.Normal);
      const timeout = new MuxError('ERR_MUX_TIMEOUT', `close() gave up after ${s.options.shutdownTimeout} ms with bytes still queued`);
      this.finish(undefined, 'end', timeout);
    }, s.options.shutdownTimeout);
    // Only now may the session end: finishing inside the loop above (after the first channel's FIN) would skip
    // the other channels' FINs and the GoAway, and leave the shutdown timer behind.
    this.closeArmed = true;
    s.flush();
    return this.closing;
  }

  /** During a graceful close: ends the session once every queued byte and FIN has gone to the carrier. */
  closeIfFlushed(): void {
    const s = this.s;
    if (!this.closeArmed || s.isClosed || s.writer.controlQueued > 0) return;
    for (const ch of s.channelImpls()) if (!ch.flushed) return;
    if (!this.sentGoAway) {
      // Flushes, and comes back here to finish once the GoAway is written (or on drain).
      this.goAway();
      return;
    }
    this.finish(undefined, 'end', undefined, this.endChannels);
  }

  /** See {@link Session.destroy}. */
  destroy(error?: MuxError): void {
    if (this.s.isClosed) return;
    this.forceGoAway(error ? GoAwayCode.InternalError : GoAwayCode.Normal);
    this.finish(error, 'end');
  }

  /** The peer's GoAway: code 0 refuses new opens; any other code ends the session with its error. */
  onGoAway(code: number): void {
    this.goneAway.emit(code);
    if (code === GoAwayCode.Normal) {
      this.s.peerGoAway = true;
      return;
    }
    const error =
      code === GoAwayCode.ProtocolError
        ? new MuxError('ERR_MUX_PROTOCOL', `peer ended the session reporting a protocol error (GoAway 1)${this.roleHint()}`, {
            wireCode: code,
            remote: true,
          })
        : new MuxError('ERR_MUX_INTERNAL', `peer ended the session with GoAway ${code}`, { wireCode: code, remote: true });
    this.finish(error, 'end');
  }

  /** For a GoAway(1) that is the peer's first frame after our opens: the likely cause, said in the error. */
  private roleHint(): string {
    const s = this.s;
    if (s.opens.openedLocal === 0 || s.inbound.framesIn > 1) return '';
    return `; it was the peer's first answer to our opens: are both ends ${s.role}s?`;
  }

  /** The error for calls on a closed or closing session, or undefined while it is open. */
  closedError(): MuxError | undefined {
    // Calls on an ended session fail with ERR_MUX_SESSION_CLOSED whatever ended it (as errors.ts documents; Go yamux
    // answers ErrSessionShutdown alike); how it ended was reported once on closed$ and rides along as `cause`.
    const s = this.s;
    if (s.isClosed) {
      const how = s.closedWith;
      if (!how || how.code === 'ERR_MUX_SESSION_CLOSED') return how ?? this.sessionClosed();
      return new MuxError('ERR_MUX_SESSION_CLOSED', `the session is closed (${how.code}: ${how.message})`, { cause: how });
    }
    if (this.closing) return this.sessionClosed();
    return undefined;
  }

  carrierFailed(cause: unknown): void {
    if (this.s.isClosed) return;
    const error =
      cause instanceof MuxError && cause.code === 'ERR_MUX_CARRIER'
        ? cause
        : new MuxError('ERR_MUX_CARRIER', `carrier failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.finish(error, 'destroy');
  }

  carrierEnded(): void {
    const s = this.s;
    if (s.isClosed) return;
    if (s.peerGoAway || this.closing) {
      this.finish(undefined, 'end', this.sessionClosed('the peer closed the session'), this.endChannels);
      return;
    }
    this.finish(new MuxError('ERR_MUX_CARRIER', 'carrier ended before the session was closed'), 'end');
  }

  sessionClosed(message = 'the session is closed'): MuxError {
    return new MuxError('ERR_MUX_SESSION_CLOSED', message);
  }

  /** A local fatal condition: tell the peer with GoAway, then end. */
  fatal(error: MuxError): void {
    if (this.s.isClosed) return;
    this.forceGoAway(error.code === 'ERR_MUX_PROTOCOL' ? GoAwayCode.ProtocolError : GoAwayCode.InternalError);
    this.finish(error, 'end');
  }

  private forceGoAway(code: number): void {
    if (!this.s.isClosed) this.s.controls.forceGoAway(code);
  }

  /** Ends the session for good (once); `clean`: channels still open end without an error (close({ channels: 'end' })). */
  finish(error: MuxError | undefined, how: 'end' | 'destroy', channelError = error ?? this.sessionClosed(), clean = false): void {
    const s = this.s;
    if (s.isClosed) return;
    s.release(error);
    this.shutdownTimer?.unsubscribe();
    for (const ch of s.channelImpls()) {
      if (clean && ch.flushed) ch.endCleanly();
      else ch.fail(channelError);
    }
    s.forget();
    s.pings.stop(channelError);
    s.opens.stop(error);
    if (s.options.releaseCarrier) {
      try {
        if (how === 'end') s.carrier.end();
        else s.carrier.destroy(error);
      } catch {
        // Ignore: the carrier is released either way.
      }
    }
    this.goneAway.emit(-1);
    this.ended.emit({ error });
  }
}
