import { Observable, takeUntil, type OperatorFunction } from 'rxjs';
import { MuxError } from '../errors.js';
import { FrameType, HEADER_LENGTH, PROTOCOL_VERSION } from './constants.js';
import type { Frame, FrameHeader } from './frame.js';
import { writeHeader } from './encode.js';
import { readU32 } from '../util/bytes.js';

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

function checkFields(
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
 * Where {@link FrameReader} puts what it decodes: header fields as numbers, no object per frame.
 * `length` is the payload length of a Data frame and the delta / opaque / code of the other types.
 */
export interface FrameSink {
  /** A header passed the fixed checks; answer as {@link DecodeOptions.checkHeader} does. */
  header(type: number, flags: number, streamId: number, length: number): HeaderVerdict;
  /** A whole frame; `data` is the payload of a Data frame (a view of the chunk when it lies in one), else empty. */
  frame(type: number, flags: number, streamId: number, length: number, data: Uint8Array): void;
  /** A frame whose payload was skipped on the word of {@link header}. */
  skipped(type: number, flags: number, streamId: number, length: number): void;
  /** A piece of a large flagless Data frame (see {@link DecodeOptions.onDataPart}); omit to get such frames whole. */
  dataPart?(streamId: number, data: Uint8Array, last: boolean): void;
}

/**
 * Incremental yamux frame reader with a positional {@link FrameSink}: the allocation-free core of {@link FrameDecoder}.
 * Payloads inside one chunk are views of it; a payload split across chunks is assembled once (or, with
 * `sink.dataPart`, handed over in pieces). A violation throws a {@link MuxError} (`ERR_MUX_PROTOCOL`) from `push`;
 * the reader is then spent.
 */
export class FrameReader {
  private readonly head = new Uint8Array(HEADER_LENGTH);
  private headFill = 0;
  /** A header was read already (the first one decides whether the peer speaks yamux at all, for the message). */
  private sawHeader = false;
  /** Header of the Data frame whose payload is being read (`inFrame`). */
  private inFrame = false;
  private hFlags = 0;
  private hId = 0;
  private hLength = 0;
  private payload: Uint8Array | undefined;
  private payloadFill = 0;
  private skipping = 0;
  /** The current Data frame's payload goes out in pieces (see {@link DecodeOptions.onDataPart}). */
  private parting = false;
  private readonly parts: boolean;
  private failure: MuxError | undefined;

  constructor(
    private readonly sink: FrameSink,
    private readonly maxFrameSize: number = DEFAULT_MAX_FRAME_SIZE,
  ) {
    this.parts = typeof sink.dataPart === 'function';
  }

  /** Bytes held for a partial frame (header bytes plus assembled payload bytes). */
  get bufferedBytes(): number {
    return this.headFill + (this.parting ? 0 : this.payloadFill);
  }

  /** True when no partial frame is pending. */
  get idle(): boolean {
    return this.headFill === 0 && !this.inFrame && this.skipping === 0;
  }

  /**
   * Feeds one carrier chunk of any size; reports each header and frame it completes to the sink. Throws the
   * {@link MuxError} of a violation (`ERR_MUX_PROTOCOL`) or of the sink's header check, and again on every later call.
   */
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
      if (!this.inFrame) {
        // Fast path: a whole header in this chunk.
        if (this.headFill === 0 && end - at >= HEADER_LENGTH) {
          this.beginFrame(chunk, at);
          at += HEADER_LENGTH;
        } else {
          const n = Math.min(HEADER_LENGTH - this.headFill, end - at);
          this.head.set(chunk.subarray(at, at + n), this.headFill);
          this.headFill += n;
          at += n;
          if (this.headFill === HEADER_LENGTH) {
            this.headFill = 0;
            this.beginFrame(this.head, 0);
          }
        }
        continue;
      }
      // Payload of a Data frame.
      const length = this.hLength;
      const need = length - this.payloadFill;
      if (this.parting || (this.parts && this.hFlags === 0 && length >= PART_MIN_BYTES && this.payload === undefined && end - at < need)) {
        const n = Math.min(need, end - at);
        const last = n === need;
        this.parting = !last;
        this.payloadFill = last ? 0 : this.payloadFill + n;
        if (last) this.inFrame = false;
        this.sink.dataPart!(this.hId, chunk.subarray(at, at + n), last);
        at += n;
        continue;
      }
      if (this.payload === undefined && end - at >= need) {
        this.inFrame = false;
        this.sink.frame(FrameType.Data, this.hFlags, this.hId, length, chunk.subarray(at, at + need));
        at += need;
        continue;
      }
      if (this.payload === undefined) this.payload = new Uint8Array(length);
      const n = Math.min(need, end - at);
      this.payload.set(chunk.subarray(at, at + n), this.payloadFill);
      this.payloadFill += n;
      at += n;
      if (this.payloadFill === length) {
        const data = this.payload;
        this.inFrame = false;
        this.payload = undefined;
        this.payloadFill = 0;
        this.sink.frame(FrameType.Data, this.hFlags, this.hId, length, data);
      }
    }
  }

  private beginFrame(b: Uint8Array, o: number): void {
    const version = b[o]!;
    const type = b[o + 1]!;
    const flags = (b[o + 2]! << 8) | b[o + 3]!;
    const streamId = readU32(b, o + 4);
    const length = readU32(b, o + 8);
    const error = checkFields(version, type, streamId, length, this.maxFrameSize, flags, !this.sawHeader);
    this.sawHeader = true;
    if (error) this.fail(error);
    const verdict = this.sink.header(type, flags, streamId, length);
    if (verdict instanceof MuxError) this.fail(verdict);
    if (verdict === 'skip') {
      if (type === FrameType.Data) this.skipping = length;
      this.sink.skipped(type, flags, streamId, length);
      return;
    }
    if (type !== FrameType.Data || length === 0) {
      this.sink.frame(type, flags, streamId, length, EMPTY);
      return;
    }
    this.inFrame = true;
    this.hFlags = flags;
    this.hId = streamId;
    this.hLength = length;
  }

  private fail(error: MuxError): never {
    this.failure = error;
    throw error;
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
