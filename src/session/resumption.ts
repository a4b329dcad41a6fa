// The session's side of resumption: state$, resume(), what a lost carrier pauses and a new one restarts, and what
// an unanswered keep-alive means. Without the resume option there is no link and these answer as a plain session.
import { concat, defer, map, type Observable, of, throwError } from 'rxjs';
import type { Carrier } from '../carrier.js';
import { MuxError } from '../errors.js';
import type { ResolvedOptions } from '../options.js';
import { ResumeLink } from './resume/link.js';
import type { SessionImpl } from './session.js';
import type { SessionState, SessionStats } from './types.js';

type ResumeStats = Pick<SessionStats, 'resumptions' | 'replayedBytes' | 'replayBuffered' | 'replayPeak'>;

/** The session's resumption hooks; the link's host. */
export class Resumption {
  /** The resumption layer between the session and its carrier; only with `resume` on in the rxmux profile. */
  private readonly link: ResumeLink | undefined;
  /** The carrier the session writes to and reads from: the link, or the real carrier. */
  readonly carrier: Carrier;

  constructor(
    private readonly s: SessionImpl,
    carrier: Carrier,
    options: ResolvedOptions,
  ) {
    if (options.resume && options.profile === 'rxmux') {
      this.link = new ResumeLink(carrier, options, options.resume);
      this.link.host = this;
      this.carrier = this.link;
    } else this.carrier = carrier;
  }

  /** See {@link Session.state$}. */
  state$(): Observable<SessionState> {
    const link = this.link;
    if (link) return link.state$.asObservable();
    const s = this.s;
    return defer(() =>
      s.isClosed ? of<SessionState>('closed') : concat(of<SessionState>('connected'), s.closed$.pipe(map((): SessionState => 'closed'))),
    );
  }

  /** See {@link Session.resume}. */
  resume(carrier: Carrier): Observable<void> {
    if (this.link) return this.link.resume(carrier);
    return throwError(
      () => new MuxError('ERR_MUX_UNSUPPORTED', 'resumption is off for this session (the resume option needs the rxmux profile)'),
    );
  }

  /** The carrier was lost and the session is suspended: pings waiting fail, keep-alive and idle timers pause. */
  suspended(): void {
    const s = this.s;
    s.pings.stop(new MuxError('ERR_MUX_CARRIER', 'the carrier was lost before the ping was answered'));
    for (const ch of s.channelImpls()) ch.pauseIdle();
    s.inbound.pauseFrameTimeout();
  }

  /** A new carrier resumed the session: keep-alive and idle timers start again from now. */
  resumed(): void {
    const s = this.s;
    if (s.isClosed) return;
    s.pacing.restart();
    if (s.options.keepAlive) s.pings.startKeepAlive();
    for (const ch of s.channelImpls()) ch.resumeIdle();
    s.inbound.resumeFrameTimeout();
  }

  /** The keep-alive saw nothing from the peer: with resumption the carrier counts as lost, else the session fails. */
  keepAliveExpired(error: MuxError): void {
    if (this.link?.stalled()) return;
    this.s.ending.finish(error, 'destroy');
  }

  stats(): ResumeStats {
    const link = this.link;
    return {
      resumptions: link ? link.resumptions : 0,
      replayedBytes: link ? link.replayedBytes : 0,
      replayBuffered: link ? link.store.bytes : 0,
      replayPeak: link ? link.store.peak : 0,
    };
  }
}
