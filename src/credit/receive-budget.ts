// The session-wide receive budget: the one count of inbound bytes buffered by the session's channels, and the
// channels whose credit grants wait for it. Channels add and release through it; nothing else edits the count.

/** A channel whose WindowUpdate waits for the budget. */
export interface BudgetWaiter {
  /** The budget has room again: grant what was held back (may wait again). */
  retryGrant(): void;
}

/**
 * Bytes buffered across a session's channels, against a limit. While the count reaches the limit, no channel grants
 * more credit: the peer cannot make the session hold more than the limit plus the windows already granted.
 *
 * @example
 * ```ts
 * const budget = new ReceiveBudget(64 * 1024 * 1024); // bytes
 * budget.hold(4096); // a channel buffered 4 KiB
 * budget.release(4096); // ...and its reader consumed them
 * ```
 */
export class ReceiveBudget {
  /** Bytes held now. */
  private held = 0;
  private readonly waiting = new Set<BudgetWaiter>();

  /** @param limit bytes */
  constructor(readonly limit: number) {}

  /** Bytes held now, across all channels. */
  get used(): number {
    return this.held;
  }

  /** True while grants must wait. */
  get full(): boolean {
    return this.held >= this.limit;
  }

  hold(n: number): void {
    this.held += n;
  }

  /** `n` held bytes left a channel (consumed, dropped, or handed over with a channel that left the session). */
  release(n: number): void {
    this.held -= n;
  }

  /** `w` holds back a grant until the budget has room. */
  defer(w: BudgetWaiter): void {
    this.waiting.add(w);
  }

  forget(w: BudgetWaiter): void {
    this.waiting.delete(w);
  }

  /** Lets waiting grants go while there is room. */
  retry(): void {
    if (this.waiting.size === 0 || this.full) return;
    for (const w of [...this.waiting]) {
      this.waiting.delete(w);
      w.retryGrant();
      if (this.full) break;
    }
  }

  /** Forgets every waiter (the session ended). */
  clear(): void {
    this.waiting.clear();
  }
}
