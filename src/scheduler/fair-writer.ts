import { Flag, FrameType, HEADER_LENGTH } from '../frame/constants.js';
import { writeHeader } from '../frame/encode.js';

/** A channel as the fair writer sees it: a queue of bytes gated by credit, plus its share of the carrier. */
export interface WriterChannel {
  readonly id: number;
  /** Relative share of the carrier (1 = one quantum per round). */
  weight: number;
  /** Deficit round-robin counter, in bytes. Owned by the writer. */
  deficit: number;
  /** True while the channel sits in the writer's ring. Owned by the writer. */
  inRing: boolean;
  /** Bytes that may go now: queued and covered by the peer's credit. */
  readyBytes(): number;
  /** True when the write side was closed, nothing is queued, and the FIN has not gone yet. */
  finReady(): boolean;
  /** Moves exactly `n` ready bytes into `out` (views, no copies). */
  take(n: number, out: Uint8Array[]): void;
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
}

const SLAB_HEADERS = 64;

/**
 * The one writer of a session: control frames first, then deficit round-robin over channels
 * that have data and credit, cut into frames of at most `maxFrameSize`, gathered into few sink writes.
 * It stops while the sink is saturated and resumes on {@link drained}.
 */
export class FairWriter {
  private control: Uint8Array[] = [];
  private controlHead = 0;
  private ring: WriterChannel[] = [];
  private cursor = 0;
  private saturated = false;
  private flushing = false;
  private stopped = false;
  private slab = new Uint8Array(0);
  private readonly out: Uint8Array[] = [];
  private slabAt = 0;

  /** Total bytes and frames handed to the sink. */
  bytesOut = 0;
  framesOut = 0;

  constructor(
    private readonly sink: WriterSink,
    private readonly options: FairWriterOptions,
  ) {}

  /** True when the sink is saturated. */
  get isSaturated(): boolean {
    return this.saturated;
  }

  /** True when nothing waits: no control frame, no channel with ready bytes or a FIN to send. */
  get idle(): boolean {
    if (this.controlHead < this.control.length) return false;
    for (const ch of this.ring) if (ch.readyBytes() > 0 || ch.finReady()) return false;
    return true;
  }

  /** Control frames waiting. */
  get controlQueued(): number {
    return this.control.length - this.controlHead;
  }

  /** Queues an encoded control frame; it goes before any further data. */
  enqueueControl(frame: Uint8Array): void {
    if (this.stopped) return;
    this.control.push(frame);
    this.framesOut++;
  }

  /** Puts a channel with ready bytes (or a FIN) in the ring. */
  activate(ch: WriterChannel): void {
    if (ch.inRing || this.stopped) return;
    ch.inRing = true;
    ch.deficit = 0;
    this.ring.push(ch);
  }

  /** The sink can take bytes again. */
  drained(): void {
    this.saturated = false;
    this.flush();
  }

  /** Stops for good: nothing more is written. */
  stop(): void {
    this.stopped = true;
    this.control = [];
    this.controlHead = 0;
    for (const ch of this.ring) ch.inRing = false;
    this.ring = [];
  }

  /** Writes as much as the sink takes: all control frames, then data a quantum per channel per round. */
  flush(): void {
    if (this.flushing || this.saturated || this.stopped) return;
    this.flushing = true;
    try {
      // One array for every batch: a sink keeps no reference to it past the call (only to the chunks).
      const out = this.out;
      for (;;) {
        let bytes = this.controlHead < this.control.length ? this.takeControl(out, 0) : 0;
        bytes = this.takeData(out, bytes);
        if (out.length === 0) break;
        this.bytesOut += bytes;
        const more = this.sink.write(out);
        out.length = 0;
        if (!more) {
          this.saturated = true;
          break;
        }
        if (this.stopped) break;
      }
    } finally {
      this.out.length = 0;
      this.flushing = false;
    }
  }

  private takeControl(out: Uint8Array[], bytes: number): number {
    const q = this.control;
    while (this.controlHead < q.length) {
      const f = q[this.controlHead]!;
      q[this.controlHead++] = undefined as unknown as Uint8Array;
      out.push(f);
      bytes += f.byteLength;
    }
    this.control = [];
    this.controlHead = 0;
    return bytes;
  }

  private takeData(out: Uint8Array[], bytes: number): number {
    const { batchSize, maxFrameSize, quantum } = this.options;
    const ring = this.ring;
    while (bytes < batchSize && ring.length > 0) {
      if (this.cursor >= ring.length) this.cursor = 0;
      const ch = ring[this.cursor]!;
      const ready = ch.readyBytes();
      if (ready === 0) {
        if (ch.finReady()) {
          out.push(this.header(FrameType.WindowUpdate, Flag.FIN, ch.id, 0));
          bytes += HEADER_LENGTH;
          this.framesOut++;
          ch.finSent();
        }
        // Nothing to send: leave the ring (DRR resets an empty queue's deficit).
        ch.inRing = false;
        ch.deficit = 0;
        for (let i = this.cursor + 1; i < ring.length; i++) ring[i - 1] = ring[i]!;
        ring.pop();
        continue;
      }
      // Whole bytes per round, at least one: a fractional share (weight 1/3) must not cut fractional frame lengths.
      if (ch.deficit <= 0) ch.deficit += Math.max(1, Math.round(quantum * ch.weight) || 1);
      const n = Math.min(ch.deficit, maxFrameSize, ready);
      out.push(this.header(FrameType.Data, 0, ch.id, n));
      ch.take(n, out);
      bytes += HEADER_LENGTH + n;
      this.framesOut++;
      ch.deficit -= n;
      if (ch.deficit <= 0) this.cursor++;
    }
    return bytes;
  }

  private header(type: number, flags: number, id: number, length: number): Uint8Array {
    if (this.slabAt + HEADER_LENGTH > this.slab.byteLength) {
      // Fresh slab: earlier views may still sit in the sink's queue.
      this.slab = new Uint8Array(HEADER_LENGTH * SLAB_HEADERS);
      this.slabAt = 0;
    }
    const at = this.slabAt;
    writeHeader(this.slab, at, type, flags, id, length);
    this.slabAt = at + HEADER_LENGTH;
    return this.slab.subarray(at, at + HEADER_LENGTH);
  }
}

