// Control frames of one session over its fair writer: queued ahead of data, capped while the carrier is blocked
// (a peer that floods pings or SYNs without reading must not grow the queue), and GoAway written past saturation.
import type { Carrier } from '../carrier.js';
import { encodeFrame } from '../frame/encode.js';
import type { FairWriter } from '../scheduler/fair-writer.js';

/**
 * Control frames a hostile peer can make us queue (Ping answers, RSTs refusing its opens) are dropped while the carrier
 * is saturated and this many control frames already wait: otherwise a peer that floods pings or SYNs without reading
 * would grow our queue without bound. (go-yamux drops ping replies past a backlog of 32 alike.)
 */
export const CONTROL_BACKLOG = 64;

/** The session's control frames. */
export class Control {
  /** Answers dropped because of {@link CONTROL_BACKLOG}. */
  dropped = 0;

  constructor(
    private readonly writer: FairWriter,
    private readonly carrier: Carrier,
  ) {}

  queue(type: number, flags: number, id: number, length: number, payload?: Uint8Array): void {
    this.writer.enqueueControl(type, flags, id, length, payload);
  }

  /** True when the carrier is saturated and at least CONTROL_BACKLOG + `extra` control frames wait. */
  backlogFull(extra = 0): boolean {
    return this.writer.isSaturated && this.writer.controlQueued >= CONTROL_BACKLOG + extra;
  }

  /** Queues an answer to the peer unless the backlog is full (then it is counted in {@link dropped}). */
  answer(type: number, flags: number, id: number, length: number): void {
    if (this.backlogFull()) this.dropped++;
    else this.writer.enqueueControl(type, flags, id, length);
  }

  /**
   * Stops the writer and writes the control frames still waiting (RSTs, answers queued in this turn) and a GoAway
   * straight to the carrier, past any saturation. Queued data is dropped.
   */
  forceGoAway(code: number): void {
    const pending = this.writer.takeControlFrames();
    this.writer.stop();
    const goAway = encodeFrame({ type: 'go-away', streamId: 0, flags: 0, code });
    try {
      this.carrier.write(pending ? [pending, goAway] : [goAway]);
    } catch {
      // The carrier may already be gone; the session ends either way.
    }
  }
}
