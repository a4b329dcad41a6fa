// The end of the resumption layer: the session's graceful end (End, then the linger until the peer has every byte),
// its destroy, and the close that lets the carrier, the timers, a resume in progress and the store go.
import type { BehaviorSubject } from 'rxjs';
import { encodeResumeFrame, ResumeKind } from '../../frame/resume.js';
import type { SessionState } from '../types.js';
import type { Mode } from './inbound.js';
import type { Resumer } from './resumer.js';
import type { CarrierSlot } from './slot.js';
import type { ReplayStore } from './store.js';
import type { Suspension } from './suspension.js';

/** What the end asks of the layer. */
export interface EndingHost {
  readonly mode: Mode;
  /** Set once the session ended: 'end' lingers until the peer has every byte. */
  ending: 'end' | 'destroy' | undefined;
  readonly peerEnded: boolean;
  readonly store: ReplayStore;
  readonly state$: BehaviorSubject<SessionState>;
  /** A frame of the layer, written between the session's frames. */
  inject(frame: Uint8Array): void;
  /** The layer closed: its registry (if any) no longer routes resumes to it. */
  unregister(): void;
}

/** The session's end, and the close of the layer. */
export class Ending {
  constructor(
    private readonly link: EndingHost,
    private readonly slot: CarrierSlot,
    private readonly resumer: Resumer,
    private readonly suspension: Suspension,
  ) {}

  /** The session ended gracefully: End, then the carrier ends once the peer has every byte (or the resume timeout). */
  end(): void {
    const link = this.link;
    if (this.slot.phase === 'closed' || link.ending) return;
    link.ending = 'end';
    this.stateClosed();
    if (link.mode !== 'on') {
      this.finalEnd();
      return;
    }
    if (this.slot.phase === 'connected') {
      link.inject(encodeResumeFrame(ResumeKind.End));
      if (link.store.bytes === 0 || link.peerEnded) {
        this.finalEnd();
        return;
      }
    }
    // Linger: for the Ack of everything, or for a resume and its replay, at most the resume timeout.
    this.suspension.linger();
  }

  /** The session was destroyed: End (when connected), then the carrier is destroyed. */
  destroy(error?: unknown): void {
    const link = this.link;
    if (this.slot.phase === 'closed') return;
    link.ending = 'destroy';
    this.stateClosed();
    if (this.slot.phase === 'connected' && link.mode === 'on') link.inject(encodeResumeFrame(ResumeKind.End));
    this.close('destroy', error);
  }

  /** The peer has every byte: the carrier ends. */
  finalEnd(): void {
    this.close('end');
  }

  /** Closes the layer: the carrier ends or is destroyed, a resume in progress fails, the store is let go. */
  close(how: 'end' | 'destroy', error?: unknown): void {
    const link = this.link;
    if (this.slot.phase === 'closed') return;
    this.slot.phase = 'closed';
    this.suspension.stop();
    this.resumer.abort();
    this.slot.detach(how, error);
    link.unregister();
    link.store.clear();
    this.stateClosed();
  }

  /** The session ended (the layer may still linger to deliver its last bytes). */
  private stateClosed(): void {
    const state$ = this.link.state$;
    if (state$.closed) return;
    state$.next('closed');
    state$.complete();
  }
}
