// The libp2p muxer's init options and how they map onto rxmux session options.
import type { StreamMuxerOptions, StreamOptions } from '@libp2p/interface';
import { MuxError } from '../errors.js';
import { resolveOptions, type SessionOptions } from '../options.js';

/** Per-stream options: libp2p's, plus the yamux window sizes @chainsafe/libp2p-yamux also takes. */
export interface RxmuxStreamOptions extends StreamOptions {
  /** Receive window announced for each stream, in bytes (rxmux `receiveWindow`). Default 262144 (256 KiB), the least yamux allows. */
  initialStreamWindowSize?: number;
  /** Ceiling for receive-window auto-tuning, in bytes (rxmux `maxReceiveWindow`). Default 16777216 (16 MiB). */
  maxStreamWindowSize?: number;
}

/** Session options the muxer sets itself, or takes under their libp2p names: not accepted in {@link RxmuxMuxerInit.session}. */
const OWN = [
  'role',
  'profile',
  'releaseCarrier',
  'keepAlive',
  'keepAliveInterval',
  'maxFrameSize',
  'receiveWindow',
  'maxReceiveWindow',
  'maxOpen',
] as const;

/**
 * Options of {@link rxmuxMuxer}: libp2p's muxer options under their libp2p (and @chainsafe/libp2p-yamux) names, and
 * any other rxmux session option under `session`.
 */
export interface RxmuxMuxerInit extends StreamMuxerOptions<RxmuxStreamOptions> {
  /** Send keep-alive pings (rxmux `keepAlive`). Default true. */
  enableKeepAlive?: boolean;
  /** Time between keep-alive pings, in ms (rxmux `keepAliveInterval`). Default 30000. */
  keepAliveInterval?: number;
  /**
   * Keep each `send()` of a stream in frames of its own (rxmux `preserveWrites`), as @chainsafe/libp2p-yamux writes
   * them: a reader that reads frame by frame sees the sender's chunks. Default true (rxmux's own default is false).
   */
  preserveWrites?: boolean;
  /**
   * Any other rxmux session option (`highWaterMark`, `quantum`, `inFlightMin`, `keepAliveTimeout`, `openTimeout`,
   * `scheduler`, …). The muxer sets `role` (from the connection's direction), `profile: 'yamux'` and
   * `releaseCarrier: false`; the options above have their libp2p names; naming any of these here throws
   * `ERR_MUX_INVALID_OPTION`. `openTimeout` defaults to 0 here: a libp2p peer acknowledges a stream only with its
   * first frame, and libp2p bounds protocol negotiation itself.
   */
  session?: Omit<
    SessionOptions,
    | 'role'
    | 'profile'
    | 'releaseCarrier'
    | 'keepAlive'
    | 'keepAliveInterval'
    | 'maxFrameSize'
    | 'receiveWindow'
    | 'maxReceiveWindow'
    | 'maxOpen'
  >;
}

/** The session options of a muxer made with `init` (checked: `check` resolves them once, to throw at configuration time). */
export function sessionOptions(init: RxmuxMuxerInit, role: 'client' | 'server', check = false): SessionOptions {
  const extra = init.session ?? {};
  for (const name of OWN) {
    if (name in extra) throw new MuxError('ERR_MUX_INVALID_OPTION', `rxmuxMuxer: session.${name} is set by the muxer or has a libp2p name`);
  }
  const maxIn = init.maxInboundStreams ?? 1000;
  const maxOut = init.maxOutboundStreams ?? 1000;
  const options: SessionOptions = {
    openTimeout: 0,
    ...extra,
    role,
    profile: 'yamux',
    releaseCarrier: false,
    preserveWrites: init.preserveWrites ?? true,
    keepAlive: init.enableKeepAlive ?? true,
    keepAliveInterval: init.keepAliveInterval ?? 30_000,
    maxFrameSize: init.maxMessageSize ?? 65_536,
    receiveWindow: init.streamOptions?.initialStreamWindowSize ?? 256 * 1024,
    maxReceiveWindow: init.streamOptions?.maxStreamWindowSize ?? 16 * 1024 * 1024,
    // Inbound and outbound are bounded apart by the muxer; the session's bound is their sum.
    maxOpen: Math.max(1, maxIn + maxOut),
  };
  if (check) resolveOptions(options);
  return options;
}
