/**
 * rxmux/frame: the whole yamux frame codec, low-level pieces included (the positional decoder core `FrameReader`
 * with its `FrameSink`, header helpers, `decodeAll`). Most users need only what the root entry exports.
 */
export * from './frame/index.js';
