// The yamux wire constants: version, header length, initial window, frame types, flags and GoAway codes,
// and the decoder's default frame size limit.
/** yamux protocol version carried in every header. rxmux speaks version 0 only. */
export const PROTOCOL_VERSION = 0;
/** Bytes in a frame header: version u8, type u8, flags u16, stream id u32, length u32, all big-endian. */
export const HEADER_LENGTH = 12;
/** Receive window (bytes) both ends assume for every new stream, in each direction, before any WindowUpdate. */
export const INITIAL_WINDOW = 256 * 1024;
/** Largest value a u32 window or length can hold. */
export const MAX_U32 = 0xffff_ffff;

/** Wire values of the frame type byte. */
export const FrameType = {
  /** 0: payload bytes for a stream; its flags may also open, answer, half-close or reset the stream. */
  Data: 0,
  /** 1: `length` more bytes of send credit for a stream; carries the same flags as Data. */
  WindowUpdate: 1,
  /** 2: on stream 0, SYN asks and ACK answers, echoing the opaque value in `length`. */
  Ping: 2,
  /** 3: on stream 0, the sender accepts no new streams; `length` is the {@link GoAwayCode}. */
  GoAway: 3,
} as const;

/** Wire values of the flag bits. */
export const Flag = {
  /** 0x1: opens a new stream (on a Ping: a request). */
  SYN: 1,
  /** 0x2: accepts a stream the peer opened (on a Ping: the answer). */
  ACK: 2,
  /** 0x4: half-close: the sender sends no more data on the stream. */
  FIN: 4,
  /** 0x8: resets the stream at once, in both directions (also refuses an open). */
  RST: 8,
} as const;

/** GoAway codes. */
export const GoAwayCode = {
  /** 0: normal termination. */
  Normal: 0,
  /** 1: the sender saw a protocol error from the receiver. */
  ProtocolError: 1,
  /** 2: the sender hit an internal error. */
  InternalError: 2,
} as const;

/** Largest Data payload a decoder accepts by default (`maxFrameSize`): 16 MiB. */
export const DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024;
