/**
 * rxmux/libp2p: rxmux as a js-libp2p stream muxer (`streamMuxers: [rxmuxMuxer()]`, protocol `/yamux/1.0.0`). Needs
 * `@libp2p/interface` and `@libp2p/utils` (optional peer dependencies: only this entry uses them).
 */
export { rxmuxMuxer, RxmuxMuxer, RXMUX_LIBP2P_PROTOCOL } from './libp2p/muxer.js';
export type { RxmuxMuxerInit, RxmuxStreamOptions } from './libp2p/options.js';
export { RxmuxStream } from './libp2p/stream.js';
export type { RxmuxStreamInit } from './libp2p/stream.js';
