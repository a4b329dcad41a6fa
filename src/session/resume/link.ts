// The resumption layer of one session (rxmux profile, `resume` on): the carrier the session sees, over the real
// carrier of the moment. It keeps the replay store, counts positions, acknowledges, strips and answers Resume frames,
// suspends the session when the real carrier is lost, and resumes it over a new one. The session's own code paths
// are the same with or without it: only a session with resumption on has one.
import { BehaviorSubject, Observable, Subject, type Subscriber, type Subscription } from 'rxjs';
import type { Carrier } from '../../carrier.js';
import { MuxError } from '../../errors.js';
import { FrameType } from '../../frame/constants.js';
import {
  encodeAck,
  encodeHello,
  encodeResume,
  encodeResumed,
  encodeResumeFrame,
  HELLO_FLAG,
  HELLO_RESUME,
  ResumeKind,
  ResumeRefusal,
  readU64,
  TOKEN_LENGTH,
} from '../../frame/resume.js';
import { readU32 } from '../../util/bytes.js';
import type { ResolvedOptions } from '../../options.js';
import type { SessionState } from '../types.js';
import type { ResolvedResume } from './options.js';
import { readAnswer, reconnectLoop, terminal } from './exchange.js';
import { notResume, type ResumeRequest, readResumeRequest, refuseCarrier } from './handshake.js';
import { holdSession, releaseSession } from './registry.js';
import { InboundScan, type InboundHost, type Mode } from './inbound.js';
import { OutboundScan } from './outbound.js';
import { ReplayStore } from './store.js';
import { newToken, sameToken, tokenId } from './token.js';

/** The receiver acknowledges at the end of a carrier chunk once this many bytes arrived since its last Ack. */
const ACK_EVERY = 512 * 1024;

/** An Ack rides along with a write of the session's own once this many bytes arrived since the last one. */
const ACK_PIGGYBACK = 16 * 1024;

/** What the layer asks of its session. */
interface LinkHost {
  /** The carrier was lost: pings fail, idle timers pause. */
  suspended(): void;
  /** A new carrier took over: keep-alive and idle timers start again. */
  resumed(): void;
}

type Phase = 'connected' | 'handshake' | 'suspended' | 'closed';

/** The resumption layer: a {@link Carrier} for the session, over the real carrier of the moment. */
export class ResumeLink implements Carrier, InboundHost {
  readonly drain$ = new Subject<void>();
  readonly incoming$: Observable<Uint8Array>;
  readonly state$ = new BehaviorSubject<SessionState>('connected');
  readonly store = new ReplayStore();
  /** Successful resumes. */
  resumptions = 0;
  /** Bytes written again from the store on resumes. */
  replayedBytes = 0;
  host: LinkHost | undefined;

  private readonly opts: ResolvedResume;
  private readonly role: 'client' | 'server';
  private readonly scheduler: ResolvedOptions['scheduler'];
  private readonly handshakeTimeout: number;
  private sink: Subscriber<Uint8Array> | undefined;
  private initial: Carrier | undefined;
  private carrier: Carrier | undefined;
  private subs: Subscription[] = [];
  /** Bumped whenever the carrier changes: events of an old carrier are ignored. */
  gen = 0;
  mode: Mode = 'negotiating';
  private phase: Phase = 'connected';
  private token: Uint8Array | undefined;
  /** Position: bytes of the peer's sequence received. */
  private received = 0;
  /** The position last acknowledged to the peer. */
  private acked = 0;
  private blocked = false;
  private carrierFull = false;
  private peerEnded = false;
  /** Set once the session ended: 'end' lingers until the peer has every byte. */
  private ending: 'end' | 'destroy' | undefined;
  private timer: Subscription | undefined;
  private reconnecting: Subscription | undefined;
  private attempt: Subscriber<void> | undefined;
  private refused = 0;
  private loss: unknown;
  /** Where the session's written sequence stands (between frames or not). */
  private readonly out = new OutboundScan(this.store);
  /** Where the peer's sequence stands (inside a Data payload, a cut header, a Resume frame being collected). */
  private readonly in: InboundScan = new InboundScan(this);
  /** Client, during a resume: bytes of the answer so far. */
  private answer: Uint8Array | undefined;

  constructor(carrier: Carrier, options: ResolvedOptions, resume: ResolvedResume) {
    this.opts = resume;
    this.role = options.role;
    this.scheduler = options.scheduler;
    this.handshakeTimeout = options.keepAliveTimeout;
    this.initial = carrier;
    this.incoming$ = new Observable<Uint8Array>((subscriber) => {
      this.sink = subscriber;
      const first = this.initial;
      this.initial = undefined;
      if (first) this.attach(first, 'connected');
      return () => {
        this.sink = undefined;
      };
    });
    try {
      carrier.write([encodeHello()]);
    } catch {
      // A carrier that cannot take the first bytes fails on its own.
    }
  }

  /** True once both ends negotiated resumption. */
  get negotiated(): boolean {
    return this.mode === 'on';
  }

  /** True while suspended (no carrier). */
  get isSuspended(): boolean {
    return this.phase === 'suspended' || this.phase === 'handshake';
  }

  /** The store's bound, bytes (the writer stops once it is reached). */
  get bufferLimit(): number {
    return this.opts.bufferLimit;
  }

  /** Registry key of this session (once it has a token). */
  get id(): string | undefined {
    return this.token ? tokenId(this.token) : undefined;
  }

  // ------------------------------------------------------------------ Carrier (what the session calls)

  write(chunks: readonly Uint8Array[]): boolean {
    if (this.phase === 'closed') return false;
    if (this.mode === 'off') {
      if (this.phase !== 'connected' || !this.carrier) return false;
      this.carrierWrite(chunks);
      if (this.carrierFull) this.blocked = true;
      return !this.carrierFull;
    }
    const out = this.out;
    const atBoundary = out.atBoundary;
    for (let i = 0; i < chunks.length; i++) out.scan(chunks[i]!);
    let ok = false;
    if (this.phase === 'connected' && this.carrier) {
      if (atBoundary && this.mode === 'on' && this.received - this.acked >= ACK_PIGGYBACK) {
        this.acked = this.received;
        this.carrierWrite([encodeAck(this.received), ...chunks]);
      } else this.carrierWrite(chunks);
      ok = !this.carrierFull;
    }
    if (ok && this.store.bytes >= this.opts.bufferLimit) ok = false;
    if (!ok) this.blocked = true;
    return ok;
  }

  /** The session ended gracefully: End, then the carrier ends once the peer has every byte (or the resume timeout). */
  end(): void {
    if (this.phase === 'closed' || this.ending) return;
    this.ending = 'end';
    this.stateClosed();
    if (this.mode !== 'on') {
      this.finalEnd();
      return;
    }
    if (this.phase === 'connected') {
      this.inject(encodeResumeFrame(ResumeKind.End));
      if (this.store.bytes === 0 || this.peerEnded) {
        this.finalEnd();
        return;
      }
    }
    // Linger: for the Ack of everything, or for a resume and its replay, at most the resume timeout.
    this.timer?.unsubscribe();
    this.timer = this.scheduler.schedule(() => this.close('destroy'), this.opts.timeout);
  }

  destroy(error?: unknown): void {
    if (this.phase === 'closed') return;
    this.ending = 'destroy';
    this.stateClosed();
    if (this.phase === 'connected' && this.mode === 'on') this.inject(encodeResumeFrame(ResumeKind.End));
    this.close('destroy', error);
  }

  // ------------------------------------------------------------------ the session's controls

  /**
   * Client: resumes the suspended session over `carrier` (Resume, then Resumed and the replays). Completes once
   * resumed; errors with the refusal (ERR_MUX_RESUME_*) or ERR_MUX_CARRIER, and the session stays suspended.
   * Server: reads the carrier's first frame (a Resume) and answers it.
   */
  resume(carrier: Carrier): Observable<void> {
    return new Observable<void>((subscriber) => {
      if (this.mode !== 'on') {
        carrier.destroy();
        subscriber.error(new MuxError('ERR_MUX_UNSUPPORTED', 'resumption was not negotiated on this session'));
        return;
      }
      if (this.role === 'server') {
        const sub = readResumeRequest(carrier, this.scheduler, this.handshakeTimeout).subscribe({
          next: ({ request, carrier: rest }) => {
            const error = request ? this.accept(rest, request) : notResume(rest);
            if (error) subscriber.error(error);
            else subscriber.complete();
          },
          error: (e) => subscriber.error(e),
        });
        return () => sub.unsubscribe();
      }
      if (this.phase !== 'suspended') {
        subscriber.error(
          this.phase === 'closed'
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
      this.phase = 'handshake';
      const gen = this.attach(carrier, 'handshake');
      this.carrierWrite([encodeResume(this.token!, this.received)]);
      const limit = this.scheduler.schedule(() => {
        if (this.gen === gen && this.phase === 'handshake')
          this.attemptFailed(new MuxError('ERR_MUX_TIMEOUT', `no answer to the resume within ${this.handshakeTimeout} ms`));
      }, this.handshakeTimeout);
      return () => {
        limit.unsubscribe();
        if (this.attempt === subscriber) {
          this.attempt = undefined;
          if (this.gen === gen && this.phase === 'handshake') {
            this.detach('destroy');
            this.phase = 'suspended';
          }
        }
      };
    });
  }

  /** The keep-alive saw nothing from the peer: the carrier is taken as lost (true) when the session can resume. */
  stalled(): boolean {
    if (!this.resumable || this.phase !== 'connected') return false;
    this.lost(new MuxError('ERR_MUX_TIMEOUT', 'the peer sent nothing after a keep-alive ping'), false);
    return true;
  }

  /**
   * Server: a carrier whose first frame was a Resume for this session. Refuses it (and returns the error, the
   * session untouched) or takes it over; the caller must not use `carrier` afterwards.
   */
  accept(carrier: Carrier, request: ResumeRequest): MuxError | undefined {
    const refuse = (code: number, reason: string): MuxError => refuseCarrier(carrier, code, reason);
    if (this.phase === 'closed' || !this.token) return refuse(ResumeRefusal.Token, 'no such session');
    if (this.refused >= this.opts.maxAttempts) return refuse(ResumeRefusal.Attempts, 'too many refused attempts');
    if (!sameToken(request.token, this.token)) {
      this.refused++;
      return refuse(ResumeRefusal.Token, 'wrong or stale token');
    }
    if (this.phase !== 'suspended') return refuse(ResumeRefusal.InUse, 'the session is connected');
    if (!this.store.holds(request.position)) {
      this.refused++;
      return refuse(ResumeRefusal.Position, `position ${request.position} not held (${this.store.base} to ${this.store.end})`);
    }
    // Single use: the token that resumed is spent, the next one goes back in the answer.
    const next = newToken(this.token);
    this.token = next;
    this.attach(carrier, 'connected');
    this.carrierWrite([encodeResumed(this.received, next)]);
    this.acked = this.received;
    this.afterResume(request.position);
    return undefined;
  }

  // ------------------------------------------------------------------ carriers

  private get resumable(): boolean {
    return this.mode === 'on' && this.token !== undefined && !this.peerEnded;
  }

  /** Subscribes to a carrier (drain first, as the session does); returns its generation. */
  private attach(carrier: Carrier, phase: Phase): number {
    this.detach('keep');
    const gen = ++this.gen;
    this.carrier = carrier;
    this.carrierFull = false;
    this.phase = phase;
    this.subs.push(
      carrier.drain$.subscribe(() => {
        if (this.gen !== gen) return;
        this.carrierFull = false;
        this.unblock();
      }),
    );
    this.subs.push(
      carrier.incoming$.subscribe({
        next: (chunk) => {
          if (this.gen === gen) this.onChunk(chunk, gen);
        },
        error: (e) => {
          if (this.gen === gen) this.lost(e, false);
        },
        complete: () => {
          if (this.gen === gen) this.lost(undefined, true);
        },
      }),
    );
    return gen;
  }

  /** Lets the current carrier go. */
  private detach(how: 'keep' | 'end' | 'destroy', error?: unknown): void {
    const carrier = this.carrier;
    const subs = this.subs;
    this.subs = [];
    this.carrier = undefined;
    this.gen++;
    for (const s of subs) s.unsubscribe();
    if (!carrier || how === 'keep') return;
    try {
      if (how === 'end') carrier.end();
      else carrier.destroy(error);
    } catch {
      // Released either way.
    }
  }

  private carrierWrite(chunks: readonly Uint8Array[]): void {
    const carrier = this.carrier;
    if (!carrier) return;
    try {
      if (!carrier.write(chunks)) this.carrierFull = true;
    } catch (e) {
      const gen = this.gen;
      this.scheduler.schedule(() => {
        if (this.gen === gen) this.lost(e, false);
      });
    }
  }

  /** A frame of this layer, written between the session's frames. */
  private inject(frame: Uint8Array): void {
    if (this.phase !== 'connected' || !this.carrier) return;
    if (!this.out.atBoundary) return; // never inside a frame (the writer writes whole frames)
    this.carrierWrite([frame]);
  }

  /** Lets the writer go on when both the carrier and the store have room. */
  private unblock(): void {
    if (!this.blocked || this.phase !== 'connected' || this.carrierFull) return;
    if (this.mode !== 'off' && this.store.bytes >= this.opts.bufferLimit) return;
    this.blocked = false;
    this.drain$.next();
  }

  /** The real carrier ended or failed. */
  private lost(cause: unknown, completed: boolean): void {
    if (this.phase === 'closed') return;
    if (this.phase === 'handshake') {
      this.attemptFailed(new MuxError('ERR_MUX_CARRIER', 'the carrier ended during the resume', { cause }));
      return;
    }
    if (this.ending) {
      if (this.store.bytes === 0 || this.peerEnded || !this.resumable) this.close('destroy');
      else this.suspend(cause);
      return;
    }
    if (!this.resumable) {
      // As without resumption: the session sees the carrier's end or failure.
      const sink = this.sink;
      this.close('destroy');
      if (completed) sink?.complete();
      else sink?.error(cause);
      return;
    }
    this.suspend(cause);
  }

  private suspend(cause: unknown): void {
    this.detach('destroy');
    this.phase = 'suspended';
    this.loss = cause;
    this.refused = 0;
    // A header cut by the loss, or a Resume frame in progress, comes again in the replay.
    this.in.reset();
    this.blocked = true;
    if (!this.ending) {
      this.state$.next('suspended');
      this.host?.suspended();
      this.timer?.unsubscribe();
      this.timer = this.scheduler.schedule(() => this.expire(), this.opts.timeout);
    }
    if (this.role === 'client' && this.opts.reconnect) this.startReconnect();
  }

  /** The resume timeout passed while suspended. */
  private expire(): void {
    if (!this.isSuspended) return;
    this.fail(
      new MuxError('ERR_MUX_CARRIER', `the carrier was lost and no new one resumed the session within ${this.opts.timeout} ms`, {
        cause: this.loss,
      }),
    );
  }

  /** Ends the session with `error` (its channels fail with it). */
  fail(error: MuxError): void {
    if (this.phase === 'closed') return;
    const sink = this.sink;
    this.close('destroy');
    sink?.error(error);
  }

  private startReconnect(): void {
    this.reconnecting?.unsubscribe();
    this.reconnecting = reconnectLoop(
      this.opts,
      this.scheduler,
      (carrier) => this.resume(carrier),
      () => this.phase === 'closed',
      (e, attempts) => {
        if (!this.isSuspended) return;
        if (this.ending) this.close('destroy');
        else if (terminal(e)) this.fail(e as MuxError);
        else
          this.fail(
            new MuxError('ERR_MUX_CARRIER', `the carrier was lost and ${attempts} reconnect attempts did not resume the session`, {
              cause: e,
            }),
          );
      },
    );
  }

  private attemptFailed(error: MuxError): void {
    const attempt = this.attempt;
    this.attempt = undefined;
    this.detach('destroy');
    this.phase = 'suspended';
    this.answer = undefined;
    attempt?.error(error);
  }

  /** Both sides: the peer's position is known and the new carrier is ours; replay what the peer lacks. */
  private afterResume(peerPosition: number): void {
    this.store.release(peerPosition);
    this.phase = 'connected';
    this.timer?.unsubscribe();
    this.timer = undefined;
    this.resumptions++;
    const replay = this.store.from(peerPosition);
    let n = 0;
    for (const seg of replay) n += seg.byteLength;
    this.replayedBytes += n;
    if (n > 0) this.carrierWrite(replay);
    if (this.ending) {
      this.inject(encodeResumeFrame(ResumeKind.End));
      this.timer = this.scheduler.schedule(() => this.close('destroy'), this.opts.timeout);
      return;
    }
    this.state$.next('resumed');
    this.host?.resumed();
    this.unblock();
  }

  // ------------------------------------------------------------------ inbound

  private onChunk(chunk: Uint8Array, gen: number): void {
    if (this.phase === 'handshake') {
      this.onAnswer(chunk, gen);
      return;
    }
    if (this.mode === 'off') {
      this.sink?.next(chunk);
      return;
    }
    this.in.scan(chunk, gen);
    if (this.gen === gen && this.mode === 'on' && this.received - this.acked >= ACK_EVERY) {
      this.acked = this.received;
      this.inject(encodeAck(this.received));
    }
  }

  /** Client, during a resume: the server's answer (Resumed or Refused), then the rest goes on as usual. */
  private onAnswer(chunk: Uint8Array, gen: number): void {
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
    if (!this.store.holds(position)) {
      const error = new MuxError(
        'ERR_MUX_RESUME_POSITION',
        `the server resumed from position ${position}, which this side no longer holds (${this.store.base} to ${this.store.end})`,
      );
      attempt?.error(error);
      this.fail(error);
      return;
    }
    this.token = answer.token;
    this.acked = this.received;
    this.afterResume(position);
    attempt?.complete();
    if (this.gen === gen && size < bytes.byteLength) this.onChunk(bytes.subarray(size), gen);
  }

  /** The peer's first frame: its Hello turns resumption on; anything else turns it off for good. */
  negotiate(b: Uint8Array, at: number): void {
    const flags = (b[at + 2]! << 8) | b[at + 3]!;
    if (b[at] === 0 && b[at + 1] === FrameType.Ping && flags === HELLO_FLAG && readU32(b, at + 8) & HELLO_RESUME) {
      this.mode = 'on';
      if (this.role === 'server') {
        this.token = newToken();
        if (this.opts.registry) holdSession(this.opts.registry, this);
        this.inject(encodeResumeFrame(ResumeKind.Token, this.token));
      }
      return;
    }
    this.mode = 'off';
    this.store.clear();
    this.unblock();
  }

  onResumeFrame(kind: number, payload: Uint8Array): void {
    switch (kind) {
      case ResumeKind.Ack: {
        const position = payload.byteLength === 8 ? readU64(payload, 0) : -1;
        if (position < 0 || position > this.store.end) {
          this.fail(
            new MuxError('ERR_MUX_PROTOCOL', `the peer acknowledged position ${position} beyond ${this.store.end}`, { wireCode: 1 }),
          );
          return;
        }
        this.store.release(position);
        if (this.ending && this.store.bytes === 0) this.finalEnd();
        else this.unblock();
        return;
      }
      case ResumeKind.Token:
        if (this.role === 'client' && payload.byteLength === TOKEN_LENGTH) this.token = payload.slice();
        return;
      case ResumeKind.End:
        this.peerEnded = true;
        this.acked = this.received;
        this.inject(encodeAck(this.received));
        return;
      default:
        this.fail(new MuxError('ERR_MUX_PROTOCOL', `unexpected Resume frame kind ${kind}`, { wireCode: 1 }));
    }
  }

  /** Hands `chunk[from, to)` to the session, `counted` bytes of it in the position; false once the carrier changed. */
  forward(chunk: Uint8Array, from: number, to: number, counted: number, gen: number): boolean {
    if (to <= from) return this.gen === gen;
    this.received += counted;
    this.sink?.next(from === 0 && to === chunk.byteLength ? chunk : chunk.subarray(from, to));
    return this.gen === gen;
  }

  // ------------------------------------------------------------------ ending

  /** The session ended (the layer may still linger to deliver its last bytes). */
  private stateClosed(): void {
    if (this.state$.closed) return;
    this.state$.next('closed');
    this.state$.complete();
  }

  private finalEnd(): void {
    this.close('end');
  }

  private close(how: 'end' | 'destroy', error?: unknown): void {
    if (this.phase === 'closed') return;
    this.phase = 'closed';
    this.timer?.unsubscribe();
    this.timer = undefined;
    this.reconnecting?.unsubscribe();
    this.reconnecting = undefined;
    const attempt = this.attempt;
    this.attempt = undefined;
    attempt?.error(new MuxError('ERR_MUX_SESSION_CLOSED', 'the session ended during the resume'));
    this.detach(how, error);
    if (this.opts.registry) releaseSession(this.opts.registry, this);
    this.store.clear();
    this.stateClosed();
  }
}
