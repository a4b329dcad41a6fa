/**
 * The yamux frame codec: constants, the frame union, a pure encoder, an incremental
 * decoder (and its RxJS operator), and hex formatting for logs and test diffs.
 *
 * @example
 * ```ts
 * import { decodeFrames, encodeFrame, formatFrame } from './frame/index.js';
 * carrier.incoming$.pipe(decodeFrames()).subscribe((f) => console.log(formatFrame(f)));
 * ```
 */
export { PROTOCOL_VERSION, HEADER_LENGTH, INITIAL_WINDOW, MAX_U32, FrameType, Flag, GoAwayCode } from './constants.js';
export type { DataFrame, WindowUpdateFrame, PingFrame, GoAwayFrame, Frame, FrameHeader } from './frame.js';
export { writeHeader, headerFields, encodeFrame, encodeFrames } from './encode.js';
export { DEFAULT_MAX_FRAME_SIZE } from './constants.js';
export { type HeaderVerdict, validateHeader } from './header-check.js';
export { FrameReader, type FrameSink, PART_MIN_BYTES } from './reader.js';
export { type DecodeOptions, FrameDecoder, readHeader, decodeFrames, decodeAll } from './decode.js';
export { toHex, fromHex, formatFlags, formatFrame } from './format.js';
export { encodeReason, parseReason } from './reason.js';
