/** A Data frame: payload bytes for one stream, with SYN/ACK/FIN/RST flags. */
export interface DataFrame {
  readonly type: 'data';
  readonly streamId: number;
  readonly flags: number;
  readonly data: Uint8Array;
}

/** A WindowUpdate frame: `delta` more bytes of send credit for a stream (also carries SYN/ACK/FIN/RST). */
export interface WindowUpdateFrame {
  readonly type: 'window-update';
  readonly streamId: number;
  readonly flags: number;
  readonly delta: number;
}

/** A Ping on the session (stream 0): SYN asks, ACK answers with the same opaque value. */
export interface PingFrame {
  readonly type: 'ping';
  readonly streamId: 0;
  readonly flags: number;
  readonly opaque: number;
}

/** A GoAway on the session (stream 0): 0 normal, 1 protocol error, 2 internal error. */
export interface GoAwayFrame {
  readonly type: 'go-away';
  readonly streamId: 0;
  readonly flags: number;
  readonly code: number;
}

/** One yamux frame, as a discriminated union on `type`. */
export type Frame = DataFrame | WindowUpdateFrame | PingFrame | GoAwayFrame;

/** The decoded fixed header of a frame. */
export interface FrameHeader {
  readonly version: number;
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  /** Payload length for Data; delta / opaque / code for the other types. */
  readonly length: number;
}
