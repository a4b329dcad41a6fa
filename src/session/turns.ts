// One session's notion of "now" and of a turn: one clock reading per carrier chunk and per job, and the end-of-job
// flush that lets frames made by many calls in one turn leave in one carrier write.
import type { SchedulerLike } from 'rxjs';

/** Schedules the end-of-job flush (cheaper than Node's queueMicrotask, which makes an AsyncResource per call). */
const RESOLVED: Promise<void> = Promise.resolve();

/**
 * A scheduler whose clock reads below this (ms since 1970: early 1973) at session start keeps virtual time (a
 * TestScheduler starts at 0). Read from the injected scheduler only: no second clock.
 */
const VIRTUAL_CLOCK_BELOW = 1e11;

/**
 * Turns of one session. Inside a carrier chunk ({@link enter}/{@link leave}) or until a deferred flush runs, the clock
 * is read once; {@link defer} runs `flush` at the end of the current job (a microtask), or, under a virtual clock, at
 * the end of the current virtual frame (a microtask would never run inside TestScheduler.run).
 */
export class Turns {
  /** Scheduler time at the start: session clock readings are relative to it (small numbers). */
  private readonly epoch: number;
  private readonly virtual: boolean;
  private depth = 0;
  /** The reading of this chunk or job (-1: not read yet). */
  private reading = -1;
  private queued = false;

  constructor(
    private readonly scheduler: SchedulerLike,
    private readonly flush: () => void,
  ) {
    this.epoch = scheduler.now();
    this.virtual = this.epoch < VIRTUAL_CLOCK_BELOW;
  }

  /** ms of the session's scheduler since the session started. */
  clock(): number {
    if (this.reading >= 0) return this.reading;
    const now = this.scheduler.now() - this.epoch;
    if (this.depth > 0 || this.queued) this.reading = now;
    return now;
  }

  /** True while a carrier chunk is being handled (flushes wait for its end). */
  get inChunk(): boolean {
    return this.depth > 0;
  }

  get flushPending(): boolean {
    return this.queued;
  }

  enter(): void {
    this.reading = -1;
    this.depth++;
  }

  leave(): void {
    this.depth--;
  }

  /** The chunk's own work is done: a later job reads the clock anew unless a deferred flush still waits. */
  settled(): void {
    if (!this.queued) this.reading = -1;
  }

  /** Runs the flush at the end of the current job (once, however often asked). */
  defer(): void {
    if (this.queued) return;
    this.queued = true;
    if (this.virtual) this.scheduler.schedule(this.run);
    else RESOLVED.then(this.run);
  }

  private readonly run = (): void => {
    this.queued = false;
    this.reading = -1;
    this.flush();
  };
}
