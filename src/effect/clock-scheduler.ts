// Owns the bridge from Effect's Clock to rxjs's SchedulerLike: now() reads the Clock, schedule() sleeps on it.
// Sessions made with rxmux/effect use it by default, so TestClock.adjust drives keep-alive, timeouts and RTT.
import { Clock, Context, Effect, type Fiber } from 'effect';
import { Subscription, type SchedulerAction, type SchedulerLike } from 'rxjs';

/**
 * An rxjs scheduler on an Effect Clock: `now()` is `Clock.currentTimeMillisUnsafe()` (ms), and each scheduled action
 * is a fiber that sleeps `delay` ms on that Clock, then runs the work. Cancelling the subscription interrupts the
 * fiber. Under `TestClock` nothing happens until `TestClock.adjust` moves time past the delay; delay 0 runs on the
 * next turn of Effect's scheduler, without any clock movement.
 *
 * @example
 * ```ts
 * const program = Effect.gen(function* () {
 *   const scheduler = yield* clockScheduler;
 *   const fired: number[] = [];
 *   scheduler.schedule(() => fired.push(scheduler.now()), 250); // 250 ms of the Effect Clock
 *   yield* TestClock.adjust('250 millis'); // fired is now [250]
 * });
 * ```
 */
export const clockScheduler: Effect.Effect<SchedulerLike> = Effect.map(Effect.context<never>(), (context) => new ClockScheduler(context));

/** The SchedulerLike behind {@link clockScheduler}. `context` supplies the Clock and Effect's own fiber scheduler. */
export class ClockScheduler implements SchedulerLike {
  private readonly clock: Clock.Clock;
  /** Starts a fiber in the captured context. */
  readonly fork: <A, E>(effect: Effect.Effect<A, E>) => Fiber.Fiber<A, E>;

  constructor(context: Context.Context<never>) {
    this.clock = Context.get(context, Clock.Clock);
    this.fork = Effect.runForkWith(context);
  }

  /** Milliseconds of the Effect Clock. */
  now(): number {
    return this.clock.currentTimeMillisUnsafe();
  }

  schedule<T>(work: (this: SchedulerAction<T>, state?: T) => void, delay = 0, state?: T): Subscription {
    return new ClockAction(this, work).schedule(state, delay);
  }
}

class ClockAction<T> extends Subscription implements SchedulerAction<T> {
  private fiber: Fiber.Fiber<void> | undefined;
  private state: T | undefined;

  constructor(
    private readonly scheduler: ClockScheduler,
    private readonly work: (this: SchedulerAction<T>, state?: T) => void,
  ) {
    super(() => this.cancel());
  }

  schedule(state?: T, delay = 0): Subscription {
    if (this.closed) return this;
    this.state = state;
    this.cancel();
    const ms = Math.max(0, delay);
    const run = Effect.sync(() => {
      this.fiber = undefined;
      if (!this.closed) this.work.call(this, this.state);
    });
    this.fiber = this.scheduler.fork(ms > 0 ? Effect.andThen(Effect.sleep(ms), run) : run);
    return this;
  }

  private cancel(): void {
    const fiber = this.fiber;
    this.fiber = undefined;
    fiber?.interruptUnsafe();
  }
}
