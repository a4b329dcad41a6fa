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
  Data: 0,
  WindowUpdate: 1,
  Ping: 2,
  GoAway: 3,
} as const;

/** Wire values of the flag bits. */
export const Flag = {
  SYN: 1,
  ACK: 2,
  FIN: 4,
  RST: 8,
} as const;

/** GoAway codes. */
export const GoAwayCode = {
  Normal: 0,
  ProtocolError: 1,
  InternalError: 2,
} as const;
