// The session's round-trip estimate: smoothed and minimum samples in ms of the session's scheduler, and the
// on-demand first probe that window auto-tuning asks for.

/**
 * Round-trip samples (open->ACK, ping->pong) folded into a smoothed value (7/8 old + 1/8 new) and a minimum.
 * Window auto-tuning reads the minimum: queueing delay on a loaded carrier inflates the smoothed value, not the
 * path's own delay.
 *
 * @example
 * ```ts
 * const rtt = new RttEstimate(() => sendProbePing());
 * rtt.sample(12); // ms
 * rtt.smoothed; // 12
 * ```
 */
export class RttEstimate {
  /** Smoothed round-trip time in ms; -1 before the first sample. */
  smoothed = -1;
  /** Smallest sample in ms; -1 before the first sample. */
  min = -1;
  private probing = false;

  /** @param probe sends one Ping whose answer is {@link sample}d; called at most once at a time (see {@link request}). */
  constructor(private readonly probe: (done: () => void) => void) {}

  sample(ms: number): void {
    this.smoothed = this.smoothed < 0 ? ms : Math.round((this.smoothed * 7 + ms) / 8);
    if (this.min < 0 || ms < this.min) this.min = ms;
  }

  /** Asks for a sample when none was taken yet (window auto-tuning needs one). */
  request(): void {
    if (this.smoothed >= 0 || this.probing) return;
    this.probing = true;
    this.probe(() => {
      this.probing = false;
    });
  }
}
