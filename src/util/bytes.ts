import { MuxError } from '../errors.js';

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Bytes from a Uint8Array (as is) or a string (UTF-8). Throws ERR_MUX_INVALID_ARGUMENT for anything else. */
export function toBytes(data: unknown): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (typeof data === 'string') return encoder.encode(data);
  throw new MuxError('ERR_MUX_INVALID_ARGUMENT', `expected a Uint8Array or a string, got ${data === null ? 'null' : typeof data}`);
}

/** UTF-8 text of bytes. */
export function utf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}
