import { Observable, takeUntil, type OperatorFunction } from 'rxjs';
import { MuxError } from '../errors.js';
import { FrameType, HEADER_LENGTH, PROTOCOL_VERSION } from './constants.js';
import type { Frame, FrameHeader } from './frame.js';

/** What a header check may answer: accept the frame, skip its payload unread, or fail with an error. */
export type HeaderVerdict = undefined | 'skip' | MuxError;

/** Limits and hooks for {@link FrameDecoder} and {@link decodeFrames}. */
export interface DecodeOptions {
  /** Largest Data payload accepted, in bytes. Checked on the header, before any payload is buffered. Default 16 MiB. */
  maxFrameSize?: number;
  /**
   * Called with each header before its payload is read. Return an error to fail the stream,
   * `'skip'` to discard the payload without buffering it (the frame is then reported to `onSkip`), or nothing to go on.
   */
  checkHeader?: (header: FrameHeader) => HeaderVerdict;
  /** Called for a frame whose payload was skipped on the word of `checkHeader`. */
  onSkip?: (header: FrameHeader) => void;
  /**
   * When set, a Data frame without flags, of at least {@link PART_MIN_BYTES}, whose payload spans several chunks is
   * not assembled by copying: each piece goes here as it arrives (a view of its chunk), with `last` true on the final
   * piece. Smaller frames, frames whose payload lies in one chunk, and frames with flags still go to `onFrame` whole.
   */
  onDataPart?: (streamId: number, data: Uint8Array, last: boolean) => void;
}

/** Smallest Data payload (bytes) that {@link DecodeOptions.onDataPart} receives in pieces; smaller ones are assembled. */
export const PART_MIN_BYTES = 8192;

/** Default {@link DecodeOptions.maxFrameSize}: 16 MiB. */
export const DEFAULT_MAX_FRAME_SIZE = 16 * 1024 * 1024;

const EMPTY = new Uint8Array(0);

function protocolError(message: string): MuxError {
  return new MuxError('ERR_MUX_PROTOCOL', message, { wireCode: 1 });
}

/** Checks the fixed rules of a header: version, type, stream-id placement, size limit. */
export function validateHeader(h: FrameHeader, maxFrameSize: number): MuxError | undefined {
  if (h.version !== PROTOCOL_VERSION) return protocolError(`unsupported protocol version ${h.version}`);
  switch (h.type) {
    case FrameType.Data:
      if (h.streamId === 0) return protocolError('Data frame on stream 0');
      if (h.length > maxFrameSize) {
        return protocolError(`frame of ${h.length} bytes exceeds the ${maxFrameSize}-byte limit`);
      }
      return undefined;
    case FrameType.WindowUpdate:
      if (h.streamId === 0) return protocolError('WindowUpdate frame on stream 0');
      return undefined;
    case FrameType.Ping:
      if (h.streamId !== 0) return protocolError(`Ping frame on stream ${h.streamId}`);
      return undefined;
    case FrameType.GoAway:
      if (h.streamId !== 0) return protocolError(`GoAway frame on stream ${h.streamId}`);
      return undefined;
    default:
      return protocolError(`unknown frame type ${h.type}`);
  }
}

function toFrame(h: FrameHeader, data: Uint8Array): Frame {
  switch (h.type) {
    case FrameType.Data:
      return { type: 'data', streamId: h.streamId, flags: h.flags, data };
    case FrameType.WindowUpdate:
      return { type: 'window-update', streamId: h.streamId, flags: h.flags, delta: h.length };
    case FrameType.Ping:
      return { type: 'ping', streamId: 0, flags: h.flags, opaque: h.length };
    default:
      return { type: 'go-away', streamId: 0, flags: h.flags, code: h.length };
  }
}

/**
 * Incremental yamux frame decoder. Feed it carrier chunks of any size with {@link push};
 * it calls `onFrame` for each complete frame. Payloads that lie inside one chunk are
 * emitted as views of that chunk (no copy); payloads split across chunks are assembled once.
 *
 * A violation throws a {@link MuxError} (`ERR_MUX_PROTOCOL`) from `push`; the decoder is then spent.
 */
export class FrameDecoder {
  private readonly maxFrameSize: number;
  private readonly checkHeader: DecodeOptions['checkHeader'];
  private readonly onSkip: DecodeOptions['onSkip'];
  private readonly onDataPart: DecodeOptions['onDataPart'];
  /** The current Data frame's payload goes out in pieces (see {@link DecodeOptions.onDataPart}). */
  private parting = false;
  private readonly head = new Uint8Array(HEADER_LENGTH);
  private headFill = 0;
  private header: FrameHeader | undefined;
  private payload: Uint8Array | undefined;
  private payloadFill = 0;
  private skipping = 0;
  private failure: MuxError | undefined;

  constructor(
    private readonly onFrame: (frame: Frame) => void,
    options: DecodeOptions = {},
  ) {
    this.maxFrameSize = options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
    this.checkHeader = options.checkHeader;
    this.onSkip = options.onSkip;
    this.onDataPart = options.onDataPart;
  }

  /** Bytes held for a partial frame (header bytes plus assembled payload bytes). */
  get bufferedBytes(): number {
    return this.headFill + (this.parting ? 0 : this.payloadFill);
  }

  /** True when no partial frame is pending. */
  get idle(): boolean {
    return this.headFill === 0 && this.header === undefined && this.skipping === 0;
  }

  push(chunk: Uint8Array): void {
    if (this.failure) throw this.failure;
    let at = 0;
    const end = chunk.byteLength;
    while (at < end) {
      if (this.skipping > 0) {
        const n = Math.min(this.skipping, end - at);
        this.skipping -= n;
        at += n;
        continue;
      }
      const h = this.header;
      if (h === undefined) {
        // Fast path: a whole header in this chunk.
        if (this.headFill === 0 && end - at >= HEADER_LENGTH) {
          this.beginFrame(readHeader(chunk, at));
          at += HEADER_LENGTH;
        } else {
          const n = Math.min(HEADER_LENGTH - this.headFill, end - at);
          this.head.set(chunk.subarray(at, at + n), this.headFill);
          this.headFill += n;
          at += n;
          if (this.headFill === HEADER_LENGTH) {
            this.headFill = 0;
            this.beginFrame(readHeader(this.head, 0));
          }
        }
        continue;
      }
      // Payload of a Data frame.
      const need = h.length - this.payloadFill;
      if (this.parting || (this.onDataPart !== undefined && h.flags === 0 && h.length >= PART_MIN_BYTES && this.payload === undefined && end - at < need)) {
        const n = Math.min(need, end - at);
        const last = n === need;
        this.parting = !last;
        this.payloadFill = last ? 0 : this.payloadFill + n;
        if (last) this.header = undefined;
        this.onDataPart!(h.streamId, chunk.subarray(at, at + n), last);
        at += n;
        continue;
      }
      if (this.payload === undefined && end - at >= need) {
        this.header = undefined;
        this.onFrame(toFrame(h, chunk.subarray(at, at + need)));
        at += need;
        continue;
      }
      if (this.payload === undefined) this.payload = new Uint8Array(h.length);
      const n = Math.min(need, end - at);
      this.payload.set(chunk.subarray(at, at + n), this.payloadFill);
      this.payloadFill += n;
      at += n;
      if (this.payloadFill === h.length) {
        const data = this.payload;
        this.header = undefined;
        this.payload = undefined;
        this.payloadFill = 0;
        this.onFrame(toFrame(h, data));
      }
    }
  }

  private beginFrame(h: FrameHeader): void {
    const error = validateHeader(h, this.maxFrameSize);
    if (error) this.fail(error);
    const verdict = this.checkHeader?.(h);
    if (verdict instanceof MuxError) this.fail(verdict);
    if (verdict === 'skip') {
      if (h.type === FrameType.Data) this.skipping = h.length;
      this.onSkip?.(h);
      return;
    }
    if (h.type !== FrameType.Data || h.length === 0) {
      this.onFrame(toFrame(h, EMPTY));
      return;
    }
    this.header = h;
  }

  private fail(error: MuxError): never {
    this.failure = error;
    throw error;
  }
}

/** Reads a header at `offset` (the caller guarantees 12 bytes). */
export function readHeader(b: Uint8Array, offset: number): FrameHeader {
  return {
    version: b[offset]!,
    type: b[offset + 1]!,
    flags: (b[offset + 2]! << 8) | b[offset + 3]!,
    streamId: ((b[offset + 4]! << 24) | (b[offset + 5]! << 16) | (b[offset + 6]! << 8) | b[offset + 7]!) >>> 0,
    length: ((b[offset + 8]! << 24) | (b[offset + 9]! << 16) | (b[offset + 10]! << 8) | b[offset + 11]!) >>> 0,
  };
}

/**
 * RxJS operator: carrier bytes in any chunking -> frames.
 *
 * Errors with `ERR_MUX_PROTOCOL` on a bad version or type, a Ping/GoAway off stream 0, Data or
 * WindowUpdate on stream 0, or a Data header larger than `maxFrameSize` (before its payload is buffered).
 * Errors with `ERR_MUX_PROTOCOL` ("truncated frame") if the source completes mid-frame.
 *
 * @example
 * ```ts
 * carrier.incoming$.pipe(decodeFrames({ maxFrameSize: 1 << 20 })).subscribe((frame) => console.log(formatFrame(frame)));
 * ```
 */
export function decodeFrames(options: DecodeOptions = {}): OperatorFunction<Uint8Array, Frame> {
  return (source) =>
    new Observable<Frame>((subscriber) => {
      const decoder = new FrameDecoder((frame) => subscriber.next(frame), options);
      // Fires when this subscriber is finalized (error, complete or unsubscribe). Feeding it to takeUntil
      // stops a synchronous source at once (e.g. `from(chunks)` mid-loop): the subscription returned
      // below only becomes this subscriber's teardown after a synchronous source has run to its end.
      const finalized$ = new Observable<void>((notify) => {
        subscriber.add(() => notify.next());
      });
      return source.pipe(takeUntil(finalized$)).subscribe({
        next(chunk) {
          try {
            decoder.push(chunk);
          } catch (e) {
            subscriber.error(e);
          }
        },
        error(e) {
          subscriber.error(e);
        },
        complete() {
          if (decoder.idle) subscriber.complete();
          else subscriber.error(protocolError(`truncated frame: ${decoder.bufferedBytes} bytes of a partial frame at end of input`));
        },
      });
    });
}

/** Decodes a buffer holding whole frames only. Throws on a partial trailing frame. */
export function decodeAll(bytes: Uint8Array, options: DecodeOptions = {}): Frame[] {
  const frames: Frame[] = [];
  const decoder = new FrameDecoder((f) => frames.push(f), options);
  decoder.push(bytes);
  if (!decoder.idle) throw protocolError('truncated frame at end of input');
  return frames;
}
