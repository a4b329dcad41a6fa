// Byte helpers shared by the codec and operators: bytes from strings and views, u32 big-endian reads and
// writes, UTF-8 decoding, concatenation.
import { MuxError } from '../errors.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Bytes from a Uint8Array (as is) or a string (UTF-8). Throws ERR_MUX_INVALID_ARGUMENT for anything else. */
export function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (typeof data === 'string') return encoder.encode(data);
  throw new MuxError('ERR_MUX_INVALID_ARGUMENT', `expected a Uint8Array or a string, got ${data === null ? 'null' : typeof data}`);
}

/** Writes `value` as a big-endian u32 at `at` (the byte order of every number on the wire). */
export function writeU32(b: Uint8Array, at: number, value: number): void {
  b[at] = value >>> 24;
  b[at + 1] = (value >>> 16) & 0xff;
  b[at + 2] = (value >>> 8) & 0xff;
  b[at + 3] = value & 0xff;
}

/** Reads a big-endian u32 at `at`. */
export function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

/** UTF-8 text of bytes. */
export function utf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

/** The chunks joined into one new array of their total length. */
export function concatBytes(chunks: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.byteLength;
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
