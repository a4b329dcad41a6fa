// The resume exchange over a new carrier, both sides: the client's attempt (Resume, then the server's answer) and the
// server's acceptance or refusal of a Resume; counts refused attempts.
import { Observable, type Subscriber } from 'rxjs';
import type { Carrier } from '../../carrier.js';
import { MuxError } from '../../errors.js';
import { encodeResume, encodeResumed, ResumeRefusal } from '../../frame/resume.js';
import type { ResolvedOptions } from '../../options.js';
import { readAnswer } from './exchange.js';
import { notResume, type ResumeRequest, readResumeRequest, refuseCarrier } from './handshake.js';
import type { Mode } from './inbound.js';
import type { ResolvedResume } from './options.js';
import type { CarrierSlot } from './slot.js';
import type { ReplayStore } from './store.js';
import { newToken, sameToken } from './token.js';

/** What the exchange asks of the layer. */
export interface ResumerHost {
  readonly mode: Mode;
  /** The token of the next resume. */
  token: Uint8Array | undefined;
  /** Position: bytes of the peer's sequence received. */
  readonly received: number;
  /** The position last acknowledged to the peer. */
  acked: number;
  readonly store: ReplayStore;
  /** The peer's position is known and the new carrier is ours: replays what the peer lacks. */
  afterResume(peerPosition: number): void;
  /** A chunk of the current carrier, as usual. */
  onChunk(chunk: Uint8Array, gen: number): void;
  /** Ends the session with `error`. */
  fail(error: MuxError): void;
}

/** One session's resumes: the attempt in progress (client) and the refused ones since the loss (server). */
export class Resumer {
  /** Server: attempts refused since the carrier was lost (past `maxAttempts`, every attempt is refused). */
  refused = 0;
  /** Client: the subscriber of the attempt in progress. */
  private attempt: Subscriber<void> | undefined;
  /** Client, during a resume: bytes of the answer so far. */
  private answer: Uint8Array | undefined;

  constructor(
    private readonly link: ResumerHost,
    private readonly slot: CarrierSlot,
    private readonly options: ResolvedOptions,
    private readonly opts: ResolvedResume,
  ) {}

  /**
   * Client: resumes the suspended session over `carrier` (Resume, then the answer). Completes once resumed; errors
   * with the refusal or the failure, the session still suspended. Server: reads the carrier's first frame and answers it.
   */
  resume(carrier: Carrier): Observable<void> {
    const link = this.link;
    const { role, scheduler, keepAliveTimeout: handshakeTimeout } = this.options;
    return new Observable<void>((subscriber) => {
      if (link.mode !== 'on') {
        carrier.destroy();
        subscriber.error(new MuxError('ERR_MUX_UNSUPPORTED', 'resumption was not negotiated on this session'));
        return;
      }
      if (role === 'server') {
        const sub = readResumeRequest(carrier, scheduler, handshakeTimeout).subscribe({
          next: ({ request, carrier: rest }) => {
            const error = request ? this.accept(rest, request) : notResume(rest);
            if (error) subscriber.error(error);
            else subscriber.complete();
          },
          error: (e) => subscriber.error(e),
        });
        return () => sub.unsubscribe();
      }
      if (this.slot.phase !== 'suspended') {
        subscriber.error(
          this.slot.phase === 'closed'
            ? new MuxError('ERR_MUX_SESSION_CLOSED', 'the session is closed')
            : new MuxError(
                'ERR_MUX_RESUME_IN_USE',
                this.attempt ? 'another resume of this session is in progress' : 'the session is connected',
              ),
        );
        carrier.destroy();
        return;
      }
      this.attempt = subscriber;
      this.answer = new Uint8Array(0);
      this.slot.phase = 'handshake';
      const gen = this.slot.attach(carrier, 'handshake');
      this.slot.write([encodeResume(link.token!, link.received)]);
      const limit = scheduler.schedule(() => {
        if (this.slot.gen === gen && this.slot.phase === 'handshake')
          this.attemptFailed(new MuxError('ERR_MUX_TIMEOUT', `no answer to the resume within ${handshakeTimeout} ms`));
      }, handshakeTimeout);
      return () => {
        limit.unsubscribe();
        if (this.attempt === subscriber) {
          this.attempt = undefined;
          if (this.slot.gen === gen && this.slot.phase === 'handshake') this.slot.drop();
        }
      };
    });
  }

  /** Server: refuses a Resume for this session (returns the error, the session untouched) or takes `carrier` over. */
  accept(carrier: Carrier, request: ResumeRequest): MuxError | undefined {
    const link = this.link;
    const store = link.store;
    const refuse = (code: number, reason: string): MuxError => refuseCarrier(carrier, code, reason);
    if (this.slot.phase === 'closed' || !link.token) return refuse(ResumeRefusal.Token, 'no such session');
    if (this.refused >= this.opts.maxAttempts) return refuse(ResumeRefusal.Attempts, 'too many refused attempts');
    if (!sameToken(request.token, link.token)) {
      this.refused++;
      return refuse(ResumeRefusal.Token, 'wrong or stale token');
    }
    if (this.slot.phase !== 'suspended') return refuse(ResumeRefusal.InUse, 'the session is connected');
    if (!store.holds(request.position)) {
      this.refused++;
      return refuse(ResumeRefusal.Position, `position ${request.position} not held (${store.base} to ${store.end})`);
    }
    // Single use: the token that resumed is spent, the next one goes back in the answer.
    const next = newToken(link.token);
    link.token = next;
    this.slot.attach(carrier, 'connected');
    this.slot.write([encodeResumed(link.received, next)]);
    link.acked = link.received;
    link.afterResume(request.position);
    return undefined;
  }

  /** Client, during a resume: the server's answer (Resumed or Refused), then the rest goes on as usual. */
  onAnswer(chunk: Uint8Array, gen: number): void {
    const link = this.link;
    const answer = readAnswer(this.answer!, chunk);
    if (answer.kind === 'partial') {
      this.answer = answer.bytes;
      return;
    }
    this.answer = undefined;
    if (answer.kind === 'failed') {
      this.attemptFailed(answer.error);
      return;
    }
    const { position, bytes, size } = answer;
    const attempt = this.attempt;
    this.attempt = undefined;
    if (!link.store.holds(position)) {
      const error = new MuxError(
        'ERR_MUX_RESUME_POSITION',
        `the server resumed from position ${position}, which this side no longer holds (${link.store.base} to ${link.store.end})`,
      );
      attempt?.error(error);
      link.fail(error);
      return;
    }
    link.token = answer.token;
    link.acked = link.received;
    link.afterResume(position);
    attempt?.complete();
    if (this.slot.gen === gen && size < bytes.byteLength) link.onChunk(bytes.subarray(size), gen);
  }

  /** Client: the attempt in progress failed with `error`; the session stays suspended. */
  attemptFailed(error: MuxError): void {
    const attempt = this.attempt;
    this.attempt = undefined;
    this.slot.drop();
    this.answer = undefined;
    attempt?.error(error);
  }

  /** The layer closed: the attempt in progress (if any) fails. */
  abort(): void {
    const attempt = this.attempt;
    this.attempt = undefined;
    attempt?.error(new MuxError('ERR_MUX_SESSION_CLOSED', 'the session ended during the resume'));
  }
}
