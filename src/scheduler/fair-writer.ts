// The session's one writer: control frames first, small frames of newly ready channels next, then deficit
// round-robin over channels with data and credit, laid out in a slab and handed to the sink in few writes.
import { Flag, FrameType, HEADER_LENGTH } from '../frame/constants.js';
import { writeHeader } from '../frame/encode.js';
import { clear } from '../util/arrays.js';
import { ControlFrames } from './control-frames.js';
import type { FairWriterOptions, WriterChannel, WriterSink } from './types.js';

/**
 * A channel that becomes ready with at most this many bytes (an interactive message) is served before the round
 * robin, in the next batch, whatever is queued on other channels and whatever the in-flight bound says.
 */
const EXPRESS_MAX = 1024;

/** Bytes per slab: headers, small payloads and control frames of a batch are laid out in it back to back. */
const SLAB_BYTES = 64 * 1024;
/** Payloads up to this size are copied next to their header (one chunk for the sink); larger ones go as views. */
const COPY_MAX = 1024;

/**
 * The one writer of a session: control frames first, then deficit round-robin over channels
 * that have data and credit, cut into frames of at most `maxFrameSize`, gathered into few sink writes.
 * It stops while the sink is saturated and resumes on {@link drained}.
 */
export class FairWriter {
  /** Control frames waiting. */
  private readonly control = new ControlFrames();
  /** Channels with something to send, in `ring[0, ringLength)`: an array that never shrinks (no regrowth per batch). */
  private ring: (WriterChannel | undefined)[] = [];
  private ringLength = 0;
  /** Entries of `ring[0, ringLength)` left empty by channels that went idle during a pass; compacted after it. */
  private holes = 0;
  private cursor = 0;
  /** Channels that became ready with a small frame, served first (see {@link EXPRESS_MAX}). */
  private express: WriterChannel[] = [];
  private saturated = false;
  private flushing = false;
  private stopped = false;
  private slab = new Uint8Array(0);
  private readonly out: Uint8Array[] = [];
  private slabAt = 0;
  /** Start of the run of slab bytes not yet handed to `out` (-1: none). */
  private runStart = -1;

  /** Total bytes and frames handed to the sink. */
  bytesOut = 0;
  framesOut = 0;
  /** Small frames of newly ready channels written before the round robin (interactive messages). */
  expressOut = 0;
  /** True once the sink has reported saturation at least once (the carrier pushed back). */
  pushedBack = false;

  /** {@link EXPRESS_MAX}, or `maxFrameSize` when that is smaller: an express frame is one whole frame. */
  private readonly expressMax: number;

  constructor(
    private readonly sink: WriterSink,
    private readonly options: FairWriterOptions,
  ) {
    this.expressMax = Math.min(EXPRESS_MAX, options.maxFrameSize);
  }

  /** True when the sink is saturated. */
  get isSaturated(): boolean {
    return this.saturated;
  }

  /** Control frames waiting. */
  get controlQueued(): number {
    return this.control.count;
  }

  /** Queues a control frame (encoded here: no allocation per frame); it goes before any further data. */
  enqueueControl(type: number, flags: number, streamId: number, length: number, payload?: Uint8Array): void {
    if (this.stopped) return;
    this.control.push(type, flags, streamId, length, payload);
    this.framesOut++;
  }

  /** Puts a channel with ready bytes (or a FIN) in the ring. */
  activate(ch: WriterChannel): void {
    if (ch.inRing || this.stopped) return;
    ch.inRing = true;
    ch.deficit = 0;
    ch.slot = this.ringLength;
    this.ring[this.ringLength++] = ch;
    const ready = ch.readyBytes();
    // A whole small message, not a piece of a larger queue that the peer's credit cuts short.
    if (ready > 0 && ready <= this.expressMax && ch.queuedBytes() === ready) this.express.push(ch);
  }

  /**
   * Takes a channel out of the ring at once (it closed): its slot becomes a hole, and the ring is compacted once holes
   * are half of it. A closed channel must not stay referenced while the carrier is blocked and no pass runs.
   */
  remove(ch: WriterChannel): void {
    if (!ch.inRing) return;
    ch.inRing = false;
    ch.deficit = 0;
    if (this.ring[ch.slot] === ch) {
      this.ring[ch.slot] = undefined;
      this.holes++;
      if (!this.flushing && this.holes * 2 >= this.ringLength) this.compact();
    }
  }

  /** The sink can take bytes again. */
  drained(): void {
    this.saturated = false;
    this.flush();
  }

  /** Takes the control frames waiting (encoded back to back), for a last write past saturation; undefined when none. */
  takeControlFrames(): Uint8Array | undefined {
    return this.control.take();
  }

  /** Stops for good: nothing more is written. */
  stop(): void {
    this.stopped = true;
    this.control.clear();
    for (let i = 0; i < this.ringLength; i++) {
      const ch = this.ring[i];
      if (ch) ch.inRing = false;
    }
    this.ring = [];
    this.ringLength = 0;
    this.holes = 0;
    this.express = [];
  }

  /** Writes as much as the sink takes: all control frames, then data a quantum per channel per round. */
  flush(): void {
    if (this.flushing || this.saturated || this.stopped) return;
    this.flushing = true;
    try {
      // One array for every batch: a sink keeps no reference to it past the call (only to the chunks).
      const out = this.out;
      for (;;) {
        let bytes = this.control.count > 0 ? this.takeControl(out) : 0;
        bytes = this.takeData(out, bytes);
        // Also with no data to write: a bound that holds the data back may need a probe to let it go.
        this.options.beforeWrite?.(this.bytesOut + bytes);
        if (this.control.count > 0) {
          bytes += this.takeControl(out);
          this.closeRun(out);
        }
        if (out.length === 0) break;
        this.bytesOut += bytes;
        const more = this.sink.write(out);
        clear(out);
        if (!more) {
          this.saturated = this.pushedBack = true;
          break;
        }
        if (this.stopped) break;
      }
    } finally {
      clear(this.out);
      this.flushing = false;
    }
  }

  private takeControl(out: Uint8Array[]): number {
    const n = this.control.bytes;
    const at = this.reserve(n, out); // first: it may switch slabs
    this.control.moveTo(this.slab, at);
    return n;
  }

  /** Small frames of channels that just became ready, before the round robin. */
  private takeExpress(out: Uint8Array[], bytes: number): number {
    const express = this.express;
    for (let i = 0; i < express.length; i++) {
      const ch = express[i]!;
      const n = ch.inRing ? ch.readyBytes() : 0;
      if (n === 0 || n > this.expressMax) continue;
      const at = this.reserve(HEADER_LENGTH + n, out);
      writeHeader(this.slab, at, FrameType.Data, 0, ch.id, n);
      ch.copy(n, this.slab, at + HEADER_LENGTH);
      bytes += HEADER_LENGTH + n;
      this.framesOut++;
      this.expressOut++;
      // A message that ends the channel's writing: its FIN follows it at once.
      if (ch.finReady()) bytes = this.takeFin(ch, out, bytes);
    }
    clear(express);
    return bytes;
  }

  private takeData(out: Uint8Array[], bytes: number): number {
    const { batchSize, maxFrameSize, quantum } = this.options;
    if (this.express.length > 0) bytes = this.takeExpress(out, bytes);
    const room = this.options.allowance ? this.options.allowance() : Infinity;
    const end = Math.min(batchSize, bytes + room);
    const ring = this.ring;
    while (bytes < end && this.ringLength > this.holes) {
      if (this.cursor >= this.ringLength) {
        this.compact();
        this.cursor = 0;
      }
      const ch = ring[this.cursor];
      if (ch === undefined) {
        this.cursor++;
        continue;
      }
      const ready = ch.readyBytes();
      if (ready === 0) {
        if (ch.finReady()) bytes = this.takeFin(ch, out, bytes);
        // Nothing to send: leave the ring (DRR resets an empty queue's deficit). The slot stays empty until the pass
        // ends: shifting the rest down now would cost a move per channel behind it, for every channel that leaves.
        ch.inRing = false;
        ch.deficit = 0;
        ring[this.cursor++] = undefined;
        this.holes++;
        continue;
      }
      let n: number;
      if (this.ringLength - this.holes === 1) {
        // Alone in the ring there is nobody to share with: frames as large as allowed (fewer frames, fewer chunks).
        n = Math.min(maxFrameSize, ready);
        ch.deficit = n;
      } else {
        // Whole bytes per round, at least one: a fractional share (weight 1/3) must not cut fractional frame lengths.
        if (ch.deficit <= 0) ch.deficit += Math.max(1, Math.round(quantum * ch.weight) || 1);
        n = Math.min(ch.deficit, maxFrameSize, ready);
      }
      if (n <= COPY_MAX) {
        // A small frame: header and payload side by side in the slab.
        const at = this.reserve(HEADER_LENGTH + n, out);
        writeHeader(this.slab, at, FrameType.Data, 0, ch.id, n);
        ch.copy(n, this.slab, at + HEADER_LENGTH);
      } else {
        const at = this.reserve(HEADER_LENGTH, out); // first: it may switch slabs
        writeHeader(this.slab, at, FrameType.Data, 0, ch.id, n);
        this.closeRun(out);
        ch.take(n, out);
      }
      bytes += HEADER_LENGTH + n;
      this.framesOut++;
      ch.deficit -= n;
      if (ch.deficit <= 0) this.cursor++;
    }
    this.closeRun(out);
    if (this.holes > 0) this.compact();
    return bytes;
  }

  /** The FIN of `ch`, in a frame of its own. */
  private takeFin(ch: WriterChannel, out: Uint8Array[], bytes: number): number {
    const at = this.reserve(HEADER_LENGTH, out); // first: it may switch slabs
    writeHeader(this.slab, at, FrameType.WindowUpdate, Flag.FIN, ch.id, 0);
    this.framesOut++;
    ch.finSent();
    return bytes + HEADER_LENGTH;
  }

  /** Closes the ring's empty slots, keeping the order and the cursor on the same channel. */
  private compact(): void {
    const ring = this.ring;
    const length = this.ringLength;
    let w = 0;
    let cursor = -1;
    for (let r = 0; r < length; r++) {
      if (r === this.cursor) cursor = w;
      const ch = ring[r];
      if (ch !== undefined) {
        ch.slot = w;
        ring[w++] = ch;
      }
    }
    for (let i = w; i < length; i++) ring[i] = undefined;
    this.ringLength = w;
    this.holes = 0;
    this.cursor = cursor < 0 ? w : cursor;
  }

  /** Room for `n` bytes at the end of the current run (a fresh slab when full: earlier views may still sit in the sink's queue). */
  private reserve(n: number, out: Uint8Array[]): number {
    if (this.slabAt + n > this.slab.byteLength) {
      this.closeRun(out);
      this.slab = new Uint8Array(Math.max(SLAB_BYTES, n));
      this.slabAt = 0;
    }
    const at = this.slabAt;
    if (this.runStart < 0) this.runStart = at;
    this.slabAt = at + n;
    return at;
  }

  /** Hands the run of slab bytes gathered so far to `out` as one chunk. */
  private closeRun(out: Uint8Array[]): void {
    if (this.runStart < 0) return;
    out.push(this.slab.subarray(this.runStart, this.slabAt));
    this.runStart = -1;
  }
}
