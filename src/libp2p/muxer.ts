// rxmux as a js-libp2p stream muxer: libp2p's AbstractStreamMuxer on top, one rxmux session (yamux profile) over
// the connection below, one channel per stream.
import {
  MuxerClosedError,
  type MessageStream,
  type StreamMuxerFactory,
  serviceCapabilities,
  TooManyOutboundProtocolStreamsError,
  type AbortOptions,
} from '@libp2p/interface';
import { AbstractStreamMuxer } from '@libp2p/utils';
import type { Channel } from '../channel/types.js';
import { MuxError } from '../errors.js';
import { createSession } from '../session/multiplex.js';
import type { IncomingChannel, Session } from '../session/types.js';
import { type Libp2pBytes, MessageStreamCarrier } from './carrier.js';
import { sessionOptions, type RxmuxMuxerInit } from './options.js';
import { RxmuxStream } from './stream.js';

/** The protocol id libp2p negotiates for the muxer: the wire is yamux. */
export const RXMUX_LIBP2P_PROTOCOL = '/yamux/1.0.0';

const DEFAULT_MAX_STREAMS = 1000;

/**
 * The muxer of one libp2p connection: an rxmux session in the yamux profile over it (a client when the connection
 * is outbound), which leaves the connection to libp2p (`releaseCarrier: false`).
 */
export class RxmuxMuxer extends AbstractStreamMuxer<RxmuxStream> {
  /** The rxmux session under the muxer (its stats, ping, channels). */
  readonly session: Session;
  private readonly carrier: MessageStreamCarrier;
  private readonly maxInbound: number;
  private readonly maxOutbound: number;
  private inbound = 0;
  private outbound = 0;

  constructor(maConn: MessageStream, init: RxmuxMuxerInit = {}) {
    super(maConn, { ...init, protocol: RXMUX_LIBP2P_PROTOCOL, name: 'rxmux' });
    this.maxInbound = init.maxInboundStreams ?? DEFAULT_MAX_STREAMS;
    this.maxOutbound = init.maxOutboundStreams ?? DEFAULT_MAX_STREAMS;
    this.carrier = new MessageStreamCarrier({ send: (data) => this.maConn.send(data) });
    this.maConn.addEventListener('drain', () => this.carrier.drained());
    this.session = createSession(this.carrier, sessionOptions(init, maConn.direction === 'outbound' ? 'client' : 'server'));
    this.session.incoming$.subscribe({ next: (req) => this.incoming(req), error: () => undefined });
    this.session.closed$.subscribe(({ error }) => {
      // A failure of the session itself (protocol error, keep-alive timeout): the connection is done too.
      if (error && this.status === 'open') {
        this.abort(error);
        this.maConn.abort(error);
      }
    });
  }

  /** Bytes from the connection, for the session. */
  onData(data: Libp2pBytes): void {
    this.carrier.push(data);
  }

  /** A stream libp2p opens: an eager open of a channel. */
  onCreateStream(): RxmuxStream {
    if (this.session.peerGoAway) throw new MuxerClosedError('Muxer closed remotely');
    if (this.outbound >= this.maxOutbound) throw new TooManyOutboundProtocolStreamsError('max outbound streams exceeded');
    let channel: Channel | undefined;
    let failure: MuxError | undefined;
    // Eager (the channel now, before the answer: libp2p peers acknowledge with their first frame) and no open
    // timeout (libp2p's own protocol negotiation bounds how long a stream may stay silent).
    this.session.open({ waitForAccept: false, timeout: 0 }).subscribe({
      next: (c) => {
        channel = c;
      },
      error: (e: MuxError) => {
        failure = e;
      },
    });
    if (channel === undefined) {
      const why = failure?.message ?? 'the session refused the open';
      throw failure?.code === 'ERR_MUX_LIMIT' ? new TooManyOutboundProtocolStreamsError(why) : new MuxerClosedError(why);
    }
    this.outbound++;
    return this.newStream(channel, 'outbound');
  }

  private incoming(req: IncomingChannel): void {
    if (this.inbound >= this.maxInbound || this.status !== 'open') {
      req.reject('too many inbound streams');
      return;
    }
    this.inbound++;
    this.onRemoteStream(this.newStream(req.accept(), 'inbound'));
  }

  private newStream(channel: Channel, direction: 'inbound' | 'outbound'): RxmuxStream {
    const stream = new RxmuxStream({
      ...this.streamOptions,
      id: `${channel.id}`,
      channel,
      direction,
      log: this.log.newScope(`${direction}:${channel.id}`),
    });
    stream.addEventListener(
      'close',
      () => {
        stream.release();
        if (direction === 'inbound') this.inbound--;
        else this.outbound--;
      },
      { once: true },
    );
    return stream;
  }

  /** Closes every stream's write side (libp2p's close), then the session: still-open channels end cleanly. */
  override async close(options?: AbortOptions): Promise<void> {
    if (this.status !== 'open') return;
    try {
      await super.close(options);
    } catch (e) {
      this.abort(e instanceof Error ? e : new Error(String(e)));
      throw e;
    }
    await this.session.close({ channels: 'end' });
  }

  /** Aborts every stream (RST each), then ends the session with GoAway(2). */
  override abort(err: Error): void {
    if (this.status === 'closed') return;
    super.abort(err);
    this.session.destroy(new MuxError('ERR_MUX_SESSION_CLOSED', `the libp2p muxer was aborted: ${err.message}`, { cause: err }));
  }

  /** The connection closed under the muxer: streams close (libp2p's rule), then the session sees its carrier end. */
  override onTransportClosed(err?: Error): void {
    super.onTransportClosed(err);
    this.carrier.closed(err);
  }
}

/** The factory libp2p calls once per connection (see {@link rxmuxMuxer}). */
class RxmuxFactory implements StreamMuxerFactory<RxmuxMuxer> {
  readonly protocol = RXMUX_LIBP2P_PROTOCOL;
  readonly [Symbol.toStringTag] = 'rxmux';
  readonly [serviceCapabilities]: string[] = ['@libp2p/stream-multiplexing'];

  constructor(private readonly init: RxmuxMuxerInit) {}

  createStreamMuxer(maConn: MessageStream): RxmuxMuxer {
    return new RxmuxMuxer(maConn, this.init);
  }
}

/**
 * rxmux as a js-libp2p stream muxer, in libp2p's factory convention: `streamMuxers: [rxmuxMuxer()]`. The protocol
 * is `/yamux/1.0.0` (the wire is yamux), so it speaks to any libp2p yamux peer. Options are checked now: a bad one
 * throws `ERR_MUX_INVALID_OPTION`.
 *
 * @example
 * ```ts
 * import { createLibp2p } from 'libp2p';
 * import { rxmuxMuxer } from 'rxmux/libp2p';
 *
 * const node = await createLibp2p({ streamMuxers: [rxmuxMuxer({ maxInboundStreams: 256 })] });
 * ```
 */
export function rxmuxMuxer(init: RxmuxMuxerInit = {}): () => StreamMuxerFactory<RxmuxMuxer> {
  sessionOptions(init, 'client', true);
  return () => new RxmuxFactory(init);
}
