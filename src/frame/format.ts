// Frames as text for logs and test diffs (formatFrame, formatFlags), and hex to bytes and back.
import { Flag } from './constants.js';
import type { Frame } from './frame.js';

/** Lower-case hex of bytes, e.g. `00010203`. */
export function toHex(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.byteLength; i++) s += bytes[i]!.toString(16).padStart(2, '0');
  return s;
}

/** Bytes from hex; spaces, newlines and `_` are ignored. Throws RangeError on odd length or bad digits. */
export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/[\s_]/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new RangeError(`not hex: ${hex}`);
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Flag bits as text: `SYN|FIN`, or `-` for none. */
export function formatFlags(flags: number): string {
  const names: string[] = [];
  if (flags & Flag.SYN) names.push('SYN');
  if (flags & Flag.ACK) names.push('ACK');
  if (flags & Flag.FIN) names.push('FIN');
  if (flags & Flag.RST) names.push('RST');
  const unknown = flags & ~0xf;
  if (unknown) names.push(`0x${unknown.toString(16)}`);
  return names.length ? names.join('|') : '-';
}

/**
 * One line describing a frame, for logs and test diffs.
 *
 * @example
 * ```ts
 * formatFrame({ type: 'data', streamId: 3, flags: Flag.FIN, data: new Uint8Array([104, 105]) }); // 'Data(3, FIN, 2 bytes: 6869)'
 * ```
 */
export function formatFrame(frame: Frame, maxHexBytes = 16): string {
  const flags = formatFlags(frame.flags);
  switch (frame.type) {
    case 'data': {
      const shown = toHex(frame.data.subarray(0, maxHexBytes));
      const more = frame.data.byteLength > maxHexBytes ? '…' : '';
      return `Data(${frame.streamId}, ${flags}, ${frame.data.byteLength} bytes${frame.data.byteLength ? `: ${shown}${more}` : ''})`;
    }
    case 'window-update':
      return `WindowUpdate(${frame.streamId}, ${flags}, +${frame.delta})`;
    case 'ping':
      return `Ping(${flags}, ${frame.opaque})`;
    case 'go-away':
      return `GoAway(${frame.code})`;
  }
}
