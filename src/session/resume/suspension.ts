// Loss and suspension of the resumption layer: what a lost carrier means, the resume timeout, the client's reconnect
// loop, the way back once a new carrier resumed (the replay), and the linger of an ended session.
import type { BehaviorSubject, Observable, Subscription } from 'rxjs';
import type { Carrier } from '../../carrier.js';
import { MuxError } from '../../errors.js';
import { encodeResumeFrame, ResumeKind } from '../../frame/resume.js';
import type { ResolvedOptions } from '../../options.js';
import type { SessionState } from '../types.js';
import { reconnectLoop, terminal } from './exchange.js';
import type { LinkHost } from './link.js';
import type { ResolvedResume } from './options.js';
import type { Resumer } from './resumer.js';
import type { CarrierSlot } from './slot.js';
import type { ReplayStore } from './store.js';

/** What loss and suspension ask of the layer. */
export interface SuspensionHost {
  /** True while suspended (no carrier) or resuming. */
  readonly isSuspended: boolean;
  /** A loss suspends the session: resumption on, a token, the peer not ended. */
  readonly resumable: boolean;
  readonly peerEnded: boolean;
  /** Set once the session ended: 'end' lingers until the peer has every byte. */
  readonly ending: 'end' | 'destroy' | undefined;
  readonly store: ReplayStore;
  readonly state$: BehaviorSubject<SessionState>;
  readonly host: LinkHost | undefined;
  resumptions: number;
  replayedBytes: number;
  /** Lets the lost carrier go and stands suspended: the inbound scan starts afresh, the writer waits. */
  hold(): void;
  /** Resumes the suspended session over `carrier`. */
  resume(carrier: Carrier): Observable<void>;
  /** A frame of the layer, written between the session's frames. */
  inject(frame: Uint8Array): void;
  /** Lets the writer go on when both the carrier and the store have room. */
  unblock(): void;
  /** Closes the layer; the session sees its carrier's end (`completed`) or failure, as without resumption. */
  passOn(cause: unknown, completed: boolean): void;
  /** Ends the session with `error`. */
  fail(error: MuxError): void;
  /** Lets the carrier go and closes the layer. */
  close(how: 'destroy'): void;
}

/** The lost carrier's aftermath, and the layer's one timer (resume timeout or linger). */
export class Suspension {
  private timer: Subscription | undefined;
  private reconnecting: Subscription | undefined;
  private loss: unknown;

  constructor(
    private readonly link: SuspensionHost,
    private readonly slot: CarrierSlot,
    private readonly resumer: Resumer,
    private readonly options: ResolvedOptions,
    private readonly opts: ResolvedResume,
  ) {}

  /** The real carrier ended or failed. */
  lost(cause: unknown, completed: boolean): void {
    const link = this.link;
    if (this.slot.phase === 'closed') return;
    if (this.slot.phase === 'handshake') {
      this.resumer.attemptFailed(new MuxError('ERR_MUX_CARRIER', 'the carrier ended during the resume', { cause }));
      return;
    }
    if (link.ending) {
      if (link.store.bytes === 0 || link.peerEnded || !link.resumable) link.close('destroy');
      else this.suspend(cause);
      return;
    }
    // As without resumption: the session sees the carrier's end or failure.
    if (!link.resumable) link.passOn(cause, completed);
    else this.suspend(cause);
  }

  /** Both sides: the peer's position is known and the new carrier is ours; replay what the peer lacks. */
  afterResume(peerPosition: number): void {
    const link = this.link;
    link.store.release(peerPosition);
    this.slot.phase = 'connected';
    this.timer?.unsubscribe();
    this.timer = undefined;
    link.resumptions++;
    const replay = link.store.from(peerPosition);
    let n = 0;
    for (const seg of replay) n += seg.byteLength;
    link.replayedBytes += n;
    if (n > 0) this.slot.write(replay);
    if (link.ending) {
      link.inject(encodeResumeFrame(ResumeKind.End));
      this.linger();
      return;
    }
    link.state$.next('resumed');
    link.host?.resumed();
    link.unblock();
  }

  /** The session ended: the layer closes at the latest once the resume timeout passes. */
  linger(): void {
    this.timer?.unsubscribe();
    this.timer = this.options.scheduler.schedule(() => this.link.close('destroy'), this.opts.timeout);
  }

  /** The layer closed: no timer and no reconnect loop run. */
  stop(): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
    this.reconnecting?.unsubscribe();
    this.reconnecting = undefined;
  }

  private suspend(cause: unknown): void {
    const link = this.link;
    link.hold();
    this.loss = cause;
    this.resumer.refused = 0;
    if (!link.ending) {
      link.state$.next('suspended');
      link.host?.suspended();
      this.timer?.unsubscribe();
      this.timer = this.options.scheduler.schedule(() => this.expire(), this.opts.timeout);
    }
    if (this.options.role === 'client' && this.opts.reconnect) this.startReconnect();
  }

  /** The resume timeout passed while suspended. */
  private expire(): void {
    if (!this.link.isSuspended) return;
    this.link.fail(
      new MuxError('ERR_MUX_CARRIER', `the carrier was lost and no new one resumed the session within ${this.opts.timeout} ms`, {
        cause: this.loss,
      }),
    );
  }

  /** Client: new carriers from `reconnect` until one resumes the session; the session fails if none does. */
  private startReconnect(): void {
    const link = this.link;
    this.reconnecting?.unsubscribe();
    this.reconnecting = reconnectLoop(
      this.opts,
      this.options.scheduler,
      (carrier) => link.resume(carrier),
      () => this.slot.phase === 'closed',
      (e, attempts) => {
        if (!link.isSuspended) return;
        if (link.ending) link.close('destroy');
        else if (terminal(e)) link.fail(e as MuxError);
        else
          link.fail(
            new MuxError('ERR_MUX_CARRIER', `the carrier was lost and ${attempts} reconnect attempts did not resume the session`, {
              cause: e,
            }),
          );
      },
    );
  }
}
