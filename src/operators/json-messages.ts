// JSON messages over a channel (jsonMessages): length-prefixed UTF-8 JSON, encoded and decoded with clear
// errors for bad input.
import { map, pipe, type OperatorFunction } from 'rxjs';
import { MuxError } from '../errors.js';
import { lengthPrefixed, type LengthPrefixedOptions } from './length-prefixed.js';

/** Options of {@link jsonMessages}: the same as {@link lengthPrefixed}'s (`maxMessageSize` limits the UTF-8 JSON text, in bytes; default 16 MiB). */
export type JsonMessagesOptions = LengthPrefixedOptions;

/** An encoder and a decoder operator for JSON values, one per length-prefixed message. */
export interface JsonCodec<T> {
  /** Values → bytes: `JSON.stringify`, UTF-8, u32 BE length prefix. A value JSON cannot represent errors with ERR_MUX_INVALID_ARGUMENT. */
  readonly encode: OperatorFunction<T, Uint8Array>;
  /** Bytes in any chunking → values: each message is UTF-8 decoded and `JSON.parse`d. Bad JSON or bad UTF-8 errors with ERR_MUX_DECODE. */
  readonly decode: OperatorFunction<Uint8Array, T>;
}

const encoder = new TextEncoder();

/**
 * JSON messages over a channel: each value is one {@link lengthPrefixed} message holding its UTF-8 JSON text.
 * `T` is not checked at run time: validate decoded values if the peer is not trusted.
 *
 * @example
 * ```ts
 * import { jsonMessages } from 'rxmux';
 * type Msg = { kind: 'tick'; n: number };
 * const { encode, decode } = jsonMessages<Msg>({ maxMessageSize: 64 * 1024 });
 * channel.send(ticks$.pipe(encode)).subscribe();
 * channel.incoming$.pipe(decode).subscribe((msg) => console.log(msg.n));
 * ```
 *
 * Errors: ERR_MUX_DECODE (bad JSON, invalid UTF-8, stream ended inside a message), ERR_MUX_LIMIT (message over
 * `maxMessageSize`, either way), ERR_MUX_INVALID_ARGUMENT (a value `JSON.stringify` rejects or turns into nothing,
 * such as `undefined`, a function, a BigInt or a cycle).
 *
 * @throws MuxError ERR_MUX_INVALID_OPTION for a bad `maxMessageSize`.
 */
export function jsonMessages<T = unknown>(options: JsonMessagesOptions = {}): JsonCodec<T> {
  const framing = lengthPrefixed(options);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const encode: OperatorFunction<T, Uint8Array> = pipe(
    map((value: T) => {
      let text: string | undefined;
      try {
        text = JSON.stringify(value);
      } catch (e) {
        throw new MuxError(
          'ERR_MUX_INVALID_ARGUMENT',
          `jsonMessages: value cannot be encoded as JSON: ${e instanceof Error ? e.message : String(e)}`,
          { cause: e },
        );
      }
      if (text === undefined) throw new MuxError('ERR_MUX_INVALID_ARGUMENT', `jsonMessages: a ${typeof value} value has no JSON form`);
      return framing.frame(encoder.encode(text));
    }),
  );
  const decode: OperatorFunction<Uint8Array, T> = pipe(
    framing.decode,
    map((bytes: Uint8Array) => {
      let text: string;
      try {
        text = decoder.decode(bytes);
      } catch (e) {
        throw new MuxError('ERR_MUX_DECODE', 'jsonMessages: a message is not valid UTF-8', { cause: e });
      }
      try {
        return JSON.parse(text) as T;
      } catch (e) {
        throw new MuxError('ERR_MUX_DECODE', `jsonMessages: a message is not valid JSON: ${e instanceof Error ? e.message : String(e)}`, {
          cause: e,
        });
      }
    }),
  );
  return { encode, decode };
}
