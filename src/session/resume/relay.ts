// A carrier whose first bytes were already read (the server peeks at a new carrier's first frame): it holds them
// and whatever arrives meanwhile until its own reader subscribes. Writes, drain, end and destroy pass through.
import { Observable, type Subscriber, type Subscription } from 'rxjs';
import type { Carrier } from '../../carrier.js';

/**
 * A carrier whose incoming bytes were already subscribed to (to read its first frame): holds what was read and what
 * arrives until its own `incoming$` is subscribed, then forwards. Writes, drain, end and destroy go to the carrier.
 */
export class RelayCarrier implements Carrier {
  readonly incoming$: Observable<Uint8Array>;
  readonly drain$: Observable<void>;
  private held: Uint8Array[] = [];
  private done: { error?: unknown; failed: boolean } | undefined;
  private sink: Subscriber<Uint8Array> | undefined;
  private sub: Subscription | undefined;
  private peek: { chunk: (c: Uint8Array) => boolean; ended: () => void } | undefined;

  constructor(private readonly carrier: Carrier) {
    this.drain$ = carrier.drain$;
    this.incoming$ = new Observable<Uint8Array>((subscriber) => {
      this.sink = subscriber;
      const held = this.held;
      this.held = [];
      for (const c of held) if (this.sink === subscriber) subscriber.next(c);
      if (this.done && this.sink === subscriber) {
        if (this.done.failed) subscriber.error(this.done.error);
        else subscriber.complete();
      }
      return () => {
        if (this.sink === subscriber) this.sink = undefined;
        this.sub?.unsubscribe();
      };
    });
  }

  start(peek: { chunk: (c: Uint8Array) => boolean; ended: () => void }): void {
    this.peek = peek;
    this.sub = this.carrier.incoming$.subscribe({
      next: (c) => {
        if (this.peek?.chunk(c)) return;
        this.deliver(c);
      },
      error: (error) => {
        this.peek?.ended();
        this.done = { error, failed: true };
        this.sink?.error(error);
      },
      complete: () => {
        this.peek?.ended();
        this.done = { failed: false };
        this.sink?.complete();
      },
    });
  }

  /** The first frame was read: `rest` is what the next reader gets first. */
  hold(rest: Uint8Array): void {
    this.peek = undefined;
    if (rest.byteLength > 0) this.deliver(rest);
  }

  private deliver(c: Uint8Array): void {
    if (this.sink) this.sink.next(c);
    else this.held.push(c);
  }

  write(chunks: readonly Uint8Array[]): boolean {
    return this.carrier.write(chunks);
  }

  end(): void {
    this.carrier.end();
  }

  destroy(error?: unknown): void {
    this.sub?.unsubscribe();
    this.carrier.destroy(error);
  }
}
