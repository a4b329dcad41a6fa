// The Carrier contract every transport implements for a session: incoming bytes, batched writes with
// back-pressure (drain$), end and destroy.
import type { Observable } from 'rxjs';

/**
 * A byte carrier under a session: a TCP socket, a WebSocket, a pipe, an in-memory pair.
 *
 * The session is the carrier's only user. It subscribes to `incoming$` once, writes with
 * `write`, waits for `drain$` after `write` returned false, and calls `end` or `destroy`
 * when the session ends.
 */
export interface Carrier {
  /** Bytes from the peer, in any chunking. Completes when the peer ends; errors when the carrier fails. */
  readonly incoming$: Observable<Uint8Array>;
  /**
   * Writes chunks in order (a carrier may gather them into one write).
   * Returns false when the carrier is saturated: the session then holds further frames until `drain$` emits.
   * The carrier must not keep a reference that outlives the call to anything but the chunks themselves.
   */
  write(chunks: readonly Uint8Array[]): boolean;
  /** Emits each time a saturated carrier can take more bytes. */
  readonly drain$: Observable<void>;
  /** Flushes what was written, then ends the outgoing direction and releases the carrier. */
  end(): void;
  /** Releases the carrier at once, dropping unwritten bytes. */
  destroy(error?: unknown): void;
}
