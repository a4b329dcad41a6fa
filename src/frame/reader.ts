// The allocation-free incremental frame reader: bytes in, header fields and payload views out to a FrameSink,
// no object per frame. The session's inbound path is a FrameSink; FrameDecoder wraps the reader for Frame objects.
import { readU32 } from '../util/bytes.js';
import { MuxError } from '../errors.js';
import { DEFAULT_MAX_FRAME_SIZE, FrameType, HEADER_LENGTH } from './constants.js';
import { checkFields, type HeaderVerdict } from './header-check.js';

/** Smallest Data payload (bytes) that {@link DecodeOptions.onDataPart} receives in pieces; smaller ones are assembled. */
export const PART_MIN_BYTES = 8192;

const EMPTY = new Uint8Array(0);

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
