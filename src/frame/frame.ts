// The frame union (Data, WindowUpdate, Ping, GoAway) and the header fields, as the codec's objects.
/** A Data frame: payload bytes for one stream, with SYN/ACK/FIN/RST flags. */
export interface DataFrame {
  /** Discriminant: `'data'` (wire type 0). */
  readonly type: 'data';
  /** Stream id, u32; never 0 (0 is the session). */
  readonly streamId: number;
  /** Flag bits (see {@link Flag}), u16 on the wire. */
  readonly flags: number;
  /** Payload; its byte length is the header's length field. */
  readonly data: Uint8Array;
}

/** A WindowUpdate frame: `delta` more bytes of send credit for a stream (also carries SYN/ACK/FIN/RST). */
export interface WindowUpdateFrame {
  /** Discriminant: `'window-update'` (wire type 1). */
  readonly type: 'window-update';
  /** Stream id, u32; never 0 (0 is the session). */
  readonly streamId: number;
  /** Flag bits (see {@link Flag}), u16 on the wire. */
  readonly flags: number;
  /** Bytes of send credit granted, u32 (the header's length field). */
  readonly delta: number;
}

/** A Ping on the session (stream 0): SYN asks, ACK answers with the same opaque value. */
export interface PingFrame {
  /** Discriminant: `'ping'` (wire type 2). */
  readonly type: 'ping';
  /** Always 0: pings belong to the session. */
  readonly streamId: 0;
  /** Flag bits (see {@link Flag}): SYN on a request, ACK on the answer. */
  readonly flags: number;
  /** Value the answer echoes, u32 (the header's length field). */
  readonly opaque: number;
}

/** A GoAway on the session (stream 0): 0 normal, 1 protocol error, 2 internal error. */
export interface GoAwayFrame {
  /** Discriminant: `'go-away'` (wire type 3). */
  readonly type: 'go-away';
  /** Always 0: GoAway belongs to the session. */
  readonly streamId: 0;
  /** Flag bits (see {@link Flag}); none is defined for GoAway, so normally 0. */
  readonly flags: number;
  /** The {@link GoAwayCode}, u32 (the header's length field). */
  readonly code: number;
}

/** One yamux frame, as a discriminated union on `type`. */
export type Frame = DataFrame | WindowUpdateFrame | PingFrame | GoAwayFrame;

/** The decoded fixed header of a frame. */
export interface FrameHeader {
  /** Protocol version byte; {@link PROTOCOL_VERSION} (0) is the only valid one. */
  readonly version: number;
  /** Frame type byte (see {@link FrameType}). */
  readonly type: number;
  /** Flag bits, u16 (see {@link Flag}). */
  readonly flags: number;
  /** Stream id, u32; 0 is the session. */
  readonly streamId: number;
  /** Payload length for Data; delta / opaque / code for the other types. */
  readonly length: number;
}
