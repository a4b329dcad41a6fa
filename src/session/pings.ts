// Pings of one session: ping() with its RTT, answers to the peer's pings (capped while the carrier is blocked),
// keep-alive with its deadline, and the round-trip estimate the channels' window tuning reads.
import { Observable, type SchedulerAction, type Subscription } from 'rxjs';
import { RttEstimate } from '../credit/rtt.js';
import { MuxError } from '../errors.js';
import { Flag, FrameType } from '../frame/constants.js';
import type { SessionImpl } from './session.js';

type PingWaiter = { start: number; done: (rtt: number) => void; fail: (e: MuxError) => void };

/** The session's pings and keep-alive. */
export class Pings {
  readonly rtt: RttEstimate;
  private next = 1;
  private readonly waiting = new Map<number, PingWaiter>();
  private keepAliveTimer: Subscription | undefined;
  /** One deadline per keep-alive ping still waiting (several when keepAliveTimeout > keepAliveInterval). */
  private readonly keepAliveChecks = new Set<Subscription>();

  constructor(private readonly s: SessionImpl) {
    this.rtt = new RttEstimate((done) => {
      this.send(done, done);
    });
  }

  /** See {@link Session.ping}. */
  ping(timeout?: number): Observable<number> {
    return new Observable<number>((subscriber) => {
      const s = this.s;
      if (s.isClosed) {
        subscriber.error(s.closedError());
        return;
      }
      const limit = timeout ?? s.options.keepAliveTimeout;
      const opaque = this.send(
        (rtt) => {
          timer?.unsubscribe();
          subscriber.next(rtt);
          subscriber.complete();
        },
        (e) => {
          timer?.unsubscribe();
          subscriber.error(e);
        },
      );
      const timer: Subscription | undefined =
        limit > 0
          ? s.scheduler.schedule(() => {
              this.waiting.delete(opaque);
              subscriber.error(new MuxError('ERR_MUX_TIMEOUT', `ping ${opaque} got no answer within ${limit} ms`));
            }, limit)
          : undefined;
      return () => {
        timer?.unsubscribe();
        this.waiting.delete(opaque);
      };
    });
  }

  /** A Ping frame from the peer: answer a SYN, settle ours on an ACK. */
  onPing(flags: number, opaque: number): void {
    const s = this.s;
    if (flags & Flag.SYN) {
      if (!s.isClosed) s.controls.answer(FrameType.Ping, Flag.ACK, 0, opaque);
    } else if (flags & Flag.ACK) {
      const w = this.waiting.get(opaque);
      if (w) {
        this.waiting.delete(opaque);
        const rtt = s.scheduler.now() - w.start;
        this.rtt.sample(rtt);
        w.done(rtt);
      }
    }
  }

  /** A Ping whose answer goes to `done` (the in-flight bound's probes); returns its opaque value. */
  probe(done: (rtt: number) => void): number {
    return this.send(done, () => undefined, false);
  }

  /** Forgets a ping (its answer, if it comes, is ignored). */
  cancel(opaque: number): void {
    this.waiting.delete(opaque);
  }

  private send(done: (rtt: number) => void, fail: (e: MuxError) => void, flush = true): number {
    let opaque = this.next;
    while (this.waiting.has(opaque)) opaque = (opaque + 1) >>> 0;
    this.next = (opaque + 1) >>> 0;
    this.waiting.set(opaque, { start: this.s.scheduler.now(), done, fail });
    this.s.control(FrameType.Ping, Flag.SYN, 0, opaque);
    if (flush) this.s.flush();
    return opaque;
  }

  /** Pings every keepAliveInterval; a peer that sends nothing within keepAliveTimeout after one ends the session. */
  startKeepAlive(): void {
    const { keepAliveInterval, keepAliveTimeout } = this.s.options;
    this.keepAliveTimer = this.s.scheduler.schedule(
      function (this: SchedulerAction<Pings>, pings) {
        const p = pings!;
        const s = p.s;
        if (s.isClosed) return;
        const mark = s.chunksIn;
        const noop = (): void => undefined;
        const opaque = p.send(noop, noop);
        // Each ping keeps its own deadline: replacing the previous one would never fire when the timeout exceeds the interval.
        const check: Subscription = s.scheduler.schedule(() => {
          p.keepAliveChecks.delete(check);
          p.waiting.delete(opaque);
          if (!s.isClosed && s.chunksIn === mark) {
            s.resumption.keepAliveExpired(
              new MuxError('ERR_MUX_TIMEOUT', `peer sent nothing for ${keepAliveTimeout} ms after a keep-alive ping`),
            );
          }
        }, keepAliveTimeout);
        p.keepAliveChecks.add(check);
        this.schedule(p, keepAliveInterval);
      },
      keepAliveInterval,
      this,
    );
  }

  /** The session ended: timers stop, waiting pings fail with `error`. */
  stop(error: MuxError): void {
    this.keepAliveTimer?.unsubscribe();
    for (const check of this.keepAliveChecks) check.unsubscribe();
    this.keepAliveChecks.clear();
    const waiting = [...this.waiting.values()];
    this.waiting.clear();
    for (const w of waiting) w.fail(error);
  }
}
