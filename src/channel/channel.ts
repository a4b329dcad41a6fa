// One channel's lifecycle (opening -> open -> half-closed -> closed) and the frames the session hands it: it reads
// its own flags (SYN, ACK, FIN, RST), sends its own handshake, and ends itself. Receive and send sides are below it.
import type { Observable, Subscriber } from 'rxjs';
import { MuxError } from '../errors.js';
import { Flag, FrameType, GoAwayCode, INITIAL_WINDOW, MAX_U32 } from '../frame/constants.js';
import type { HeaderVerdict } from '../frame/header-check.js';
import { parseReason } from '../frame/reason.js';
import type { Expiring } from '../util/deadlines.js';
import { OnceSignal } from '../util/signal.js';
import { SendingChannel } from './sending.js';
import type { Channel, ChannelEnd, ChannelStats } from './types.js';
import { ChannelView } from './view.js';
import { Watchdog, type Watchable } from './watchdog.js';

const EMPTY = new Uint8Array(0);
const NO_ERROR: ChannelEnd = { error: undefined };

/** Per-channel idle timeouts, in ms (0 = none). */
interface IdleTimeouts {
  readTimeout: number;
  writeTimeout: number;
}

/**
 * The channel. Applications see it through its {@link ChannelView}; the session drives it through the methods below
 * and the fair writer through {@link WriterChannel}.
 */
export class ChannelImpl extends SendingChannel implements Expiring, Watchable {
  meta: Uint8Array = EMPTY;
  replyMeta: Uint8Array = EMPTY;
  /** Who waits for open() to emit (an opener that waits for the ACK), until the channel opens or fails. */
  private opener: Subscriber<Channel> | undefined;
  /** Open-timeout deadline (session clock ms) while opening; -1 for none. */
  private openDeadline = -1;
  private openedAt = 0;
  /** How the channel ended, once it has; the signal is created only when someone asks for closed$. */
  private end_: ChannelEnd | undefined;
  private ended: OnceSignal<ChannelEnd> | undefined;
  private view_: ChannelView | undefined;

  /** What the application holds. */
  get view(): ChannelView {
    return (this.view_ ??= new ChannelView(this));
  }

  get isClosed(): boolean {
    return this.state === 'closed';
  }

  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Sends our SYN. `timeout` ms for the answer (0 = none); `eager` hands the channel over now, else to `opener` on the ACK. */
  openLocal(meta: Uint8Array, weight: number, idle: IdleTimeouts, timeout: number, opener: Subscriber<Channel> | undefined): void {
    this.meta = meta;
    this.share = weight;
    this.configure(idle);
    this.openedAt = this.host.clock();
    this.opener = opener;
    this.eager = opener === undefined;
    this.handshake(Flag.SYN, meta);
    if (timeout > 0) {
      this.openDeadline = this.openedAt + timeout;
      this.host.watch(this);
    }
  }

  /** The opener stopped waiting before the answer. */
  cancelOpen(): void {
    if (this.state !== 'opening') return;
    this.opener = undefined;
    this.abort(0, 'open cancelled', new MuxError('ERR_MUX_RESET', `open of channel ${this.id} was cancelled`));
  }

  /** The application accepted the peer's open: answer with ACK (and `reply`). */
  accept(reply: Uint8Array, weight: number | undefined, idle: IdleTimeouts): void {
    if (this.state !== 'pending') return;
    this.replyMeta = reply;
    if (weight !== undefined) this.share = weight;
    this.configure(idle);
    this.handshake(Flag.ACK, reply);
    this.state = 'open';
    this.dog?.start();
    this.host.activate(this);
  }

  private configure(idle: IdleTimeouts): void {
    if (idle.readTimeout > 0 || idle.writeTimeout > 0) {
      this.dog = new Watchdog(this, this.host.scheduler, () => this.host.clock(), idle.readTimeout, idle.writeTimeout);
    }
  }

  /** SYN or ACK: in the rxmux profile a Data frame carrying the metadata; a larger window goes as a WindowUpdate delta. */
  private handshake(flag: number, payload: Uint8Array): void {
    const extra = this.host.options.receiveWindow - INITIAL_WINDOW;
    if (this.host.options.profile === 'rxmux') {
      this.sendWindow -= payload.byteLength;
      this.host.control(FrameType.Data, flag, this.id, payload.byteLength, payload);
      if (extra > 0) this.host.control(FrameType.WindowUpdate, 0, this.id, extra);
    } else {
      this.host.control(FrameType.WindowUpdate, flag, this.id, extra);
    }
    this.recvAvailable += extra;
  }

  /** Header check of a Data frame for this channel, before its payload is read. */
  checkData(flags: number, length: number): HeaderVerdict {
    if (length > this.recvAvailable) {
      return new MuxError(
        'ERR_MUX_PROTOCOL',
        `channel ${this.id}: ${length} bytes exceed the receive window (${this.recvAvailable} left)`,
        { wireCode: GoAwayCode.ProtocolError },
      );
    }
    const o = this.host.options;
    if (o.profile === 'rxmux' && flags & Flag.ACK && this.state === 'opening' && length > o.maxMetadata) return 'skip';
    return undefined;
  }

  /** The SYN part of the peer's first frame (the session admitted it); returns the payload left for {@link receive}. */
  admit(isData: boolean, flags: number, length: number, payload: Uint8Array): Uint8Array {
    if (isData && this.host.options.profile === 'rxmux') {
      this.meta = payload.byteLength ? payload.slice() : EMPTY;
      this.consumedControl(payload.byteLength);
      return EMPTY;
    }
    // A WindowUpdate|SYN's delta (a peer window above 256 KiB) counts before the acceptor sees the channel.
    if (!isData && !(flags & Flag.RST) && length > 0) this.window(length);
    return payload;
  }

  /** A Data (`isData`) or WindowUpdate frame; `length` is a WindowUpdate's delta (applied by {@link admit} on a SYN). */
  receive(isData: boolean, flags: number, length: number, payload: Uint8Array): void {
    const rxmux = this.host.options.profile === 'rxmux';
    if (flags & Flag.ACK && this.state === 'opening') {
      let reply = EMPTY;
      if (rxmux && isData) {
        reply = payload.byteLength ? payload.slice() : EMPTY;
        this.consumedControl(payload.byteLength);
        payload = EMPTY;
      }
      // A WindowUpdate|RST's length is the reset code (go-yamux v5), not credit.
      if (!isData && !(flags & Flag.RST)) this.window(length);
      this.acknowledged(reply);
      if (!isData) {
        if (flags & Flag.FIN) this.remoteFin();
        if (flags & Flag.RST) this.remoteReset(length, undefined);
        return;
      }
      // A later ACK (ACK is sent once) is not looked at again: its payload is stream data (docs/PROTOCOL.md).
    } else if (!isData) {
      if (flags & Flag.RST) {
        this.remoteReset(length, undefined);
        return;
      }
      if (!(flags & Flag.SYN)) this.window(length);
      if (flags & Flag.FIN) this.remoteFin();
      return;
    }
    if (flags & Flag.RST) {
      if (rxmux) {
        this.consumedControl(payload.byteLength);
        const { code, reason } = parseReason(payload);
        this.remoteReset(code, reason);
      } else {
        if (payload.byteLength) this.data(payload);
        this.remoteReset(0, undefined);
      }
      return;
    }
    if (payload.byteLength > 0) this.data(payload);
    if (flags & Flag.FIN) this.remoteFin();
  }

  /** Reply metadata over the limit (its payload was skipped): refuse the channel. */
  oversizedReply(length: number): void {
    this.consumedControl(length);
    const limit = this.host.options.maxMetadata;
    this.abort(
      0,
      'reply metadata exceeds the limit',
      new MuxError('ERR_MUX_LIMIT', `channel ${this.id}: reply metadata of ${length} bytes exceeds the ${limit}-byte limit`),
    );
  }

  /** The peer accepted our open (ACK). */
  private acknowledged(replyMeta: Uint8Array): void {
    this.replyMeta = replyMeta;
    this.state = 'open';
    this.dog?.start();
    this.host.rtt.sample(this.host.clock() - this.openedAt);
    const opener = this.opener;
    this.opener = undefined;
    if (opener) {
      opener.next(this.view);
      opener.complete();
    }
    this.host.activate(this);
  }

  private remoteFin(): void {
    if (this.readEnded || this.state === 'closed') return;
    this.readEnded = true;
    this.markHalfClosed();
    this.maybeReleased();
    this.deliver();
  }

  private remoteReset(code: number, reason: string | undefined): void {
    if (this.state === 'closed') return;
    const details = { wireCode: code, remote: true, ...(reason === undefined ? {} : { reason }) };
    const suffix = reason ? `: ${reason}` : '';
    this.fail(
      this.state === 'opening'
        ? new MuxError('ERR_MUX_REJECTED', `open of channel ${this.id} was rejected${suffix}`, details)
        : new MuxError('ERR_MUX_RESET', `channel ${this.id} was reset by the peer${suffix}`, details),
    );
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

  stats(): ChannelStats {
    return {
      id: this.id,
      state: this.state,
      bytesIn: this.bytesIn,
      bytesOut: this.bytesOut,
      framesIn: this.framesIn,
      framesOut: this.framesOut,
      credit: this.sendWindow,
      receiveWindow: this.recvWindow,
      bufferedIn: this.inb === undefined ? 0 : this.inb.bytes,
      queuedOut: this.queued,
      readClosed: this.readEnded,
      writeClosed: this.writeSide !== 'open',
    };
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
    this.host.released(this);
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
