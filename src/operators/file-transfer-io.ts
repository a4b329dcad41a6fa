// The receiving side's pull reader over channel.read() (byte runs and length-prefixed JSON messages) and the
// mapping of file-system failures to MuxErrors, for sendFile and receiveFile.
import { dirname } from 'node:path';
import type { Channel } from '../channel/types.js';
import { MuxError, MuxErrorCodes, type MuxErrorCode } from '../errors.js';
import { readU32 } from '../util/bytes.js';

const decoder = new TextDecoder('utf-8', { fatal: true });

export function decodeError(text: string): MuxError {
  return new MuxError('ERR_MUX_DECODE', text);
}

/** Pull reader over `channel.read()`: bytes at most n at a time, exact runs, and length-prefixed messages. */
export class ChannelReader {
  private buf: Uint8Array | undefined;
  private off = 0;

  constructor(private readonly channel: Channel) {}

  /** At most `max` bytes (a view), or null after the peer's FIN. */
  async next(max: number): Promise<Uint8Array | null> {
    while (!this.buf || this.off >= this.buf.byteLength) {
      const chunk = await this.channel.read();
      if (chunk === null) return null;
      this.buf = chunk;
      this.off = 0;
    }
    const n = Math.min(max, this.buf.byteLength - this.off);
    const out = this.buf.subarray(this.off, this.off + n);
    this.off += n;
    return out;
  }

  async exactly(n: number, what: string): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let at = 0;
    while (at < n) {
      const piece = await this.next(n - at);
      if (piece === null) throw decodeError(`file transfer: the stream ended inside ${what} (${at} of ${n} bytes)`);
      out.set(piece, at);
      at += piece.byteLength;
    }
    return out;
  }

  /** One length-prefixed JSON message; null when the stream ends cleanly before it. */
  async json(max: number, what: string): Promise<Record<string, unknown> | null> {
    const first = await this.next(4);
    if (first === null) return null;
    const prefix = new Uint8Array(4);
    prefix.set(first);
    if (first.byteLength < 4) prefix.set(await this.exactly(4 - first.byteLength, what), first.byteLength);
    const length = readU32(prefix, 0);
    if (length > max) throw new MuxError('ERR_MUX_LIMIT', `file transfer: ${what} of ${length} bytes exceeds the ${max}-byte limit`);
    const body = await this.exactly(length, what);
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(body));
    } catch (e) {
      throw new MuxError('ERR_MUX_DECODE', `file transfer: ${what} is not valid UTF-8 JSON`, { cause: e });
    }
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw decodeError(`file transfer: ${what} is not a JSON object`);
    return value as Record<string, unknown>;
  }
}

export function isCode(code: unknown): code is MuxErrorCode {
  return typeof code === 'string' && (Object.values(MuxErrorCodes) as string[]).includes(code);
}

/** File-system error codes that mean the path given is unusable (not a failing disk). */
const BAD_PATH = new Set(['ENOENT', 'ENOTDIR', 'EISDIR', 'EACCES', 'EPERM', 'ENAMETOOLONG', 'ELOOP', 'EROFS']);

/**
 * A failure as the MuxError the transfer errors with: MuxErrors as they are; a file-system error on the path given
 * becomes ERR_MUX_INVALID_ARGUMENT (e.g. a missing directory), any other one ERR_MUX_INTERNAL; `cause` keeps Node's error.
 */
export function transferError(e: unknown, who: 'sendFile' | 'receiveFile', path: string): MuxError {
  if (e instanceof MuxError) return e;
  const code = (e as { code?: unknown } | null)?.code;
  const message = (e as { message?: unknown } | null)?.message;
  const detail = typeof message === 'string' ? message : String(e);
  if (typeof code === 'string' && BAD_PATH.has(code)) {
    const hint = code === 'ENOENT' ? (who === 'receiveFile' ? `: the directory ${dirname(path)} does not exist` : ': no such file') : '';
    return new MuxError(
      'ERR_MUX_INVALID_ARGUMENT',
      `${who}: cannot ${who === 'receiveFile' ? 'write' : 'read'} ${path}${hint} (${detail})`,
      { cause: e },
    );
  }
  return new MuxError('ERR_MUX_INTERNAL', `${who}: file system error on ${path}: ${detail}`, { cause: e });
}
