// The RST a channel (or the session, for an open it refuses) sends: in the rxmux profile a Data|RST carrying the
// code and reason, when that fits the peer's window; otherwise a bare WindowUpdate|RST with the code as its length,
// as go-yamux v5 has it.
import { Flag, FrameType } from '../frame/constants.js';
import { encodeReason } from '../frame/reason.js';

/** Where control frames are queued. */
interface ControlSink {
  control(type: number, flags: number, id: number, length: number, payload?: Uint8Array): void;
}

/**
 * Queues the RST for stream `id`; `room` is the peer's window for it (bytes). Returns the payload bytes sent (they
 * count against that window).
 *
 * @example
 * ```ts
 * queueReset(session, true, 3, 7, utf8Bytes('bye'), 262144); // Data|RST 00000007 627965
 * ```
 */
export function queueReset(sink: ControlSink, rxmux: boolean, id: number, code: number, text: Uint8Array, room: number): number {
  if (rxmux) {
    const payload = encodeReason(code, text);
    if (payload.byteLength <= room) {
      sink.control(FrameType.Data, Flag.RST, id, payload.byteLength, payload);
      return payload.byteLength;
    }
  }
  // The bare form carries the code in its length field, as go-yamux v5 sends it (older yamux peers ignore it).
  sink.control(FrameType.WindowUpdate, Flag.RST, id, code);
  return 0;
}
