// A channel as a WHATWG ReadableStream/WritableStream pair (toWebStreams): pulls as consumption, so credit
// flows back only for what the stream's reader takes.
import type { Channel } from '../channel/types.js';
import { checkOptionsObject, intOption } from '../util/validate.js';

/** Options of {@link toWebStreams}. */
export interface WebStreamsOptions {
  /**
   * High-water mark of the writable side, in bytes (a byte-length queuing strategy): `writer.desiredSize` is this
   * minus the bytes waiting in the stream because the channel's queue is full (no credit). Integer >= 0.
   * Default 16384 (16 KiB).
   */
  readonly writableHighWaterMark?: number;
}

/** A channel as a WHATWG stream pair. */
export interface ChannelWebStreams {
  /**
   * Inbound bytes. Pull-based: a chunk is taken from the channel (and credit returned for it) only when read.
   * (Typed `Uint8Array<ArrayBuffer>` so it pipes into `TextDecoderStream` and other `BufferSource` consumers.)
   */
  readonly readable: ReadableStream<Uint8Array<ArrayBuffer>>;
  /** Outbound bytes. `desiredSize` drops (and `writer.ready` waits) while the channel cannot take more. */
  readonly writable: WritableStream<Uint8Array>;
}

/**
 * Wraps a channel as `{ readable, writable }` WHATWG streams (browsers, Node >= 18, Deno), for `pipeTo`,
 * `pipeThrough` and `TextDecoderStream`.
 *
 * - `readable`: high-water mark 0, so nothing is pulled ahead: each `read()` takes one chunk with `channel.read()`;
 *   while nobody reads, bytes wait in the channel (at most its receive window) and no credit goes back to the
 *   peer. Closes after the peer's FIN; errors with the channel's error (ERR_MUX_RESET, the session's error).
 *   `cancel(reason)` resets the channel (code 0, reason "reader cancelled") unless the peer already finished.
 * - `writable`: each chunk is `channel.write(chunk)` (the stream waits for its promise, so a full channel queue
 *   holds the producer); `close()` is `channel.end()` (FIN after every queued byte); `abort(reason)` resets the
 *   channel (code 0, reason "writer aborted"). It errors as soon as the channel fails.
 *
 * Use one side's reader only: `readable` reads with `channel.read()`, which conflicts with a subscriber on
 * `channel.incoming$` (ERR_MUX_READ_BUSY).
 *
 * @throws MuxError ERR_MUX_INVALID_OPTION for a bad option.
 *
 * @example
 * ```ts
 * import { toWebStreams } from 'rxmux/web';
 * const { readable, writable } = toWebStreams(channel);
 * await fetch('/upload.bin').then((r) => r.body!.pipeTo(writable));
 * for await (const text of readable.pipeThrough(new TextDecoderStream())) console.log(text);
 * ```
 */
export function toWebStreams(channel: Channel, options: WebStreamsOptions = {}): ChannelWebStreams {
  checkOptionsObject('toWebStreams', options);
  const hwm = intOption('toWebStreams', 'writableHighWaterMark', options.writableHighWaterMark, 16 * 1024, 0);
  const readable = new ReadableStream<Uint8Array<ArrayBuffer>>(
    {
      async pull(controller) {
        const chunk = await channel.read();
        if (chunk === null) controller.close();
        // Inbound chunks are views of carrier buffers, which are ArrayBuffers (never SharedArrayBuffers).
        else controller.enqueue(chunk as Uint8Array<ArrayBuffer>);
      },
      cancel() {
        if (channel.state !== 'closed' && !channel.stats().readClosed) channel.reset(0, 'reader cancelled');
      },
    },
    { highWaterMark: 0 },
  );
  let writableController: WritableStreamDefaultController | undefined;
  let writableDone = false;
  const writable = new WritableStream<Uint8Array>(
    {
      start(controller) {
        writableController = controller;
      },
      write(chunk) {
        return channel.write(chunk);
      },
      close() {
        writableDone = true;
        channel.end();
      },
      abort() {
        writableDone = true;
        if (channel.state !== 'closed') channel.reset(0, 'writer aborted');
      },
    },
    { highWaterMark: hwm, size: (chunk) => chunk.byteLength },
  );
  // A channel that fails while nobody writes errors the writable at once (not only at the next write).
  channel.closed$.subscribe(({ error }) => {
    if (error && !writableDone) writableController?.error(error);
  });
  return { readable, writable };
}
