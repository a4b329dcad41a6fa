// One libp2p stream over one rxmux channel: libp2p's AbstractStream keeps its own write buffer and events; the
// channel does the rest (credit, the fair writer, FIN and RST).
import type { AbortOptions } from '@libp2p/interface';
import { AbstractStream, type AbstractStreamInit, type SendResult } from '@libp2p/utils';
import { firstValueFrom, type Subscription } from 'rxjs';
import type { Channel } from '../channel/types.js';
import type { MuxError } from '../errors.js';

const ignore = (): void => undefined;

/** What a stream is made with: libp2p's stream init plus the channel under it. */
export interface RxmuxStreamInit extends AbstractStreamInit {
  /** The rxmux channel that carries the stream. */
  channel: Channel;
}

/**
 * A js-libp2p stream carried by one rxmux channel (yamux on the wire). `send()` answers back-pressure from the
 * channel's `desiredSize` (its queue against the session's `highWaterMark`), and 'drain' follows its `drain$`.
 */
export class RxmuxStream extends AbstractStream {
  /** The channel under the stream. */
  readonly channel: Channel;
  private readonly reading: Subscription;
  private draining: Subscription | undefined;

  constructor(init: RxmuxStreamInit) {
    super(init);
    this.channel = init.channel;
    this.reading = this.channel.incoming$.subscribe({
      next: (bytes) => this.onData(bytes),
      complete: () => this.onRemoteCloseWrite(),
      error: (e: MuxError) => this.channelFailed(e),
    });
  }

  /** The stream id on the wire. */
  get streamId(): number {
    return this.channel.id;
  }

  private channelFailed(e: MuxError): void {
    this.draining?.unsubscribe();
    if (e.remote && (e.code === 'ERR_MUX_RESET' || e.code === 'ERR_MUX_REJECTED')) this.onRemoteReset();
    // Our own reset (abort) has already ended the stream; a session failure reaches it through the muxer.
    else if (e.code !== 'ERR_MUX_RESET' && e.code !== 'ERR_MUX_SESSION_CLOSED' && e.code !== 'ERR_MUX_CARRIER') this.abort(e);
  }

  /** Queues every chunk on the channel (one frame each at least, with `preserveWrites`). */
  sendData(data: Parameters<AbstractStream['sendData']>[0]): SendResult {
    const ch = this.channel;
    for (const chunk of data) ch.write(chunk).catch(ignore);
    const canSendMore = ch.desiredSize >= 0;
    if (!canSendMore && this.draining === undefined) {
      // Past the mark the drain is always later (at least one byte must leave), never inside this call.
      this.draining = ch.drain$.subscribe({
        next: () => {
          this.draining = undefined;
          this.safeDispatchEvent('drain');
        },
        error: () => {
          this.draining = undefined;
        },
      });
    }
    return { sentBytes: data.byteLength, canSendMore };
  }

  /** Resets the channel (code 0: libp2p errors carry no wire code). */
  sendReset(): void {
    this.draining?.unsubscribe();
    this.channel.reset(0);
  }

  /** FIN after every queued byte; resolves once it has been taken by the writer. */
  async sendCloseWrite(options?: AbortOptions): Promise<void> {
    this.channel.end();
    const flushed = firstValueFrom(this.channel.flushed$);
    const signal = options?.signal;
    if (!signal) return flushed;
    signal.throwIfAborted();
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => reject(signal.reason);
      signal.addEventListener('abort', onAbort, { once: true });
      flushed.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
    });
  }

  /** yamux has no read-side close: nothing is sent. */
  async sendCloseRead(options?: AbortOptions): Promise<void> {
    options?.signal?.throwIfAborted();
  }

  /** Stops delivery: the peer gets no more credit until {@link sendResume}. */
  sendPause(): void {
    this.channel.pause();
  }

  /** Resumes delivery (and the credit that follows consumption). */
  sendResume(): void {
    this.channel.resume();
  }

  /** Stops reading the channel (the stream has ended). */
  release(): void {
    this.reading.unsubscribe();
    this.draining?.unsubscribe();
  }
}
