// How a channel ends: local reset and abort, failure, the clean end of close({ channels: 'end' }), release from the
// session once both sides are done, and the deadlines that end it (open timeout, close timeout, idle timeouts).
import type { Observable, Subscriber } from 'rxjs';
import { MuxError } from '../errors.js';
import { MAX_U32 } from '../frame/constants.js';
import type { Expiring } from '../util/deadlines.js';
import { OnceSignal } from '../util/signal.js';
import { SendingChannel } from './sending.js';
import type { Channel, ChannelEnd } from './types.js';
import type { Watchable } from './watchdog.js';

const NO_ERROR: ChannelEnd = { error: undefined };

/** The receive and send sides plus the ending. See {@link ChannelImpl} for the whole. */
export abstract class ClosingChannel extends SendingChannel implements Expiring, Watchable {
  /** Hands the channel back to its host (it leaves the session's map, sweeper and writer). */
  protected abstract released(): void;
  /** Who waits for open() to emit (an opener that waits for the ACK), until the channel opens or fails. */
  protected opener: Subscriber<Channel> | undefined;
  /** Open-timeout deadline (session clock ms) while opening; -1 for none. */
  protected openDeadline = -1;
  protected openedAt = 0;
  /** How the channel ended, once it has; the signal is created only when someone asks for closed$. */
  private end_: ChannelEnd | undefined;
  private ended: OnceSignal<ChannelEnd> | undefined;

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  reset(code = 0, reason?: string): void {
    if (!Number.isInteger(code) || code < 0 || code > MAX_U32) {
      throw new MuxError(
        'ERR_MUX_INVALID_ARGUMENT',
        `channel ${this.id}: reset code: expected an integer from 0 to 2^32-1, got ${String(code)}`,
      );
    }
    if (this.state === 'closed') return;
    const details = { wireCode: code, ...(reason === undefined ? {} : { reason }) };
    this.abort(code, reason, new MuxError('ERR_MUX_RESET', `channel ${this.id} was reset locally${reason ? `: ${reason}` : ''}`, details));
  }

  /** Sends RST (code and reason), fails the channel with `error`, and flushes. */
  abort(code: number, reason: string | undefined, error: MuxError): void {
    this.sendReset(code, reason);
    this.fail(error);
    this.host.flush();
  }

  get closed$(): Observable<ChannelEnd> {
    if (!this.ended) {
      this.ended = new OnceSignal<ChannelEnd>();
      if (this.end_) this.ended.emit(this.end_);
    }
    return this.ended.observable;
  }

  /** Ends the channel with an error, sending nothing (session end; peer reset; after an RST was queued). */
  fail(error: MuxError): void {
    if (this.state === 'closed') return;
    const wasOpening = this.state === 'opening';
    // Bytes of a channel the application never got (an open it never accepted, or our open that failed before its
    // answer, unless it was handed over eagerly) are unreachable: drop them even after the peer's FIN.
    const unreachable = this.state === 'pending' || (wasOpening && !this.eager);
    this.state = 'closed';
    this.failure = error;
    this.dog?.stop();
    this.out?.drop(error);
    this.settleWaiters(error);
    if (!this.readEnded || unreachable) {
      this.inb?.drop();
      this.inb = undefined;
      const reader = this.liveReader();
      this.reader = undefined;
      reader?.error(error);
      const pulls = this.pulls;
      this.pulls = undefined;
      if (pulls) for (const p of pulls) p.reject(error);
    }
    if (wasOpening) {
      const opener = this.opener;
      this.opener = undefined;
      opener?.error(error);
    }
    this.leave({ error });
  }

  /**
   * The session ended cleanly (`close({ channels: 'end' })`) with this channel still open: whatever is buffered
   * stays readable, then the reader completes as after a FIN, and the channel closes without an error.
   */
  endCleanly(): void {
    if (this.state === 'closed') return;
    this.writeSide = 'ended';
    this.settleWaiters();
    this.readEnded = true;
    this.deliver();
    this.state = 'closed';
    this.dog?.stop();
    this.leave(NO_ERROR);
  }

  protected maybeReleased(): void {
    if (this.writeSide === 'ended' && this.readEnded && this.state !== 'closed') {
      this.state = 'closed';
      this.dog?.stop();
      this.leave(NO_ERROR);
    }
  }

  /** Leaves the session: bytes still buffered for the reader stop counting against the session's budget. */
  private leave(end: ChannelEnd): void {
    this.inb?.detach();
    this.host.budget.forget(this);
    this.credit?.complete();
    this.released();
    this.end_ = end;
    this.ended?.emit(end);
  }

  protected markHalfClosed(): void {
    if (this.halfClosedAt < 0) {
      this.halfClosedAt = this.lastActivity = this.host.clock();
      if (this.host.options.closeTimeout > 0) this.host.watch(this);
    }
  }

  /** The open-timeout deadline while opening, else the close-timeout deadline while half-closed (session clock ms). */
  deadline(): number | undefined {
    if (this.state === 'closed') return undefined;
    const close = this.halfClosedAt < 0 ? undefined : this.lastActivity + this.host.options.closeTimeout;
    if (this.state === 'opening' && this.openDeadline >= 0) return Math.min(this.openDeadline, close ?? Infinity);
    return close;
  }

  /** A deadline passed: the open timeout (no ACK in time) or the close timeout; reset on both ends. */
  expire(): void {
    if (this.state === 'closed') return;
    if (this.state === 'opening' && this.openDeadline >= 0 && this.host.clock() >= this.openDeadline) {
      const waited = this.openDeadline - this.openedAt;
      this.abort(0, 'open timeout', new MuxError('ERR_MUX_TIMEOUT', `open of channel ${this.id} got no answer within ${waited} ms`));
      return;
    }
    const limit = this.host.options.closeTimeout;
    this.abort(0, 'timeout', new MuxError('ERR_MUX_TIMEOUT', `channel ${this.id}: half-closed and idle for ${limit} ms (close timeout)`));
  }

  /** The session is suspended (resumption): idle deadlines stop. */
  pauseIdle(): void {
    this.dog?.pause();
  }

  /** The session resumed: idle deadlines count again from now. */
  resumeIdle(): void {
    this.dog?.unpause(this.host.clock());
  }

  /** An idle deadline of the watchdog passed. */
  idle(why: string): void {
    this.abort(0, 'timeout', new MuxError('ERR_MUX_TIMEOUT', `channel ${this.id}: ${why}`));
  }
}
