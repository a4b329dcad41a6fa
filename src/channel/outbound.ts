// A channel's send queue: bytes waiting for credit and the writer, the writers waiting at the high-water mark,
// and the sliding overflow strategy. Allocated on a channel's first write.
import { clear } from '../util/arrays.js';

const EMPTY = new Uint8Array(0);

/** Queued outbound bytes of one channel, taken by the fair writer as views or copies. */
export class Outbound {
  private readonly q: Uint8Array[];
  private head = 0;
  /** Bytes of `q[head]` already taken. */
  private off = 0;
  /** Bytes queued. */
  bytes = 0;
  private waiters: { resolve: () => void; reject: (e: unknown) => void }[] | undefined;

  constructor(first: Uint8Array) {
    // A one-element literal: `[].push` would reserve 17 slots for a channel that mostly writes once.
    this.q = [first];
    this.bytes = first.byteLength;
  }

  push(bytes: Uint8Array): void {
    this.q.push(bytes);
    this.bytes += bytes.byteLength;
  }

  /** Bytes left of the oldest queued write (one `write()` call's chunk). */
  headBytes(): number {
    return this.bytes === 0 ? 0 : this.q[this.head]!.byteLength - this.off;
  }

  /** Consumes `n` queued bytes: as views pushed to `out`, or copied into `into` at `at`. */
  take(n: number, out: Uint8Array[] | undefined, into: Uint8Array | undefined, at: number): void {
    const q = this.q;
    let left = n;
    while (left > 0) {
      const c = q[this.head]!;
      const off = this.off;
      const avail = c.byteLength - off;
      const k = Math.min(avail, left);
      const piece = off === 0 && k === c.byteLength ? c : c.subarray(off, off + k);
      if (into) {
        into.set(piece, at);
        at += k;
      } else {
        out!.push(piece);
      }
      if (avail <= left) {
        q[this.head++] = EMPTY;
        this.off = 0;
      } else {
        this.off += k;
      }
      left -= k;
    }
    if (this.head === q.length) {
      clear(q);
      this.head = 0;
    } else if (this.head > 64 && this.head * 2 > q.length) {
      q.splice(0, this.head);
      this.head = 0;
    }
    this.bytes -= n;
  }

  /** Sliding overflow: drops whole chunks from the oldest end (never one already partly sent) until `room` more fit under `hwm`. */
  slide(room: number, hwm: number): void {
    const q = this.q;
    const i = this.off > 0 ? this.head + 1 : this.head;
    while (i < q.length && this.bytes + room > hwm) {
      this.bytes -= q[i]!.byteLength;
      q.splice(i, 1);
    }
  }

  /** A promise for a writer past the high-water mark, settled by {@link release}. */
  wait(): Promise<void> {
    return new Promise((resolve, reject) => (this.waiters ??= []).push({ resolve, reject }));
  }

  get waiting(): boolean {
    return this.waiters !== undefined;
  }

  /** Resolves the waiting writers, or rejects them with `error`. */
  release(error?: unknown): void {
    const w = this.waiters;
    if (!w) return;
    this.waiters = undefined;
    for (const x of w) error === undefined ? x.resolve() : x.reject(error);
  }

  /** Drops every queued byte and rejects the waiting writers. */
  drop(error: unknown): void {
    clear(this.q);
    this.head = this.off = this.bytes = 0;
    this.release(error);
  }
}
