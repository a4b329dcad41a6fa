// Length-prefixed messages over a byte stream (lengthPrefixed): a u32 big-endian length, then the bytes;
// the incremental decoder, its size limit and the shared size option check.
import { Observable, type OperatorFunction } from 'rxjs';
import { MuxError } from '../errors.js';
import { readU32, writeU32 } from '../util/bytes.js';
import { intOption } from '../util/validate.js';

/** Options of {@link lengthPrefixed}. */
export interface LengthPrefixedOptions {
  /**
   * Largest message, in bytes (the payload, without the 4-byte prefix). Integer from 0 to 4294967295.
   * The decoder errors with ERR_MUX_LIMIT as soon as a prefix declares more, before buffering any of it;
   * the encoder errors with ERR_MUX_LIMIT on a larger message, so both ends agree. Default 16777216 (16 MiB).
   */
  readonly maxMessageSize?: number;
}

/** An encoder and a decoder operator for u32 big-endian length-prefixed messages. */
export interface LengthPrefixedCodec {
  /** Messages → bytes: each message becomes one chunk, a 4-byte big-endian length then the payload (a copy). */
  readonly encode: OperatorFunction<Uint8Array, Uint8Array>;
  /** Bytes in any chunking → messages. A message that lies inside one chunk is a view of it (no copy). */
  readonly decode: OperatorFunction<Uint8Array, Uint8Array>;
  /** Frames one message (what `encode` emits for it). Throws ERR_MUX_LIMIT past `maxMessageSize`. */
  frame(message: Uint8Array): Uint8Array;
}

/** Default {@link LengthPrefixedOptions.maxMessageSize}: 16 MiB. */
export const DEFAULT_MAX_MESSAGE_SIZE = 16 * 1024 * 1024;

const MAX_U32 = 0xffff_ffff;
const EMPTY = new Uint8Array(0);

/** Validates a size option: an integer from `min` to `max`. */
export function sizeOption(name: string, value: number | undefined, fallback: number, min = 0, max = MAX_U32): number {
  return intOption('', name, value, fallback, min, max);
}

/**
 * Message framing for a channel's byte stream: every message is a u32 big-endian length followed by that many bytes.
 *
 * @example
 * ```ts
 * import { lengthPrefixed } from 'rxmux';
 * const { encode, decode } = lengthPrefixed({ maxMessageSize: 64 * 1024 });
 * channel.send(messages$.pipe(encode)).subscribe();            // Observable<Uint8Array> of messages
 * channel.incoming$.pipe(decode).subscribe((msg) => handle(msg)); // whole messages, whatever the chunking
 * ```
 *
 * The decoder errors with ERR_MUX_LIMIT when a prefix declares more than `maxMessageSize` bytes (nothing of it
 * is buffered), with ERR_MUX_DECODE when the byte stream completes in the middle of a message, and with
 * ERR_MUX_INVALID_ARGUMENT on a chunk that is not a Uint8Array. Memory held: at most one message.
 *
 * @throws MuxError ERR_MUX_INVALID_OPTION for a bad `maxMessageSize`.
 */
export function lengthPrefixed(options: LengthPrefixedOptions = {}): LengthPrefixedCodec {
  const max = sizeOption('maxMessageSize', options.maxMessageSize, DEFAULT_MAX_MESSAGE_SIZE);
  const frame = (message: Uint8Array): Uint8Array => {
    if (!(message instanceof Uint8Array)) {
      throw new MuxError(
        'ERR_MUX_INVALID_ARGUMENT',
        `lengthPrefixed: expected a Uint8Array message, got ${message === null ? 'null' : typeof message}`,
      );
    }
    const n = message.byteLength;
    if (n > max) throw new MuxError('ERR_MUX_LIMIT', `lengthPrefixed: message of ${n} bytes exceeds maxMessageSize (${max})`);
    const out = new Uint8Array(4 + n);
    writeU32(out, 0, n);
    out.set(message, 4);
    return out;
  };
  const encode: OperatorFunction<Uint8Array, Uint8Array> = (source) =>
    new Observable<Uint8Array>((subscriber) =>
      source.subscribe({
        next: (message) => {
          let out: Uint8Array;
          try {
            out = frame(message);
          } catch (e) {
            subscriber.error(e);
            return;
          }
          subscriber.next(out);
        },
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      }),
    );
  const decode: OperatorFunction<Uint8Array, Uint8Array> = (source) =>
    new Observable<Uint8Array>((subscriber) => {
      const decoder = new MessageDecoder(max);
      return source.subscribe({
        next: (chunk) => {
          try {
            decoder.push(
              chunk,
              (m) => subscriber.next(m),
              () => subscriber.closed,
            );
          } catch (e) {
            subscriber.error(e);
          }
        },
        error: (e) => subscriber.error(e),
        complete: () => {
          if (decoder.partial) {
            subscriber.error(
              new MuxError('ERR_MUX_DECODE', `lengthPrefixed: the stream ended inside a message (${decoder.partialDescription})`),
            );
          } else {
            subscriber.complete();
          }
        },
      });
    });
  return { encode, decode, frame };
}

/**
 * Incremental decoder of u32 BE length-prefixed messages. Holds at most one message.
 * Not part of the public API; used by the operators and by the file transfer.
 */
class MessageDecoder {
  private header = new Uint8Array(4);
  private headerFill = 0;
  private body: Uint8Array | undefined;
  private bodyFill = 0;

  constructor(private readonly max: number) {}

  /** True while part of a message (or of its prefix) is held. */
  get partial(): boolean {
    return this.headerFill > 0 || this.body !== undefined;
  }

  get partialDescription(): string {
    return this.body ? `${this.bodyFill} of ${this.body.byteLength} bytes` : `${this.headerFill} of 4 prefix bytes`;
  }

  /**
   * Feeds a chunk; calls `emit` for each complete message. Stops early (dropping the rest) once `stopped()` is true.
   * Throws ERR_MUX_LIMIT for an oversized prefix, ERR_MUX_INVALID_ARGUMENT for a non-Uint8Array chunk.
   */
  push(chunk: Uint8Array, emit: (message: Uint8Array) => void, stopped: () => boolean = () => false): void {
    if (!(chunk instanceof Uint8Array)) {
      throw new MuxError(
        'ERR_MUX_INVALID_ARGUMENT',
        `lengthPrefixed: expected Uint8Array chunks, got ${chunk === null ? 'null' : typeof chunk}`,
      );
    }
    let at = 0;
    const end = chunk.byteLength;
    while (at < end && !stopped()) {
      if (this.body === undefined) {
        let length: number;
        if (this.headerFill === 0 && end - at >= 4) {
          length = readU32(chunk, at);
          at += 4;
        } else {
          const take = Math.min(4 - this.headerFill, end - at);
          this.header.set(chunk.subarray(at, at + take), this.headerFill);
          this.headerFill += take;
          at += take;
          if (this.headerFill < 4) return;
          const h = this.header;
          length = readU32(h, 0);
          this.headerFill = 0;
        }
        if (length > this.max) {
          throw new MuxError('ERR_MUX_LIMIT', `lengthPrefixed: a message of ${length} bytes exceeds maxMessageSize (${this.max})`);
        }
        if (length === 0) {
          emit(EMPTY);
          continue;
        }
        if (end - at >= length) {
          // Whole message inside this chunk: a view, no copy.
          emit(chunk.subarray(at, at + length));
          at += length;
          continue;
        }
        this.body = new Uint8Array(length);
        this.bodyFill = 0;
      }
      const body = this.body;
      const take = Math.min(body.byteLength - this.bodyFill, end - at);
      body.set(chunk.subarray(at, at + take), this.bodyFill);
      this.bodyFill += take;
      at += take;
      if (this.bodyFill === body.byteLength) {
        this.body = undefined;
        this.bodyFill = 0;
        emit(body);
      }
    }
  }
}
