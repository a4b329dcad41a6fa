// The resumption layer of one session (rxmux profile, `resume` on): the carrier the session sees, over the real carrier
// of the moment. Owns the layer's state, the write path (replay store, Acks) and the inbound path; wires the parts.
import { BehaviorSubject, Observable, Subject, type Subscriber } from 'rxjs';
import type { Carrier } from '../../carrier.js';
import { MuxError } from '../../errors.js';
import { encodeAck, encodeHello } from '../../frame/resume.js';
import type { ResolvedOptions } from '../../options.js';
import type { SessionState } from '../types.js';
import { type ControlsHost, readHello, readResumeFrame } from './controls.js';
import { Ending, type EndingHost } from './ending.js';
import type { ResumeRequest } from './handshake.js';
import { type InboundHost, InboundScan, type Mode } from './inbound.js';
import type { ResolvedResume } from './options.js';
import { OutboundScan } from './outbound.js';
import { holdSession, releaseSession } from './registry.js';
import { Resumer, type ResumerHost } from './resumer.js';
import { CarrierSlot, type SlotHost } from './slot.js';
import { ReplayStore } from './store.js';
import { Suspension, type SuspensionHost } from './suspension.js';
import { tokenId } from './token.js';

/** The receiver acknowledges at the end of a carrier chunk once this many bytes arrived since its last Ack. */
const ACK_EVERY = 512 * 1024;

/** An Ack rides along with a write of the session's own once this many bytes arrived since the last one. */
const ACK_PIGGYBACK = 16 * 1024;

/** What the layer asks of its session. */
export interface LinkHost {
  /** The carrier was lost: pings fail, idle timers pause. */
  suspended(): void;
  /** A new carrier took over: keep-alive and idle timers start again. */
  resumed(): void;
}

/** The resumption layer: a {@link Carrier} for the session, over the real carrier of the moment. */
export class ResumeLink implements Carrier, InboundHost, SlotHost, ControlsHost, ResumerHost, SuspensionHost, EndingHost {
  readonly drain$ = new Subject<void>();
  readonly incoming$: Observable<Uint8Array>;
  readonly state$ = new BehaviorSubject<SessionState>('connected');
  readonly store = new ReplayStore();
  /** Successful resumes. */
  resumptions = 0;
  /** Bytes written again from the store on resumes. */
  replayedBytes = 0;
  host: LinkHost | undefined;
  readonly role: 'client' | 'server';
  mode: Mode = 'negotiating';
  token: Uint8Array | undefined;
  /** Position: bytes of the peer's sequence received. */
  received = 0;
  /** The position last acknowledged to the peer. */
  acked = 0;
  peerEnded = false;
  /** Set once the session ended: 'end' lingers until the peer has every byte. */
  ending: 'end' | 'destroy' | undefined;

  private readonly opts: ResolvedResume;
  private sink: Subscriber<Uint8Array> | undefined;
  private initial: Carrier | undefined;
  private blocked = false;
  /** The real carrier of the moment. */
  private readonly slot: CarrierSlot;
  /** The resume exchange over a new carrier. */
  private readonly resumer: Resumer;
  /** What a lost carrier means, the resume timeout, the reconnect loop, the linger once ended. */
  private readonly suspension: Suspension;
  /** The graceful end, the destroy, the close. */
  private readonly shutdown: Ending;
  /** Where the session's written sequence stands (between frames or not). */
  private readonly out = new OutboundScan(this.store);
  /** Where the peer's sequence stands (inside a Data payload, a cut header, a Resume frame being collected). */
  private readonly in: InboundScan = new InboundScan(this);

  constructor(carrier: Carrier, options: ResolvedOptions, resume: ResolvedResume) {
    this.opts = resume;
    this.role = options.role;
    this.slot = new CarrierSlot(this, options.scheduler);
    this.resumer = new Resumer(this, this.slot, options, resume);
    this.suspension = new Suspension(this, this.slot, this.resumer, options, resume);
    this.shutdown = new Ending(this, this.slot, this.resumer, this.suspension);
    this.initial = carrier;
    this.incoming$ = new Observable<Uint8Array>((subscriber) => {
      this.sink = subscriber;
      const first = this.initial;
      this.initial = undefined;
      if (first) this.slot.attach(first, 'connected');
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
    return this.slot.phase === 'suspended' || this.slot.phase === 'handshake';
  }

  /** The store's bound, bytes (the writer stops once it is reached). */
  get bufferLimit(): number {
    return this.opts.bufferLimit;
  }

  /** Registry key of this session (once it has a token). */
  get id(): string | undefined {
    return this.token ? tokenId(this.token) : undefined;
  }

  /** Generation of the current carrier: bumped whenever it changes. */
  get gen(): number {
    return this.slot.gen;
  }

  /** A loss suspends the session: resumption on, a token, the peer not ended. */
  get resumable(): boolean {
    return this.mode === 'on' && this.token !== undefined && !this.peerEnded;
  }

  // ------------------------------------------------------------------ Carrier (what the session calls)

  write(chunks: readonly Uint8Array[]): boolean {
    const slot = this.slot;
    if (slot.phase === 'closed') return false;
    if (this.mode === 'off') {
      if (slot.phase !== 'connected' || !slot.attached) return false;
      slot.write(chunks);
      if (slot.carrierFull) this.blocked = true;
      return !slot.carrierFull;
    }
    const out = this.out;
    const atBoundary = out.atBoundary;
    for (let i = 0; i < chunks.length; i++) out.scan(chunks[i]!);
    let ok = false;
    if (slot.phase === 'connected' && slot.attached) {
      if (atBoundary && this.mode === 'on' && this.received - this.acked >= ACK_PIGGYBACK) {
        this.acked = this.received;
        slot.write([encodeAck(this.received), ...chunks]);
      } else slot.write(chunks);
      ok = !slot.carrierFull;
    }
    if (ok && this.store.bytes >= this.opts.bufferLimit) ok = false;
    if (!ok) this.blocked = true;
    return ok;
  }

  /** The session ended gracefully: End, then the carrier ends once the peer has every byte (or the resume timeout). */
  end(): void {
    this.shutdown.end();
  }

  /** The session was destroyed: End (when connected), then the carrier is destroyed. */
  destroy(error?: unknown): void {
    this.shutdown.destroy(error);
  }

  // ------------------------------------------------------------------ the session's controls

  /**
   * Client: resumes the suspended session over `carrier` (Resume, then Resumed and the replays). Completes once
   * resumed; errors with the refusal (ERR_MUX_RESUME_*) or ERR_MUX_CARRIER, and the session stays suspended.
   * Server: reads the carrier's first frame (a Resume) and answers it.
   */
  resume(carrier: Carrier): Observable<void> {
    return this.resumer.resume(carrier);
  }

  /** The keep-alive saw nothing from the peer: the carrier is taken as lost (true) when the session can resume. */
  stalled(): boolean {
    if (!this.resumable || this.slot.phase !== 'connected') return false;
    this.lost(new MuxError('ERR_MUX_TIMEOUT', 'the peer sent nothing after a keep-alive ping'), false);
    return true;
  }

  /**
   * Server: a carrier whose first frame was a Resume for this session. Refuses it (and returns the error, the
   * session untouched) or takes it over; the caller must not use `carrier` afterwards.
   */
  accept(carrier: Carrier, request: ResumeRequest): MuxError | undefined {
    return this.resumer.accept(carrier, request);
  }

  // ------------------------------------------------------------------ carriers

  /** Lets the lost carrier go and stands suspended: the inbound scan starts afresh, the writer waits. */
  hold(): void {
    this.slot.drop();
    // A header cut by the loss, or a Resume frame in progress, comes again in the replay.
    this.in.reset();
    this.blocked = true;
  }

  /** A frame of this layer, written between the session's frames. */
  inject(frame: Uint8Array): void {
    if (this.slot.phase !== 'connected' || !this.slot.attached) return;
    if (!this.out.atBoundary) return; // never inside a frame (the writer writes whole frames)
    this.slot.write([frame]);
  }

  /** Lets the writer go on when both the carrier and the store have room. */
  unblock(): void {
    if (!this.blocked || this.slot.phase !== 'connected' || this.slot.carrierFull) return;
    if (this.mode !== 'off' && this.store.bytes >= this.opts.bufferLimit) return;
    this.blocked = false;
    this.drain$.next();
  }

  /** The real carrier ended or failed. */
  lost(cause: unknown, completed: boolean): void {
    this.suspension.lost(cause, completed);
  }

  /** The peer's position is known and the new carrier is ours: replays what the peer lacks. */
  afterResume(peerPosition: number): void {
    this.suspension.afterResume(peerPosition);
  }

  /** Server: the session has its token; its registry (if any) may route resumes to it. */
  register(): void {
    if (this.opts.registry) holdSession(this.opts.registry, this);
  }

  // ------------------------------------------------------------------ inbound

  /** A chunk of the current carrier: the answer to a resume, or the peer's sequence (acknowledged now and then). */
  onChunk(chunk: Uint8Array, gen: number): void {
    if (this.slot.phase === 'handshake') {
      this.resumer.onAnswer(chunk, gen);
      return;
    }
    if (this.mode === 'off') {
      this.sink?.next(chunk);
      return;
    }
    this.in.scan(chunk, gen);
    if (this.slot.gen === gen && this.mode === 'on' && this.received - this.acked >= ACK_EVERY) {
      this.acked = this.received;
      this.inject(encodeAck(this.received));
    }
  }

  /** The peer's first frame: its Hello turns resumption on; anything else turns it off for good. */
  negotiate(b: Uint8Array, at: number): void {
    readHello(this, b, at);
  }

  /** A whole Resume frame of the peer's. */
  onResumeFrame(kind: number, payload: Uint8Array): void {
    readResumeFrame(this, kind, payload);
  }

  /** Hands `chunk[from, to)` to the session, `counted` bytes of it in the position; false once the carrier changed. */
  forward(chunk: Uint8Array, from: number, to: number, counted: number, gen: number): boolean {
    if (to <= from) return this.slot.gen === gen;
    this.received += counted;
    this.sink?.next(from === 0 && to === chunk.byteLength ? chunk : chunk.subarray(from, to));
    return this.slot.gen === gen;
  }

  // ------------------------------------------------------------------ ending

  /** Ends the session with `error` (its channels fail with it). */
  fail(error: MuxError): void {
    if (this.slot.phase !== 'closed') this.passOn(error, false);
  }

  /** Closes the layer; the session sees its carrier's end (`completed`) or failure, as without resumption. */
  passOn(cause: unknown, completed: boolean): void {
    const sink = this.sink;
    this.close('destroy');
    if (completed) sink?.complete();
    else sink?.error(cause);
  }

  /** The peer has every byte: the carrier ends. */
  finalEnd(): void {
    this.shutdown.finalEnd();
  }

  /** Closes the layer: the carrier ends or is destroyed. */
  close(how: 'end' | 'destroy', error?: unknown): void {
    this.shutdown.close(how, error);
  }

  /** The layer closed: its registry (if any) no longer routes resumes to it. */
  unregister(): void {
    if (this.opts.registry) releaseSession(this.opts.registry, this);
  }
}
