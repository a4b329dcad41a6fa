// Frame objects from bytes: the FrameDecoder class, the decodeFrames operator and decodeAll, over the FrameReader.
import { Observable, takeUntil, type OperatorFunction } from 'rxjs';
import { DEFAULT_MAX_FRAME_SIZE, FrameType, PROTOCOL_VERSION } from './constants.js';
import type { Frame, FrameHeader } from './frame.js';
import { type HeaderVerdict, protocolError } from './header-check.js';
import { FrameReader, type FrameSink } from './reader.js';
import { readU32 } from '../util/bytes.js';

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
   * When set, a Data frame without flags, of at least `PART_MIN_BYTES` (8192 bytes, from `rxmux/frame`), whose payload spans several chunks is
   * not assembled by copying: each piece goes here as it arrives (a view of its chunk), with `last` true on the final
   * piece. Smaller frames, frames whose payload lies in one chunk, and frames with flags still go to `onFrame` whole.
   */
  onDataPart?: (streamId: number, data: Uint8Array, last: boolean) => void;
}

function toFrame(type: number, flags: number, streamId: number, length: number, data: Uint8Array): Frame {
  switch (type) {
    case FrameType.Data:
      return { type: 'data', streamId, flags, data };
    case FrameType.WindowUpdate:
      return { type: 'window-update', streamId, flags, delta: length };
    case FrameType.Ping:
      return { type: 'ping', streamId: 0, flags, opaque: length };
    default:
      return { type: 'go-away', streamId: 0, flags, code: length };
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
  private readonly reader: FrameReader;

  constructor(onFrame: (frame: Frame) => void, options: DecodeOptions = {}) {
    const { checkHeader, onSkip, onDataPart } = options;
    // Only frames that passed the version check get here.
    const header = (type: number, flags: number, streamId: number, length: number): FrameHeader => ({
      version: PROTOCOL_VERSION,
      type,
      flags,
      streamId,
      length,
    });
    const sink: FrameSink = {
      header: (type, flags, streamId, length) => checkHeader?.(header(type, flags, streamId, length)),
      frame: (type, flags, streamId, length, data) => onFrame(toFrame(type, flags, streamId, length, data)),
      skipped: (type, flags, streamId, length) => onSkip?.(header(type, flags, streamId, length)),
    };
    if (onDataPart) sink.dataPart = onDataPart;
    this.reader = new FrameReader(sink, options.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE);
  }

  /** Bytes held for a partial frame (header bytes plus assembled payload bytes). */
  get bufferedBytes(): number {
    return this.reader.bufferedBytes;
  }

  /** True when no partial frame is pending. */
  get idle(): boolean {
    return this.reader.idle;
  }

  /**
   * Feeds one carrier chunk of any size; calls `onFrame` for each frame it completes. Throws the {@link MuxError} of a
   * violation (`ERR_MUX_PROTOCOL`) or of `checkHeader`, and again on every later call.
   */
  push(chunk: Uint8Array): void {
    this.reader.push(chunk);
  }
}

/** Reads a header at `offset` (the caller guarantees 12 bytes). */
export function readHeader(b: Uint8Array, offset: number): FrameHeader {
  return {
    version: b[offset]!,
    type: b[offset + 1]!,
    flags: (b[offset + 2]! << 8) | b[offset + 3]!,
    streamId: readU32(b, offset + 4),
    length: readU32(b, offset + 8),
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
