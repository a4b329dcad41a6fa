// The in-flight bound: bytes handed to the carrier and not yet read by the peer are kept near what fills the pipe,
// so the carrier's own queues (socket buffers, kernel) stay short and the fair writer still chooses what goes next.
import type { FairWriter } from '../scheduler/fair-writer.js';
import type { Expiring } from '../util/deadlines.js';
import type { SessionImpl } from './session.js';

/** Probes outstanding at most. */
const MAX_PROBES = 8;
/** How long (ms) the bound stays engaged after the last small message of a newly ready channel. */
const INTERACTIVE_HOLD = 1000;
/** A probe unanswered for this long (ms), or 4 probe round trips if longer, turns the bound off until one is answered. */
const PROBE_TIMEOUT_MIN = 1000;

/**
 * Measures what the peer has read with Ping probes: a probe queued after `mark` bytes were written is answered once
 * the peer's decoder has read past them (frames are read in order). Active once the carrier has pushed back (before
 * that its queues are short) and a probe was answered (the peer answers pings); then data waits while
 * `written - read >= max(inFlightMin, 2 x delivery rate x minimum probe round trip)`. Control frames and small
 * express frames are not held. A peer that stops answering makes the bound lapse (as if off), never a stall.
 * Engaged only while there is interactive traffic to protect: a small message of a newly ready channel (an express
 * frame) was written in the last {@link INTERACTIVE_HOLD} ms. Bulk transfers alone are never held, nor probed.
 */
export class Pacing implements Expiring {
  /** Bytes written that the peer is known to have read. */
  private read = 0;
  private active = false;
  private readonly marks: number[] = [];
  private readonly sentAt: number[] = [];
  private readonly opaques: number[] = [];
  private lastMark = 0;
  private lastAnswerAt = -1;
  private lastAnswerMark = 0;
  /** Delivery rate, bytes per ms (smoothed). */
  private rate = 0;
  /** Smallest and smoothed probe round trips, ms. */
  private minRtt = -1;
  private srtt = -1;
  /** The writer's express frame count when last looked at, and when it last moved (-1: never). */
  private seenExpress = 0;
  private interactiveAt = -1;

  constructor(
    private readonly s: SessionImpl,
    private readonly writer: FairWriter,
    private readonly floor: number,
  ) {}

  /** The bound now, in bytes. */
  get limit(): number {
    const bdp = this.minRtt > 0 ? 2 * this.rate * this.minRtt : 0;
    return Math.max(bdp, this.floor);
  }

  /** True while a small interactive message was written in the last INTERACTIVE_HOLD ms. */
  private get interactive(): boolean {
    const n = this.writer.expressOut;
    if (n !== this.seenExpress) {
      this.seenExpress = n;
      this.interactiveAt = this.s.clock();
      return true;
    }
    return this.interactiveAt >= 0 && this.s.clock() - this.interactiveAt <= INTERACTIVE_HOLD;
  }

  /** Bytes of data the writer may hand over now. */
  allowance(): number {
    if (!this.active || !this.interactive) return Infinity;
    return this.limit - (this.writer.bytesOut - this.read);
  }

  /**
   * Before each writer batch (`out`: bytes written once it is out), also an empty one: a probe joins it once half the
   * bound was written since the last one (so a bound that shrank below what is unread still gets its answer). Half,
   * not less: each probe's answer is a wake-up on both ends, and fewer, larger releases cost less CPU per byte.
   */
  beforeWrite(out: number): void {
    if (this.floor === 0 || !this.writer.pushedBack || this.s.isClosed || !this.interactive) return;
    if (out - this.lastMark < this.limit / 2 || this.marks.length >= MAX_PROBES) return;
    const mark = out;
    this.lastMark = mark;
    const first = this.marks.length === 0;
    this.marks.push(mark);
    this.sentAt.push(this.s.clock());
    this.opaques.push(this.s.pings.probe((rtt) => this.answered(mark, rtt)));
    if (first) this.s.watch(this);
  }

  private answered(mark: number, rtt: number): void {
    while (this.marks.length > 0 && this.marks[0]! <= mark) {
      this.marks.shift();
      this.sentAt.shift();
      this.opaques.shift();
    }
    if (mark > this.read) this.read = mark;
    if (this.minRtt < 0 || rtt < this.minRtt) this.minRtt = rtt;
    this.srtt = this.srtt < 0 ? rtt : (this.srtt * 7 + rtt) / 8;
    const now = this.s.clock();
    if (this.lastAnswerAt >= 0 && now > this.lastAnswerAt) {
      const sample = (mark - this.lastAnswerMark) / (now - this.lastAnswerAt);
      this.rate = this.rate > 0 ? (this.rate * 3 + sample) / 4 : sample;
    }
    this.lastAnswerAt = now;
    this.lastAnswerMark = mark;
    this.active = true;
    if (this.marks.length > 0) this.s.watch(this);
    this.s.flushNow();
  }

  deadline(): number | undefined {
    if (this.marks.length === 0 || this.s.isClosed) return undefined;
    return this.sentAt[0]! + Math.max(PROBE_TIMEOUT_MIN, 4 * this.srtt);
  }

  /** A new carrier took over (resumption): probes sent on the old one are never answered; start over on it. */
  restart(): void {
    for (const opaque of this.opaques) this.s.pings.cancel(opaque);
    this.marks.length = this.sentAt.length = this.opaques.length = 0;
    this.active = false;
    this.lastMark = this.writer.bytesOut;
  }

  /** The oldest probe went unanswered: forget them all, and hold nothing until a new one is answered. */
  expire(): void {
    const at = this.deadline();
    if (at === undefined || this.s.clock() < at) return;
    for (const opaque of this.opaques) this.s.pings.cancel(opaque);
    this.marks.length = this.sentAt.length = this.opaques.length = 0;
    this.active = false;
    this.lastMark = this.writer.bytesOut;
    this.s.flushNow();
  }
}
