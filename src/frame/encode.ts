// The pure yamux encoder: headers written in place, and whole frames (or a batch of them) as bytes.
import { FrameType, HEADER_LENGTH, MAX_U32, PROTOCOL_VERSION } from './constants.js';
import { writeU32 } from '../util/bytes.js';
import type { Frame } from './frame.js';

/** Writes a 12-byte header into `target` at `offset`. Pure; no allocation. */
export function writeHeader(target: Uint8Array, offset: number, type: number, flags: number, streamId: number, length: number): void {
  target[offset] = PROTOCOL_VERSION;
  target[offset + 1] = type;
  target[offset + 2] = (flags >>> 8) & 0xff;
  target[offset + 3] = flags & 0xff;
  writeU32(target, offset + 4, streamId);
  writeU32(target, offset + 8, length);
}

/** The wire type byte and length field of a frame. */
export function headerFields(frame: Frame): {
  /** The frame type byte (see {@link FrameType}). */
  type: number;
  /** The header's length field: payload bytes for Data, else the delta / opaque / code. */
  length: number;
} {
  switch (frame.type) {
    case 'data':
      return { type: FrameType.Data, length: frame.data.byteLength };
    case 'window-update':
      return { type: FrameType.WindowUpdate, length: frame.delta };
    case 'ping':
      return { type: FrameType.Ping, length: frame.opaque };
    case 'go-away':
      return { type: FrameType.GoAway, length: frame.code };
  }
}

/**
 * Encodes one frame into a new buffer (header and payload).
 * Throws a RangeError when the stream id, the length field (delta / opaque / code) or the
 * flags do not fit their wire width (u32, u32, u16) rather than truncating them.
 *
 * @example
 * ```ts
 * encodeFrame({ type: 'ping', streamId: 0, flags: Flag.SYN, opaque: 7 }); // 00 02 00 01 00000000 00000007
 * ```
 */
export function encodeFrame(frame: Frame): Uint8Array {
  const { type, length } = headerFields(frame);
  if (!Number.isInteger(frame.streamId) || frame.streamId < 0 || frame.streamId > MAX_U32) {
    throw new RangeError(`stream id out of range: ${frame.streamId}`);
  }
  if (!Number.isInteger(length) || length < 0 || length > MAX_U32) {
    throw new RangeError(`length field out of range: ${length}`);
  }
  if (!Number.isInteger(frame.flags) || frame.flags < 0 || frame.flags > 0xffff) {
    throw new RangeError(`flags out of range (u16): ${frame.flags}`);
  }
  const payload = frame.type === 'data' ? frame.data : undefined;
  const out = new Uint8Array(HEADER_LENGTH + (payload?.byteLength ?? 0));
  writeHeader(out, 0, type, frame.flags, frame.streamId, length);
  if (payload) out.set(payload, HEADER_LENGTH);
  return out;
}

/** Encodes frames back to back into one buffer. */
export function encodeFrames(frames: readonly Frame[]): Uint8Array {
  const parts = frames.map(encodeFrame);
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}
