// The rxmux profile's reset payload: a u32 code and a UTF-8 reason after the RST, encoded and parsed.
import { readU32, toBytes, utf8, writeU32 } from '../util/bytes.js';

/**
 * The rxmux profile's reset/reject payload (carried by a Data|RST frame): a u32 big-endian code, then the
 * UTF-8 reason. An empty payload means code 0 and no reason.
 *
 * @example
 * ```ts
 * encodeReason(7, 'bye'); // 00000007 627965
 * ```
 */
export function encodeReason(code: number, reason: Uint8Array | string): Uint8Array {
  const text = toBytes(reason);
  const out = new Uint8Array(4 + text.byteLength);
  writeU32(out, 0, code);
  out.set(text, 4);
  return out;
}

/** Reads a reset/reject payload; a payload shorter than 4 bytes is code 0 with no reason. */
export function parseReason(payload: Uint8Array): {
  /** The reset/reject code (u32). */
  code: number;
  /** The UTF-8 reason; undefined when the payload carries none. */
  reason: string | undefined;
} {
  if (payload.byteLength < 4) return { code: 0, reason: undefined };
  const code = readU32(payload, 0);
  return { code, reason: payload.byteLength > 4 ? utf8(payload.subarray(4)) : undefined };
}
