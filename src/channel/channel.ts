// One channel: its opening (our SYN, the peer's, accept) and the frames the session hands it, reading its own flags
// (SYN, ACK, FIN, RST). Below it: how it ends (closing.ts), the send side, the receive side.
import type { Subscriber } from 'rxjs';
import { MuxError } from '../errors.js';
import { Flag, FrameType, GoAwayCode, INITIAL_WINDOW } from '../frame/constants.js';
import type { HeaderVerdict } from '../frame/header-check.js';
import { parseReason } from '../frame/reason.js';
import { ClosingChannel } from './closing.js';
import type { Channel, ChannelStats } from './types.js';
import { ChannelView } from './view.js';
import { Watchdog } from './watchdog.js';

const EMPTY = new Uint8Array(0);

/** Per-channel idle timeouts, in ms (0 = none). */
interface IdleTimeouts {
  readTimeout: number;
  writeTimeout: number;
}

/**
 * The channel. Applications see it through its {@link ChannelView}; the session drives it through the methods below
 * and the fair writer through {@link WriterChannel}.
 */
export class ChannelImpl extends ClosingChannel {
  meta: Uint8Array = EMPTY;
  replyMeta: Uint8Array = EMPTY;
  private view_: ChannelView | undefined;

  /** What the application holds. */
  get view(): ChannelView {
    return (this.view_ ??= new ChannelView(this));
  }

  protected released(): void {
    this.host.released(this);
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
}
