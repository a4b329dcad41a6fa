// Newline-delimited UTF-8 text over a byte stream (utf8Lines): incremental splitting with a line length
// limit, multi-byte characters kept whole across chunks.
import { Observable, type OperatorFunction } from 'rxjs';
import { MuxError } from '../errors.js';
import { sizeOption } from './length-prefixed.js';

/** Options of {@link utf8Lines}. */
export interface Utf8LinesOptions {
  /**
   * Longest line, in bytes of UTF-8 (without its line ending). A longer line errors with ERR_MUX_LIMIT as soon as
   * the bytes held for it pass `maxLineLength + 1` (room for the `\r` of a `\r\n` split across chunks), so no more
   * of it is buffered. Integer >= 0. Default 65536 (64 KiB).
   */
  readonly maxLineLength?: number;
}

/** Default {@link Utf8LinesOptions.maxLineLength}: 64 KiB. */
export const DEFAULT_MAX_LINE_LENGTH = 64 * 1024;

const LF = 0x0a;
const CR = 0x0d;

/**
 * Bytes in any chunking → lines of UTF-8 text, split on `\n` (a `\r` before it is dropped too). A character
 * whose bytes are split across chunks is decoded whole. When the bytes complete, a last line without an ending
 * is emitted if it is not empty. Invalid UTF-8 becomes U+FFFD, as `TextDecoder` does.
 *
 * @example
 * ```ts
 * import { utf8Lines } from 'rxmux';
 * channel.incoming$.pipe(utf8Lines({ maxLineLength: 4096 })).subscribe((line) => console.log(line));
 * ```
 *
 * Memory held: at most `maxLineLength + 1` bytes of an unfinished line. Errors with ERR_MUX_LIMIT for a line over
 * the limit, ERR_MUX_INVALID_ARGUMENT for a chunk that is not a Uint8Array.
 *
 * @throws MuxError ERR_MUX_INVALID_OPTION for a bad `maxLineLength`.
 */
export function utf8Lines(options: Utf8LinesOptions = {}): OperatorFunction<Uint8Array, string> {
  const max = sizeOption('maxLineLength', options.maxLineLength, DEFAULT_MAX_LINE_LENGTH, 0, Number.MAX_SAFE_INTEGER);
  return (source) =>
    new Observable<string>((subscriber) => {
      const decoder = new TextDecoder('utf-8');
      // Pieces of the current line that arrived without their LF (copies, so no chunk's memory is held).
      let pieces: Uint8Array[] = [];
      let held = 0;
      const tooLong = (): MuxError => new MuxError('ERR_MUX_LIMIT', `utf8Lines: a line exceeds maxLineLength (${max} bytes)`);
      /** Joins the held pieces and `last`, drops a final CR, decodes. */
      const line = (last: Uint8Array, content: number): string => {
        let bytes: Uint8Array;
        if (pieces.length === 0) bytes = last;
        else {
          bytes = new Uint8Array(held + last.byteLength);
          let at = 0;
          for (const p of pieces) {
            bytes.set(p, at);
            at += p.byteLength;
          }
          bytes.set(last, at);
        }
        pieces = [];
        held = 0;
        return decoder.decode(bytes.subarray(0, content));
      };
      return source.subscribe({
        next: (chunk) => {
          if (!(chunk instanceof Uint8Array)) {
            subscriber.error(
              new MuxError(
                'ERR_MUX_INVALID_ARGUMENT',
                `utf8Lines: expected Uint8Array chunks, got ${chunk === null ? 'null' : typeof chunk}`,
              ),
            );
            return;
          }
          const end = chunk.byteLength;
          let at = 0;
          while (at < end && !subscriber.closed) {
            const nl = chunk.indexOf(LF, at);
            if (nl < 0) {
              // One byte over the limit may still be the CR of a CRLF whose LF is in a later chunk.
              if (held + end - at > max + 1) {
                subscriber.error(tooLong());
                return;
              }
              pieces.push(chunk.slice(at));
              held += end - at;
              return;
            }
            const total = held + nl - at;
            const cr = nl > at ? chunk[nl - 1] === CR : held > 0 && lastByte(pieces) === CR;
            const content = cr ? total - 1 : total;
            if (content > max) {
              subscriber.error(tooLong());
              return;
            }
            subscriber.next(line(chunk.subarray(at, nl), content));
            at = nl + 1;
          }
        },
        error: (e) => subscriber.error(e),
        complete: () => {
          if (held > 0) {
            const content = lastByte(pieces) === CR ? held - 1 : held;
            if (content > max) {
              subscriber.error(tooLong());
              return;
            }
            const text = line(new Uint8Array(0), content);
            if (text.length > 0) subscriber.next(text);
          }
          subscriber.complete();
        },
      });
    });
}

function lastByte(pieces: Uint8Array[]): number | undefined {
  const p = pieces[pieces.length - 1]!;
  return p[p.byteLength - 1];
}
