/**
 * A deliberately naive yamux frame codec, written from the spec alone, used only to
 * cross-check the fast codec in src/frame. It shares nothing with src/frame except the
 * `Frame` types: its own numbers, a DataView, byte-by-byte copies, whole-buffer input.
 *
 * Wire format (hashicorp/yamux spec.md, version 0):
 *   version u8 | type u8 | flags u16 BE | stream id u32 BE | length u32 BE | payload (Data only)
 * Types: 0 Data, 1 WindowUpdate, 2 Ping, 3 GoAway. Ping and GoAway live on stream 0;
 * Data and WindowUpdate never do. For non-Data types `length` carries the delta, the
 * opaque ping value or the GoAway code, and there is no payload.
 */
import type { Frame } from '../../src/frame/frame.js';

const REF_HEADER_SIZE = 12;
const REF_TYPE_DATA = 0;
const REF_TYPE_WINDOW_UPDATE = 1;
const REF_TYPE_PING = 2;
const REF_TYPE_GO_AWAY = 3;

/** Encodes frames back to back, one DataView write per header field and one byte at a time for payloads. */
export function referenceEncode(frames: readonly Frame[]): Uint8Array {
  let total = 0;
  for (const f of frames) total += REF_HEADER_SIZE + (f.type === 'data' ? f.data.length : 0);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  let pos = 0;
  for (const f of frames) {
    let typeByte: number;
    let lengthField: number;
    if (f.type === 'data') {
      typeByte = REF_TYPE_DATA;
      lengthField = f.data.length;
    } else if (f.type === 'window-update') {
      typeByte = REF_TYPE_WINDOW_UPDATE;
      lengthField = f.delta;
    } else if (f.type === 'ping') {
      typeByte = REF_TYPE_PING;
      lengthField = f.opaque;
    } else {
      typeByte = REF_TYPE_GO_AWAY;
      lengthField = f.code;
    }
    view.setUint8(pos, 0);
    view.setUint8(pos + 1, typeByte);
    view.setUint16(pos + 2, f.flags, false);
    view.setUint32(pos + 4, f.streamId, false);
    view.setUint32(pos + 8, lengthField, false);
    pos += REF_HEADER_SIZE;
    if (f.type === 'data') {
      for (let i = 0; i < f.data.length; i++) {
        view.setUint8(pos, f.data[i]!);
        pos++;
      }
    }
  }
  return out;
}

/** What the reference decoder makes of a buffer: the frames before the first problem, and that problem if any. */
interface ReferenceDecodeResult {
  frames: Frame[];
  /** `protocol`: a header broke a rule; `truncated`: the buffer ended inside a frame. */
  error?: 'protocol' | 'truncated';
}

/** Decodes a whole buffer, front to back, stopping at the first rule violation or truncation. */
export function referenceDecode(bytes: Uint8Array, maxDataLength = 16 * 1024 * 1024): ReferenceDecodeResult {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const frames: Frame[] = [];
  let pos = 0;
  while (pos < bytes.length) {
    if (bytes.length - pos < REF_HEADER_SIZE) return { frames, error: 'truncated' };
    const version = view.getUint8(pos);
    const typeByte = view.getUint8(pos + 1);
    const flags = view.getUint16(pos + 2, false);
    const streamId = view.getUint32(pos + 4, false);
    const lengthField = view.getUint32(pos + 8, false);
    pos += REF_HEADER_SIZE;
    if (version !== 0) return { frames, error: 'protocol' };
    if (typeByte === REF_TYPE_DATA) {
      if (streamId === 0 || lengthField > maxDataLength) return { frames, error: 'protocol' };
      if (bytes.length - pos < lengthField) return { frames, error: 'truncated' };
      const data = new Uint8Array(lengthField);
      for (let i = 0; i < lengthField; i++) data[i] = view.getUint8(pos + i);
      pos += lengthField;
      frames.push({ type: 'data', streamId, flags, data });
    } else if (typeByte === REF_TYPE_WINDOW_UPDATE) {
      if (streamId === 0) return { frames, error: 'protocol' };
      frames.push({ type: 'window-update', streamId, flags, delta: lengthField });
    } else if (typeByte === REF_TYPE_PING) {
      if (streamId !== 0) return { frames, error: 'protocol' };
      frames.push({ type: 'ping', streamId: 0, flags, opaque: lengthField });
    } else if (typeByte === REF_TYPE_GO_AWAY) {
      if (streamId !== 0) return { frames, error: 'protocol' };
      frames.push({ type: 'go-away', streamId: 0, flags, code: lengthField });
    } else {
      return { frames, error: 'protocol' };
    }
  }
  return { frames };
}

/** A frame as a plain, comparable record (payload as hex), so diffs are readable and typed-array views compare by content. */
export function plainFrame(f: Frame): Record<string, string | number> {
  if (f.type === 'data') {
    let hex = '';
    for (let i = 0; i < f.data.length; i++) hex += (f.data[i]! < 16 ? '0' : '') + f.data[i]!.toString(16);
    return { type: f.type, streamId: f.streamId, flags: f.flags, data: hex };
  }
  if (f.type === 'window-update') return { type: f.type, streamId: f.streamId, flags: f.flags, delta: f.delta };
  if (f.type === 'ping') return { type: f.type, streamId: f.streamId, flags: f.flags, opaque: f.opaque };
  return { type: f.type, streamId: f.streamId, flags: f.flags, code: f.code };
}
