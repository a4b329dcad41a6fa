// A channel's receive buffer: bytes that arrived while no reader took them, held against the session's receive
// budget. Every byte added is counted in the budget once and released once, by whichever path it leaves.
import type { ReceiveBudget } from '../credit/receive-budget.js';

const EMPTY = new Uint8Array(0);

/**
 * Buffered inbound bytes. Chunks are kept as they came (a view pinning a carrier chunk more than 4 times its size is
 * copied), but once 16 chunks wait, payloads under 4 KiB are copied into a tail chunk (grown by doubling up to
 * 16 KiB): a peer sending 1-byte frames would otherwise make each buffered byte cost an array entry and a view
 * (~100 bytes of heap), or pin a whole carrier chunk, instead of one byte.
 */
export class Inbound {
  private readonly q: Uint8Array[] = [];
  private head = 0;
  /** While set, the last chunk of q is `tail[0, tailUsed)`, a buffer of ours that small payloads are appended to. */
  private tail: Uint8Array | undefined;
  private tailUsed = 0;
  /** Bytes held. */
  bytes = 0;

  /** @param budget where held bytes are counted; undefined once the channel left its session (see {@link detach}). */
  constructor(private budget: ReceiveBudget | undefined) {}

  push(bytes: Uint8Array): void {
    const n = bytes.byteLength;
    this.bytes += n;
    this.budget?.hold(n);
    const q = this.q;
    if (n >= 4096 || (!this.tail && q.length - this.head < 16)) {
      q.push(n * 4 < bytes.buffer.byteLength ? bytes.slice() : bytes);
      this.tail = undefined;
      return;
    }
    let tail = this.tail;
    const used = tail ? this.tailUsed : 0;
    if (!tail || used + n > tail.byteLength) {
      const grown = tail && used + n <= 16384 ? new Uint8Array(Math.min(16384, Math.max(2 * (used + n), 256))) : undefined;
      if (grown && tail) grown.set(tail.subarray(0, used));
      else q.push(EMPTY); // a new tail chunk
      tail = grown ?? new Uint8Array(Math.max(2 * n, 256));
      if (!grown) this.tailUsed = 0;
      this.tail = tail;
    }
    tail.set(bytes, this.tailUsed);
    this.tailUsed += n;
    q[q.length - 1] = tail.subarray(0, this.tailUsed);
  }

  /** Takes the oldest chunk (there is one: `bytes > 0`). */
  shift(): Uint8Array {
    const q = this.q;
    const chunk = q[this.head]!;
    q[this.head++] = EMPTY;
    if (this.head === q.length) {
      q.length = 0;
      this.head = 0;
      this.tail = undefined; // the tail chunk went to the reader: never append to it again
    } else if (this.head > 64 && this.head * 2 > q.length) {
      q.splice(0, this.head);
      this.head = 0;
    }
    const n = chunk.byteLength;
    this.bytes -= n;
    this.budget?.release(n);
    return chunk;
  }

  /** Drops everything held. */
  drop(): void {
    this.budget?.release(this.bytes);
    this.q.length = 0;
    this.head = this.tailUsed = this.bytes = 0;
    this.tail = undefined;
  }

  /** The channel left its session with bytes still here for its reader: they no longer count against the budget. */
  detach(): void {
    this.budget?.release(this.bytes);
    this.budget = undefined;
  }
}
