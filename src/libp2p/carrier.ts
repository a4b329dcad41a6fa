// The carrier under a libp2p muxer's session: bytes arrive through the muxer's onData (libp2p's connection raises
// them), leave through the connection's send(), and back-pressure comes from its 'drain' event. The connection
// belongs to libp2p: end() and destroy() release nothing (the session also runs with releaseCarrier: false).
import type { MessageStream } from '@libp2p/interface';
import { type Observable, Subject } from 'rxjs';
import type { Carrier } from '../carrier.js';
import { MuxError } from '../errors.js';

/** What libp2p's connection raises: bytes, as one array or a list of them. */
export type Libp2pBytes = Parameters<MessageStream['send']>[0];

/** What the carrier needs of libp2p's connection. */
interface MessageSink {
  send(data: Uint8Array): boolean;
}

/** A {@link Carrier} over a libp2p MessageStream (the connection a muxer is created on). */
export class MessageStreamCarrier implements Carrier {
  private readonly inbound = new Subject<Uint8Array>();
  private readonly drains = new Subject<void>();
  readonly incoming$: Observable<Uint8Array> = this.inbound.asObservable();
  readonly drain$: Observable<void> = this.drains.asObservable();

  constructor(private readonly sink: MessageSink) {}

  write(chunks: readonly Uint8Array[]): boolean {
    try {
      // One send per chunk: the connection appends each to its own write buffer (no copy, no list built here).
      let more = true;
      for (const chunk of chunks) more = this.sink.send(chunk) && more;
      return more;
    } catch (e) {
      // The connection refuses writes (it is closing): the session ends with ERR_MUX_CARRIER.
      this.inbound.error(new MuxError('ERR_MUX_CARRIER', `libp2p connection refused a write: ${String(e)}`, { cause: e }));
      return false;
    }
  }

  /** Bytes from the connection. */
  push(data: Libp2pBytes): void {
    if (data instanceof Uint8Array) this.inbound.next(data);
    else for (const chunk of data) this.inbound.next(chunk);
  }

  /** The connection can take bytes again. */
  drained(): void {
    this.drains.next();
  }

  /** The connection closed: with `error` when it failed. */
  closed(error?: Error): void {
    if (error) this.inbound.error(new MuxError('ERR_MUX_CARRIER', `libp2p connection failed: ${error.message}`, { cause: error }));
    else this.inbound.complete();
  }

  end(): void {
    // The connection is libp2p's to close.
  }

  destroy(): void {
    // The connection is libp2p's to abort.
  }
}
