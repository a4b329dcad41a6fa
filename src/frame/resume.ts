// The session-resumption extension of the rxmux profile: the Hello ping that negotiates it, and the Resume frames
// (type 4, stream 0) that carry tokens, acknowledged positions and the resume exchange. Pure encode/parse helpers.
import { FrameType, HEADER_LENGTH } from './constants.js';
import { writeHeader } from './encode.js';
import { readU32, writeU32 } from '../util/bytes.js';

/** Wire type byte of a Resume frame (rxmux profile, only once both ends negotiated resumption). */
export const RESUME_FRAME_TYPE = 4;

/** Flag bit of the Hello ping: a Ping with only this flag asks nothing and is ignored by peers without resumption. */
export const HELLO_FLAG = 0x10;

/** Capability bit in the Hello ping's opaque value: this side resumes sessions (extension version 1). */
export const HELLO_RESUME = 1;

/** Bytes of a resume token: an 8-byte session id, then a 16-byte (128-bit) secret. */
export const TOKEN_LENGTH = 24;

/** Bytes of the session id at the start of a token. */
export const TOKEN_ID_LENGTH = 8;

/** Largest Resume frame payload accepted, bytes (a longer one is a protocol error). */
export const MAX_RESUME_PAYLOAD = 1024;

/** The kind of a Resume frame, carried in its flags field. */
export const ResumeKind = {
  /** 1, server to client: the session's token (24 bytes). */
  Token: 1,
  /** 2: the receiver's acknowledged position (u64). */
  Ack: 2,
  /** 3, client to server, first frame of a new carrier: token (24 bytes), then the client's position (u64). */
  Resume: 3,
  /** 4, server to client: the server's position (u64), then the next token (24 bytes). */
  Resumed: 4,
  /** 5, server to client: the attempt is refused: u32 {@link ResumeRefusal} code, then a UTF-8 reason. */
  Refused: 5,
  /** 6: the sender's session ended on purpose; the end of the carrier that follows is final. No payload. */
  End: 6,
} as const;

/** Codes of a Refused frame. */
export const ResumeRefusal = {
  /** 1: no session with this token: wrong, stale (already used), or the session is gone. */
  Token: 1,
  /** 2: the server no longer holds the bytes from the client's position on. */
  Position: 2,
  /** 3: the session is connected: a second carrier presents its token. */
  InUse: 3,
  /** 4: too many refused attempts on this session. */
  Attempts: 4,
} as const;

/** A Resume frame, parsed. */
interface ResumeFrame {
  /** The {@link ResumeKind}. */
  readonly kind: number;
  /** The payload (a view). */
  readonly payload: Uint8Array;
}

/** Writes `value` (an integer from 0 to 2^53 - 1) as a big-endian u64 at `at`. */
function writeU64(b: Uint8Array, at: number, value: number): void {
  writeU32(b, at, Math.floor(value / 0x1_0000_0000));
  writeU32(b, at + 4, value >>> 0);
}

/** Reads a big-endian u64 at `at`; throws a RangeError past 2^53 - 1. */
export function readU64(b: Uint8Array, at: number): number {
  const hi = readU32(b, at);
  if (hi > 0x1f_ffff) throw new RangeError('position beyond 2^53 - 1');
  return hi * 0x1_0000_0000 + readU32(b, at + 4);
}

/** Encodes a Resume frame: header (type 4, stream 0, flags = kind, length = payload bytes), then the payload. */
export function encodeResumeFrame(kind: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH + payload.byteLength);
  writeHeader(out, 0, RESUME_FRAME_TYPE, kind, 0, payload.byteLength);
  out.set(payload, HEADER_LENGTH);
  return out;
}

/** The Hello ping: `00 02 0010 00000000 00000001`. */
export function encodeHello(): Uint8Array {
  const out = new Uint8Array(HEADER_LENGTH);
  writeHeader(out, 0, FrameType.Ping, HELLO_FLAG, 0, HELLO_RESUME);
  return out;
}

/** An Ack frame for `position`. */
export function encodeAck(position: number): Uint8Array {
  const p = new Uint8Array(8);
  writeU64(p, 0, position);
  return encodeResumeFrame(ResumeKind.Ack, p);
}

/** A Resume request: token, then the client's position. */
export function encodeResume(token: Uint8Array, position: number): Uint8Array {
  const p = new Uint8Array(TOKEN_LENGTH + 8);
  p.set(token, 0);
  writeU64(p, TOKEN_LENGTH, position);
  return encodeResumeFrame(ResumeKind.Resume, p);
}

/** A Resumed answer: the server's position, then the next token. */
export function encodeResumed(position: number, token: Uint8Array): Uint8Array {
  const p = new Uint8Array(8 + TOKEN_LENGTH);
  writeU64(p, 0, position);
  p.set(token, 8);
  return encodeResumeFrame(ResumeKind.Resumed, p);
}

/** A Refused answer: code, then a UTF-8 reason. */
export function encodeRefused(code: number, reason: string): Uint8Array {
  const text = new TextEncoder().encode(reason).subarray(0, MAX_RESUME_PAYLOAD - 4);
  const p = new Uint8Array(4 + text.byteLength);
  writeU32(p, 0, code);
  p.set(text, 4);
  return encodeResumeFrame(ResumeKind.Refused, p);
}

/**
 * Parses one whole Resume frame at the start of `bytes` (header and payload); undefined when the frame is not whole
 * yet. Throws a RangeError when the first bytes are not a Resume frame or its payload is over {@link MAX_RESUME_PAYLOAD}.
 */
export function parseResumeFrame(bytes: Uint8Array): { frame: ResumeFrame; size: number } | undefined {
  if (bytes.byteLength < HEADER_LENGTH) return undefined;
  if (bytes[0] !== 0 || bytes[1] !== RESUME_FRAME_TYPE) throw new RangeError('not a Resume frame');
  const length = readU32(bytes, 8);
  if (length > MAX_RESUME_PAYLOAD) throw new RangeError(`Resume frame payload of ${length} bytes over ${MAX_RESUME_PAYLOAD}`);
  if (bytes.byteLength < HEADER_LENGTH + length) return undefined;
  const kind = (bytes[2]! << 8) | bytes[3]!;
  return { frame: { kind, payload: bytes.subarray(HEADER_LENGTH, HEADER_LENGTH + length) }, size: HEADER_LENGTH + length };
}
