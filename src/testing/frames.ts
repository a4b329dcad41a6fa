// Frame builders for tests and marble diagrams (f.data, f.open, f.credit, f.ping, ...), in both profiles.
import { Flag } from '../frame/constants.js';
import type { DataFrame, GoAwayFrame, PingFrame, WindowUpdateFrame } from '../frame/frame.js';
import { encodeReason } from '../frame/reason.js';
import { toBytes } from '../util/bytes.js';

function bytes(data: Uint8Array | string): Uint8Array {
  return new Uint8Array(toBytes(data));
}

/**
 * Frame builders for tests and marble diagrams. Profile-neutral builders (`data`, `credit`, `fin`, `ping`, …)
 * work for both profiles; `open`/`accept`/`reset` build the rxmux-profile forms, `syn`/`ack`/`rst` the plain yamux ones.
 *
 * @example
 * ```ts
 * const peer = hot('-o--c-', { o: f.open(1, 'hello'), c: f.credit(1, 65536) });
 * ```
 */
export const f = {
  /** Data frame with a payload (string = UTF-8) and optional flags. */
  data(streamId: number, payload: Uint8Array | string = '', flags = 0): DataFrame {
    return { type: 'data', streamId, flags, data: bytes(payload) };
  },
  /** WindowUpdate granting `delta` bytes, with optional flags. */
  credit(streamId: number, delta: number, flags = 0): WindowUpdateFrame {
    return { type: 'window-update', streamId, flags, delta };
  },
  /** rxmux profile open: Data|SYN carrying the metadata. */
  open(streamId: number, meta: Uint8Array | string = ''): DataFrame {
    return f.data(streamId, meta, Flag.SYN);
  },
  /** rxmux profile accept: Data|ACK carrying the reply metadata. */
  accept(streamId: number, meta: Uint8Array | string = ''): DataFrame {
    return f.data(streamId, meta, Flag.ACK);
  },
  /** rxmux profile reset or reject: Data|RST carrying a u32 code and a UTF-8 reason. */
  reset(streamId: number, code = 0, reason = ''): DataFrame {
    return { type: 'data', streamId, flags: Flag.RST, data: encodeReason(code, reason) };
  },
  /** yamux open: WindowUpdate|SYN with a window delta (0 = the 256 KiB default). */
  syn(streamId: number, delta = 0): WindowUpdateFrame {
    return f.credit(streamId, delta, Flag.SYN);
  },
  /** yamux accept: WindowUpdate|ACK with a window delta. */
  ack(streamId: number, delta = 0): WindowUpdateFrame {
    return f.credit(streamId, delta, Flag.ACK);
  },
  /** yamux reset: WindowUpdate|RST, the reset code in its length field (go-yamux v5; 0 = no code). */
  rst(streamId: number, code = 0): WindowUpdateFrame {
    return f.credit(streamId, code, Flag.RST);
  },
  /** Half-close: WindowUpdate|FIN with delta 0 (the form rxmux and Go yamux send). */
  fin(streamId: number): WindowUpdateFrame {
    return f.credit(streamId, 0, Flag.FIN);
  },
  /** Ping request (SYN). */
  ping(opaque: number): PingFrame {
    return { type: 'ping', streamId: 0, flags: Flag.SYN, opaque };
  },
  /** Ping answer (ACK). */
  pong(opaque: number): PingFrame {
    return { type: 'ping', streamId: 0, flags: Flag.ACK, opaque };
  },
  /** GoAway with a code: 0 normal, 1 protocol error, 2 internal error. */
  goAway(code = 0): GoAwayFrame {
    return { type: 'go-away', streamId: 0, flags: 0, code };
  },
} as const;
