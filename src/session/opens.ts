// Opening channels, both ways: open() with its checks, the peer's opens (id rules, admission, the accept backlog),
// accept and reject, and incoming$. Channels send their own SYN/ACK; this file decides who may open.
import { Observable, type Subscriber } from 'rxjs';
import { ChannelImpl } from '../channel/channel.js';
import type { Channel } from '../channel/types.js';
import { queueReset } from '../channel/reset-frame.js';
import { MuxError } from '../errors.js';
import { INITIAL_WINDOW, MAX_U32 } from '../frame/constants.js';
import { checkWeight } from '../options.js';
import { toBytes } from '../util/bytes.js';
import type { SessionImpl } from './session.js';
import type { AcceptOptions, IncomingChannel, OpenOptions } from './types.js';

const EMPTY = new Uint8Array(0);

/** A peer's open waiting for an answer: what `incoming$` emits. */
class Incoming implements IncomingChannel {
  readonly id: number;
  readonly meta: Uint8Array;

  constructor(
    private readonly opens: Opens,
    readonly ch: ChannelImpl,
  ) {
    this.id = ch.id;
    this.meta = ch.meta;
  }

  accept(options: AcceptOptions = {}): Channel {
    return this.opens.accept(this, options);
  }

  reject(reason?: string, code = 0): void {
    this.opens.reject(this, reason, code);
  }
}

/** The session's opens. */
export class Opens {
  private nextId: number;
  private lastPeerId = 0;
  /** Inbound opens not answered yet (emitted or waiting in the backlog). */
  private readonly pending = new Map<ChannelImpl, Incoming>();
  private readonly backlog: Incoming[] = [];
  private acceptor: Subscriber<IncomingChannel> | undefined;
  openedLocal = 0;
  openedRemote = 0;
  refusedOpens = 0;

  constructor(private readonly s: SessionImpl) {
    this.nextId = s.role === 'client' ? 1 : 2;
  }

  /** See {@link Session.incoming$}. */
  incoming(): Observable<IncomingChannel> {
    return new Observable<IncomingChannel>((subscriber) => {
      const s = this.s;
      if (this.acceptor) {
        subscriber.error(new MuxError('ERR_MUX_READ_BUSY', 'incoming$ already has a subscriber'));
        return;
      }
      if (s.isClosed) {
        const how = s.closedWith;
        how && how.code !== 'ERR_MUX_SESSION_CLOSED' ? subscriber.error(how) : subscriber.complete();
        return;
      }
      this.acceptor = subscriber;
      while (this.backlog.length > 0 && this.acceptor === subscriber && !subscriber.closed) {
        subscriber.next(this.backlog.shift()!);
      }
      s.flush();
      return () => {
        if (this.acceptor === subscriber) this.acceptor = undefined;
      };
    });
  }

  /** See {@link Session.open}. */
  open(options: OpenOptions): Observable<Channel> {
    return new Observable<Channel>((subscriber) => {
      const s = this.s;
      const refusal = this.openRefusal(options);
      if (refusal instanceof MuxError) {
        subscriber.error(refusal);
        return;
      }
      const id = this.nextId;
      this.nextId += 2;
      const ch = new ChannelImpl(s, id, 'local');
      s.register(ch);
      this.openedLocal++;
      // yamux style (the yamux profile's default): the channel is handed over at once and may send within the
      // initial window before the ACK; a refusal then fails the channel. rxmux style: handed over on the ACK.
      const eager = !(options.waitForAccept ?? s.profile === 'rxmux');
      const idle = {
        readTimeout: options.readTimeout ?? s.options.readTimeout,
        writeTimeout: options.writeTimeout ?? s.options.writeTimeout,
      };
      ch.openLocal(refusal, options.weight ?? 1, idle, options.timeout ?? s.options.openTimeout, eager ? undefined : subscriber);
      if (eager) {
        subscriber.next(ch.view);
        subscriber.complete();
      }
      s.flush();
      return eager ? undefined : () => ch.cancelOpen();
    });
  }

  /** Why open() fails now, or the metadata bytes to send. */
  private openRefusal(options: OpenOptions): MuxError | Uint8Array {
    const s = this.s;
    const closed = s.closedError();
    if (closed) return closed;
    if (s.peerGoAway) return new MuxError('ERR_MUX_GOAWAY', 'the peer sent GoAway: no new channels on this session');
    if (s.openChannels >= s.options.maxOpen) return new MuxError('ERR_MUX_LIMIT', `maxOpen (${s.options.maxOpen}) channels are open`);
    if (this.nextId > MAX_U32) return new MuxError('ERR_MUX_LIMIT', 'stream ids are exhausted on this session');
    if (options.weight !== undefined) {
      const bad = checkWeight(options.weight, 'weight');
      if (bad) return bad;
    }
    return this.checkMeta(options.meta);
  }

  /** Open or reply metadata as bytes, or why it cannot be sent. */
  private checkMeta(meta: Uint8Array | string | undefined): Uint8Array | MuxError {
    if (meta === undefined) return EMPTY;
    const bytes = toBytes(meta);
    if (bytes.byteLength === 0) return EMPTY;
    const s = this.s;
    if (s.profile === 'yamux')
      return new MuxError('ERR_MUX_UNSUPPORTED', 'metadata needs the rxmux profile; this session uses the yamux profile');
    if (bytes.byteLength > s.options.maxMetadata) {
      return new MuxError('ERR_MUX_LIMIT', `metadata of ${bytes.byteLength} bytes exceeds the ${s.options.maxMetadata}-byte limit`);
    }
    return bytes;
  }

  // ---------------------------------------------------------------- the peer's opens

  /** Checks a peer-chosen id: peer parity, increasing, not reused. A violation fails the session. */
  admitPeerId(id: number): boolean {
    const s = this.s;
    const peerParity = s.role === 'client' ? 0 : 1;
    if (id % 2 !== peerParity) {
      s.protocolError(`peer opened channel ${id} with this side's id parity (are both ends ${s.role}s?)`);
      return false;
    }
    if (id <= this.lastPeerId) {
      s.protocolError(`peer opened channel ${id} after ${this.lastPeerId}: ids must increase and never be reused`);
      return false;
    }
    this.lastPeerId = id;
    return true;
  }

  /**
   * A SYN whose id passed {@link admitPeerId}: a new channel, or undefined when refused (answered with RST). While the
   * carrier is blocked with more answers queued than channels may exist (maxOpen + CONTROL_BACKLOG), opens are
   * refused too: each accepted one queues an answer that cannot leave yet, and a peer cycling SYN+RST would grow
   * that queue without bound.
   */
  admit(id: number): ChannelImpl | undefined {
    const s = this.s;
    let refusal: string | undefined;
    if (s.goingAway) refusal = 'session going away';
    else if (s.openChannels >= s.options.maxOpen) refusal = 'too many open channels';
    else if (this.pending.size >= s.options.acceptBacklog) refusal = 'accept backlog full';
    else if (s.controls.backlogFull(s.options.maxOpen)) refusal = 'session congested';
    if (refusal) {
      this.refuse(id, refusal);
      return undefined;
    }
    const ch = new ChannelImpl(s, id, 'remote');
    s.register(ch);
    this.openedRemote++;
    return ch;
  }

  /** Answers an open with RST: it has no channel object. */
  refuse(id: number, reason: string): void {
    const s = this.s;
    this.refusedOpens++;
    if (s.controls.backlogFull()) {
      s.controls.dropped++;
      return;
    }
    // Our own short, fixed reasons: not capped by maxMetadata (which bounds what applications send). A refused
    // open has the whole initial window as room.
    queueReset(s, s.profile === 'rxmux', id, 0, toBytes(reason), INITIAL_WINDOW);
  }

  /** Shows an admitted channel to the application. */
  announce(ch: ChannelImpl): void {
    const incoming = new Incoming(this, ch);
    this.pending.set(ch, incoming);
    if (this.acceptor) this.acceptor.next(incoming);
    else this.backlog.push(incoming);
  }

  /** {@link IncomingChannel.accept} (answered once: later calls return the channel and do nothing). */
  accept(req: Incoming, options: AcceptOptions): Channel {
    const ch = req.ch;
    if (!this.settle(ch)) return ch.view;
    const bad = options.weight === undefined ? undefined : checkWeight(options.weight, 'weight');
    const reply = bad ?? this.checkMeta(options.meta);
    if (reply instanceof MuxError) {
      ch.abort(0, bad ? 'invalid accept options' : 'invalid reply metadata', reply);
      return ch.view;
    }
    const s = this.s;
    ch.accept(reply, options.weight, {
      readTimeout: options.readTimeout ?? s.options.readTimeout,
      writeTimeout: options.writeTimeout ?? s.options.writeTimeout,
    });
    s.flush();
    return ch.view;
  }

  /** {@link IncomingChannel.reject} (answered once). */
  reject(req: Incoming, reason: string | undefined, code: number): void {
    const ch = req.ch;
    if (!this.settle(ch)) return;
    this.refusedOpens++;
    const details = { wireCode: code, ...(reason === undefined ? {} : { reason }) };
    ch.abort(code, reason, new MuxError('ERR_MUX_REJECTED', `channel ${ch.id} rejected locally${reason ? `: ${reason}` : ''}`, details));
  }

  /** Marks `ch` answered; false when it was answered (or closed) already. */
  private settle(ch: ChannelImpl): boolean {
    if (ch.state !== 'pending') return false;
    return this.pending.delete(ch);
  }

  /** A channel left the session: an open it still had pending leaves the backlog (a peer looping SYN+RST must not grow it). */
  released(ch: ChannelImpl): void {
    const req = this.pending.get(ch);
    if (req === undefined) return;
    this.pending.delete(ch);
    const i = this.backlog.indexOf(req);
    if (i >= 0) this.backlog.splice(i, 1);
  }

  /** The session ended: the acceptor completes (or errors with `error`), waiting opens are forgotten. */
  stop(error: MuxError | undefined): void {
    this.backlog.length = 0;
    this.pending.clear();
    const acceptor = this.acceptor;
    this.acceptor = undefined;
    if (acceptor) error ? acceptor.error(error) : acceptor.complete();
  }
}
