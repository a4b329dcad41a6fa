// The deadline sweeper: one scheduler timer for many deadlines (open, close and frame timeouts), swept in
// order, with no timer per item.
import type { SchedulerLike, Subscription } from 'rxjs';

/** Something with a deadline: `deadline()` in session-clock ms (undefined once it no longer needs watching). */
export interface Expiring {
  deadline(): number | undefined;
  expire(): void;
}

/**
 * One timer for many deadlines (open timeouts, close timeouts): armed for the earliest, it sweeps what has expired
 * and re-arms for the next. Cheaper than a scheduler action per channel, and deadlines that move later (activity
 * on a half-closed channel) need no re-arming.
 */
export class DeadlineSweeper {
  private readonly items = new Set<Expiring>();
  private timer: Subscription | undefined;
  private armedFor = Infinity;

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly clock: () => number,
  ) {}

  /** Watches `item`, whose deadline is now `deadline`. */
  add(item: Expiring, deadline: number): void {
    this.items.add(item);
    if (deadline < this.armedFor) this.arm(deadline);
  }

  /**
   * Stops watching `item`. The timer stays armed even when nothing is left (it fires once, finds nothing, and
   * disarms): opens that complete within their timeout would otherwise cancel and re-arm it over and over.
   */
  delete(item: Expiring): void {
    this.items.delete(item);
  }

  /** Stops watching everything. */
  clear(): void {
    this.items.clear();
    this.timer?.unsubscribe();
    this.timer = undefined;
    this.armedFor = Infinity;
  }

  private arm(deadline: number): void {
    this.timer?.unsubscribe();
    this.armedFor = deadline;
    this.timer = this.scheduler.schedule(() => this.sweep(), Math.max(0, deadline - this.clock()));
  }

  private sweep(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = this.clock();
    let next = Infinity;
    for (const item of [...this.items]) {
      if (!this.items.has(item)) continue;
      const d = item.deadline();
      if (d === undefined) {
        this.items.delete(item);
      } else if (d <= now) {
        this.items.delete(item);
        item.expire();
      } else if (d < next) {
        next = d;
      }
    }
    if (next < Infinity && this.timer === undefined) this.arm(next);
    else if (next < this.armedFor) this.arm(next);
  }
}
