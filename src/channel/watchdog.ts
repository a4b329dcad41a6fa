// A channel's idle deadlines: the read timeout (no inbound bytes for too long) and the write timeout (queued bytes
// making no progress for too long), on one scheduler action. Allocated only for channels that set a timeout.
import type { SchedulerAction, SchedulerLike, Subscription } from 'rxjs';

/** What the watchdog asks of its channel. */
export interface Watchable {
  /** True while the channel is open (deadlines run only then). */
  readonly isOpen: boolean;
  /** True while inbound bytes may still come (no FIN yet). */
  readonly reading: boolean;
  /** True while bytes wait to be sent. */
  readonly writing: boolean;
  /** A deadline passed: `why` says which. */
  idle(why: string): void;
}

/**
 * Read and write idle timeouts of one channel, in ms of the session clock (0 = none).
 *
 * @example
 * ```ts
 * const dog = new Watchdog(channel, scheduler, clock, 5000, 0); // read timeout 5 s, no write timeout
 * dog.start();
 * ```
 */
export class Watchdog {
  /** Session-clock ms of the last inbound bytes. */
  lastRead = 0;
  /** Session-clock ms of the last bytes taken by the writer (or of the write that found the queue empty). */
  lastWrite = 0;
  private timer: Subscription | undefined;
  private paused = false;

  constructor(
    private readonly ch: Watchable,
    private readonly scheduler: SchedulerLike,
    private readonly clock: () => number,
    readonly readTimeout: number,
    readonly writeTimeout: number,
  ) {}

  /** (Re)arms for the nearest deadline; a no-op unless the channel is open. */
  start(): void {
    if (!this.ch.isOpen || this.paused) return;
    const now = this.clock();
    if (this.lastRead === 0) this.lastRead = now;
    const next = this.next();
    if (next === undefined) return;
    this.stop();
    this.timer = this.scheduler.schedule(
      function (this: SchedulerAction<Watchdog>, dog) {
        dog!.check(this);
      },
      Math.max(0, next - now),
      this,
    );
  }

  /** Bytes were queued on an empty queue: the write deadline starts now. */
  writeQueued(): void {
    if (this.writeTimeout <= 0) return;
    this.lastWrite = this.clock();
    this.start();
  }

  stop(): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
  }

  /** No deadline runs until {@link unpause} (the session is suspended). */
  pause(): void {
    this.paused = true;
    this.stop();
  }

  /** Deadlines run again, both counted from `now`. */
  unpause(now: number): void {
    this.paused = false;
    this.lastRead = now;
    this.lastWrite = now;
    this.start();
  }

  private next(): number | undefined {
    let next: number | undefined;
    if (this.readTimeout > 0 && this.ch.reading) next = this.lastRead + this.readTimeout;
    if (this.writeTimeout > 0 && this.ch.writing) {
      const t = this.lastWrite + this.writeTimeout;
      if (next === undefined || t < next) next = t;
    }
    return next;
  }

  private check(action: SchedulerAction<Watchdog>): void {
    if (!this.ch.isOpen) return;
    const now = this.clock();
    let why: string | undefined;
    if (this.readTimeout > 0 && this.ch.reading && now - this.lastRead >= this.readTimeout) {
      why = `no bytes received for ${this.readTimeout} ms (read timeout)`;
    } else if (this.writeTimeout > 0 && this.ch.writing && now - this.lastWrite >= this.writeTimeout) {
      why = `queued bytes made no progress for ${this.writeTimeout} ms (write timeout)`;
    }
    if (why) {
      this.timer = undefined;
      this.ch.idle(why);
      return;
    }
    const next = this.next();
    if (next === undefined) {
      this.timer = undefined;
      return;
    }
    action.schedule(this, Math.max(1, next - now));
  }
}
