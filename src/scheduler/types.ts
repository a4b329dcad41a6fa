// What the fair writer needs from a channel and from its sink, and its options: the writer imports no channel
// or session code, they implement these.
/** A channel as the fair writer sees it: a queue of bytes gated by credit, plus its share of the carrier. */
export interface WriterChannel {
  readonly id: number;
  /** Relative share of the carrier (1 = one quantum per round). */
  weight: number;
  /** Deficit round-robin counter, in bytes. Owned by the writer. */
  deficit: number;
  /** True while the channel sits in the writer's ring. Owned by the writer. */
  inRing: boolean;
  /** The channel's index in the writer's ring while `inRing`. Owned by the writer. */
  slot: number;
  /** Bytes that may go now: queued and covered by the peer's credit. */
  readyBytes(): number;
  /** Bytes queued, covered by credit or not. */
  queuedBytes(): number;
  /** True when the write side was closed, nothing is queued, and the FIN has not gone yet. */
  finReady(): boolean;
  /** Moves exactly `n` ready bytes into `out` (views, no copies). */
  take(n: number, out: Uint8Array[]): void;
  /** Copies exactly `n` ready bytes into `into` at `at` and consumes them (for small frames). */
  copy(n: number, into: Uint8Array, at: number): void;
  /** The FIN went out (always in a frame of its own: some yamux peers apply a FIN before the data it rides on). */
  finSent(): void;
}

/** Where the writer puts bytes: `write` returns false when the sink is saturated. */
export interface WriterSink {
  write(chunks: readonly Uint8Array[]): boolean;
}

export interface FairWriterOptions {
  /** Largest Data payload per frame, bytes. */
  maxFrameSize: number;
  /** Bytes per channel per round (times weight). */
  quantum: number;
  /** Bytes gathered into one sink write at most (a single frame may exceed it). */
  batchSize: number;
  /**
   * Bytes of data frames that may leave now (Infinity: no bound); read once per batch. Small frames of channels
   * that just became ready (up to 1 KiB) and control frames go regardless.
   */
  allowance?: () => number;
  /**
   * Called once per pass of a flush, before its sink write (and also when the pass found no data to write), with
   * `bytesOut` as it will be after the batch; control frames it queues end the same write. The in-flight bound's
   * probes go here: behind the data they measure without a write of their own, and even while the bound holds
   * every byte back (a probe is then what lets the data go).
   */
  beforeWrite?: (bytesOutAfter: number) => void;
}
