/**
 * rxmux: many bidirectional channels over one carrier, yamux wire-compatible, as RxJS observables.
 * Runs in Node and in browsers (no Node built-ins here; see `rxmux/node` for sockets).
 */
export { createSession, multiplex } from './session/multiplex.js';
export type {
  AcceptOptions,
  CloseOptions,
  IncomingChannel,
  OpenOptions,
  Session,
  SessionEnd,
  SessionState,
  SessionStats,
} from './session/types.js';
export type { ResumeOptions } from './session/resume/options.js';
export {
  ResumeRegistry,
  type ResumeRoute,
  type NewConnection,
  type ResumedConnection,
  type RefusedConnection,
} from './session/resume/registry.js';
export type { OverflowStrategy, SessionOptions } from './options.js';
export { DEFAULTS as SESSION_DEFAULTS } from './options.js';
export type { ByteSource, Channel, ChannelEnd, ChannelState, ChannelStats, SendOptions } from './channel/types.js';
export type { Carrier } from './carrier.js';
export { MuxError, MuxErrorCodes, isMuxError } from './errors.js';
export type { MuxErrorCode, MuxErrorDetails } from './errors.js';
// The common codec pieces; the low-level decoder core (FrameReader, FrameSink, header helpers) is in `rxmux/frame`.
export { PROTOCOL_VERSION, HEADER_LENGTH, INITIAL_WINDOW, MAX_U32, FrameType, Flag, GoAwayCode } from './frame/constants.js';
export type { DataFrame, WindowUpdateFrame, PingFrame, GoAwayFrame, Frame, FrameHeader } from './frame/frame.js';
export { encodeFrame, encodeFrames } from './frame/encode.js';
export { DEFAULT_MAX_FRAME_SIZE } from './frame/constants.js';
export { type DecodeOptions, FrameDecoder, decodeFrames } from './frame/decode.js';
export { toHex, fromHex, formatFlags, formatFrame } from './frame/format.js';
export { encodeReason, parseReason } from './frame/reason.js';
export { memoryPair } from './carriers/memory.js';
export type { ChunkSizeFn, MemoryCarrier, MemoryPairOptions, RandomChunkSize } from './carriers/memory.js';
export { toBytes, utf8 } from './util/bytes.js';
export { lengthPrefixed, DEFAULT_MAX_MESSAGE_SIZE } from './operators/length-prefixed.js';
export type { LengthPrefixedCodec, LengthPrefixedOptions } from './operators/length-prefixed.js';
export { jsonMessages } from './operators/json-messages.js';
export type { JsonCodec, JsonMessagesOptions } from './operators/json-messages.js';
export { utf8Lines, DEFAULT_MAX_LINE_LENGTH } from './operators/utf8-lines.js';
export type { Utf8LinesOptions } from './operators/utf8-lines.js';
