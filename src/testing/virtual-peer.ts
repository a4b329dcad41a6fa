// A scripted peer for marble tests: a carrier whose incoming frames come from a test's marbles and whose
// written frames are decoded for assertions.
import { Observable, ReplaySubject, Subject, type Subscription } from 'rxjs';
import type { Carrier } from '../carrier.js';
import { MuxError } from '../errors.js';
import { FrameDecoder } from '../frame/decode.js';
import { encodeFrame } from '../frame/encode.js';
import type { Frame } from '../frame/frame.js';

/** A scripted peer for protocol tests: it feeds frames to a session and records every frame the session writes. */
export interface VirtualPeer {
  /** The carrier to hand to the session under test. */
  readonly carrier: Carrier;
  /** Every frame the session wrote, replayed from the start; completes when the session ends or destroys the carrier. */
  readonly written$: Observable<Frame>;
  /** Frames written so far. */
  readonly written: readonly Frame[];
  /** Sends frames (or raw bytes) to the session now, synchronously. */
  send(...items: (Frame | Uint8Array)[]): void;
  /** Sends every frame of an Observable (e.g. a `hot()` marble) as it arrives; its completion ends the carrier, its error fails it. */
  feed(frames$: Observable<Frame | Uint8Array>): Subscription;
  /** Ends the carrier from the peer's side (the session sees incoming$ complete). */
  end(): void;
  /** Fails the carrier (the session sees incoming$ error with this cause). */
  fail(cause: unknown): void;
  /** From now on `write` returns false (the carrier is saturated); bytes are still recorded. */
  saturate(): void;
  /** Ends saturation and emits drain$. */
  drain(): void;
  /** How the session released the carrier: undefined while open. */
  readonly released: 'end' | 'destroy' | undefined;
  /** Write calls that came after the carrier was ended or destroyed (should stay 0). */
  readonly writesAfterRelease: number;
  /** Write calls (each may carry several frames). */
  readonly writeCalls: number;
}

/**
 * Creates a {@link VirtualPeer}. Time is whatever scheduler drives the frames you feed;
 * inside `TestScheduler.run`, everything (the session's default `asyncScheduler` too) runs in virtual time.
 *
 * @example
 * ```ts
 * testScheduler.run(({ hot, expectObservable }) => {
 *   const peer = virtualPeer();
 *   const session = createSession(peer.carrier, { role: 'server', keepAlive: false });
 *   session.incoming$.subscribe((req) => req.accept());
 *   peer.feed(hot('-a', { a: f.open(1, 'hi') }));
 *   expectObservable(peer.written$).toBe('-b', { b: f.accept(1) });
 * });
 * ```
 */
export function virtualPeer(): VirtualPeer {
  const incoming = new Subject<Uint8Array>();
  const drain = new Subject<void>();
  const written$ = new ReplaySubject<Frame>();
  const written: Frame[] = [];
  let released: 'end' | 'destroy' | undefined;
  let saturated = false;
  let writesAfterRelease = 0;
  let writeCalls = 0;
  let pendingIn: Uint8Array[] | undefined = [];
  let inboundDone: { error?: unknown } | undefined;
  const decoder = new FrameDecoder(
    (frame) => {
      const copy: Frame = frame.type === 'data' ? { ...frame, data: new Uint8Array(frame.data) } : frame;
      written.push(copy);
      written$.next(copy);
    },
    { maxFrameSize: 0xffff_ffff },
  );

  const push = (bytes: Uint8Array): void => {
    if (inboundDone) return;
    if (pendingIn) pendingIn.push(bytes);
    else incoming.next(bytes);
  };

  const carrier: Carrier = {
    incoming$: new Observable<Uint8Array>((subscriber) => {
      const sub = incoming.subscribe(subscriber);
      const early = pendingIn ?? [];
      pendingIn = undefined;
      for (const b of early) subscriber.next(b);
      if (inboundDone) {
        if ('error' in inboundDone) subscriber.error(inboundDone.error);
        else subscriber.complete();
      }
      return sub;
    }),
    drain$: drain.asObservable(),
    write(chunks) {
      writeCalls++;
      if (released) {
        writesAfterRelease++;
        return false;
      }
      for (const c of chunks) decoder.push(c);
      return !saturated;
    },
    end() {
      if (released) return;
      released = 'end';
      written$.complete();
    },
    destroy() {
      if (released) return;
      released = 'destroy';
      written$.complete();
    },
  };

  const peer: VirtualPeer = {
    carrier,
    written$: written$.asObservable(),
    get written() {
      return written;
    },
    send(...items) {
      for (const item of items) push(item instanceof Uint8Array ? item : encodeFrame(item));
    },
    feed(frames$) {
      return frames$.subscribe({
        next: (item) => peer.send(item),
        error: (e) => peer.fail(e),
        complete: () => peer.end(),
      });
    },
    end() {
      if (inboundDone) return;
      inboundDone = {};
      if (!pendingIn) incoming.complete();
    },
    fail(cause) {
      if (inboundDone) return;
      const error = cause instanceof MuxError ? cause : new MuxError('ERR_MUX_CARRIER', `carrier failed: ${String(cause)}`, { cause });
      inboundDone = { error };
      if (!pendingIn) incoming.error(error);
    },
    saturate() {
      saturated = true;
    },
    drain() {
      saturated = false;
      drain.next();
    },
    get released() {
      return released;
    },
    get writesAfterRelease() {
      return writesAfterRelease;
    },
    get writeCalls() {
      return writeCalls;
    },
  };
  return peer;
}
