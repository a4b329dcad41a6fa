// A channel as a Node Duplex stream (toDuplex): Node's back-pressure mapped onto the channel's queue and
// credit, end() as FIN, destroy() as RST.
import { Duplex } from 'node:stream';
import type { Subscription } from 'rxjs';
import type { Channel } from '../channel/types.js';
import { boolOption, checkOptionsObject, intOption } from '../util/validate.js';

/** Options of {@link toDuplex}. */
export interface ToDuplexOptions {
  /**
   * Bytes the readable side buffers before it pauses the channel (no more credit goes back to the peer until they
   * are read). Default 16384 (16 KiB, Node's default).
   */
  readonly readableHighWaterMark?: number;
  /**
   * Bytes the writable side buffers (writes the channel has not taken yet, because its queue is full) before
   * `write()` returns false. Default 16384 (16 KiB, Node's default).
   */
  readonly writableHighWaterMark?: number;
  /**
   * Keep the writable side open after the readable side ended (the peer's FIN), and the other way round.
   * Default true: channels half-close.
   */
  readonly allowHalfOpen?: boolean;
}

/**
 * Wraps a channel as a Node `stream.Duplex`, for `pipe()`, `stream.pipeline()` and any Node stream API.
 *
 * Writable side: each chunk is `channel.write(chunk)`, and the write callback waits for its promise, so while the
 * channel's queue is full (the peer's credit is used up) chunks gather in the Duplex, `write()` returns false and
 * `'drain'` comes when the channel takes them. `end()` is `channel.end()` (FIN after every queued byte). Chunks are
 * queued without a copy: do not change a Buffer after writing it.
 *
 * Readable side: subscribes to `channel.incoming$` on the first read. When `push()` returns false the channel is
 * paused (`channel.pause()`): bytes wait in the channel, no credit is returned, and the peer stops once its window
 * is used; `_read()` resumes it. The peer's FIN ends the readable side (`push(null)`).
 *
 * Errors and teardown: a channel error (reset, session failure, timeout) destroys the Duplex with that MuxError;
 * `destroy(err)` resets the channel (code 0, reason: the error's message, or "stream destroyed") unless both
 * directions already finished cleanly.
 *
 * @example
 * ```ts
 * import { pipeline } from 'node:stream/promises';
 * import { createReadStream } from 'node:fs';
 * import { toDuplex } from 'rxmux/node';
 * await pipeline(createReadStream('big.bin'), toDuplex(channel));
 * ```
 */
export function toDuplex(channel: Channel, options: ToDuplexOptions = {}): Duplex {
  checkOptionsObject('toDuplex', options);
  for (const name of ['readableHighWaterMark', 'writableHighWaterMark'] as const) intOption('toDuplex', name, options[name], 0, 0);
  boolOption('toDuplex', 'allowHalfOpen', options.allowHalfOpen, undefined);
  return new ChannelDuplex(channel, options);
}

class ChannelDuplex extends Duplex {
  private reading: Subscription | undefined;
  private readonly watch: Subscription;

  constructor(
    private readonly channel: Channel,
    options: ToDuplexOptions,
  ) {
    super({
      allowHalfOpen: options.allowHalfOpen ?? true,
      readableHighWaterMark: options.readableHighWaterMark ?? 16 * 1024,
      writableHighWaterMark: options.writableHighWaterMark ?? 16 * 1024,
      decodeStrings: true,
    });
    // A channel that fails while nobody reads or writes still tears the stream down.
    this.watch = channel.closed$.subscribe(({ error }) => {
      if (error && !this.destroyed) this.destroy(error);
    });
  }

  override _read(): void {
    if (this.reading) {
      this.channel.resume();
      return;
    }
    this.reading = this.channel.incoming$.subscribe({
      next: (chunk) => {
        const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
        if (!this.push(buf)) this.channel.pause();
      },
      error: (e: unknown) => {
        if (!this.destroyed) this.destroy(e instanceof Error ? e : new Error(String(e)));
      },
      complete: () => {
        this.push(null);
      },
    });
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.channel.write(chunk).then(
      () => callback(),
      (e: unknown) => callback(e instanceof Error ? e : new Error(String(e))),
    );
  }

  override _final(callback: (error?: Error | null) => void): void {
    try {
      this.channel.end();
      callback();
    } catch (e) {
      callback(e instanceof Error ? e : new Error(String(e)));
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.watch.unsubscribe();
    this.reading?.unsubscribe();
    this.reading = undefined;
    const finishedCleanly = error === null && this.writableFinished && this.readableEnded;
    if (!finishedCleanly && this.channel.state !== 'closed') {
      const reason = error ? error.message || 'stream destroyed' : 'stream destroyed';
      this.channel.reset(0, reason.slice(0, 256));
    }
    callback(error);
  }
}
