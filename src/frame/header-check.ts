// Header checks of the yamux codec: version, type, stream-id placement and size limit, with the errors that say
// what a peer that is not yamux looks like. Shared by the frame reader and by session-side header checks.
import { MuxError } from '../errors.js';
import { FrameType, HEADER_LENGTH, PROTOCOL_VERSION } from './constants.js';
import { writeHeader } from './encode.js';
import type { FrameHeader } from './frame.js';

/** What a header check may answer: accept the frame, skip its payload unread, or fail with an error. */
export type HeaderVerdict = undefined | 'skip' | MuxError;

export function protocolError(message: string): MuxError {
  return new MuxError('ERR_MUX_PROTOCOL', message, { wireCode: 1 });
}

/** Checks the fixed rules of a header: version, type, stream-id placement, size limit. */
export function validateHeader(h: FrameHeader, maxFrameSize: number): MuxError | undefined {
  return checkFields(h.version, h.type, h.streamId, h.length, maxFrameSize, h.flags);
}

/** What the first bytes of a stream that is not yamux look like, for the error message ('' when unknown). */
function lookLike(b: Uint8Array): string {
  const text = String.fromCharCode(...b);
  if (/^(HTTP\/|GET |POST|PUT |HEAD|DELE|OPTI|PATC|CONN|PRI )/.test(text)) return 'HTTP';
  if (b[0] === 0x16 && b[1] === 0x03) return 'a TLS handshake';
  if (text.startsWith('SSH-')) return 'SSH';
  if (/^[\x20-\x7e\r\n\t]+$/.test(text)) return 'text';
  return '';
}

/** The error for a header whose version byte is not 0: a stream out of step, or a peer that is no yamux peer at all. */
function versionError(b: Uint8Array, first: boolean): MuxError {
  const hex = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(' ');
  const printable = String.fromCharCode(...b).replace(/[^\x20-\x7e]/g, '.');
  if (!first) return protocolError(`unsupported protocol version ${b[0]} (header bytes ${hex})`);
  const looks = lookLike(b);
  return protocolError(
    `the peer does not speak yamux (first bytes ${looks ? `look like ${looks}: ` : ''}"${printable}", ${hex}): unsupported protocol version ${b[0]}`,
  );
}

function headerBytes(version: number, type: number, flags: number, streamId: number, length: number): Uint8Array {
  const b = new Uint8Array(HEADER_LENGTH);
  writeHeader(b, 0, type, flags, streamId, length);
  b[0] = version;
  return b;
}

export function checkFields(
  version: number,
  type: number,
  streamId: number,
  length: number,
  maxFrameSize: number,
  flags = 0,
  first = false,
): MuxError | undefined {
  if (version !== PROTOCOL_VERSION) return versionError(headerBytes(version, type, flags, streamId, length), first);
  switch (type) {
    case FrameType.Data:
      if (streamId === 0) return protocolError('Data frame on stream 0');
      if (length > maxFrameSize) {
        return protocolError(`frame of ${length} bytes exceeds the ${maxFrameSize}-byte limit`);
      }
      return undefined;
    case FrameType.WindowUpdate:
      if (streamId === 0) return protocolError('WindowUpdate frame on stream 0');
      return undefined;
    case FrameType.Ping:
      if (streamId !== 0) return protocolError(`Ping frame on stream ${streamId}`);
      return undefined;
    case FrameType.GoAway:
      if (streamId !== 0) return protocolError(`GoAway frame on stream ${streamId}`);
      return undefined;
    default:
      return protocolError(`unknown frame type ${type}`);
  }
}
