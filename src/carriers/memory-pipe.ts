// One direction of the memory pair (writer to reader): bytes in flight with latency, capacity and chunking,
// the reader's subscriber, and end/reset delivery in order with the data.
import { Subject, type Subscriber, type Subscription } from 'rxjs';
import { MuxError, MuxErrorCodes } from '../errors.js';
import type { ResolvedOptions } from './memory-options.js';

type Item =
  | { readonly kind: 'data'; readonly chunk: Uint8Array; readonly due: number; readonly seq: number }
  | { readonly kind: 'end'; readonly due: number; readonly seq: number }
  | { readonly kind: 'reset'; readonly error: unknown; readonly due: number; readonly seq: number };

/** A local terminal event for the receiving end's incoming$: `error === undefined` means complete. */
interface LocalTerminal {
  readonly error: MuxError | undefined;
}

/**
 * One direction (writer → reader). Holds bytes in flight, the reader's subscriber and the delivery action.
 */
export class Pipe {
  private readonly queue: Item[] = [];
  private head = 0;
  private seq = 0;
  private action: Subscription | null = null;
  private actionDue = Infinity;

  inFlight = 0;
  written = 0;
  delivered = 0;
  stalled = false;
  needsDrain = false;

  /** The reader's incoming$ subscriber, once subscribed (and until it terminates or unsubscribes). */
  private sink: Subscriber<Uint8Array> | null = null;
  private subscribed = false;
  /** The reader no longer reads (terminated or unsubscribed): arriving bytes are dropped. */
  private readerDone = false;
  /** 'ended' / 'reset' once a terminal item (end/reset) was queued: the writer sends nothing more. */
  private writer: 'open' | 'ended' | 'reset' = 'open';
  private localTerminal: LocalTerminal | null = null;

  readonly drain = new Subject<void>();
  /** Called when a peer reset reaches the reader (so the reading end stops writing too). */
  onReset: () => void = () => {};

  constructor(
    private readonly config: ResolvedOptions,
    private readonly rng: () => number,
  ) {}

  // ----- writer side -----

  /** Queues chunks; returns whether the writer may keep writing. */
  write(chunks: readonly Uint8Array[]): boolean {
    const now = this.config.scheduler.now();
    const due = now + this.config.latency;
    const cut = this.config.cut;
    for (const chunk of chunks) {
      const n = chunk.byteLength;
      if (n === 0) continue;
      this.written += n;
      if (this.readerDone) continue;
      if (cut === undefined) {
        this.push({ kind: 'data', chunk, due, seq: this.seq++ });
      } else {
        let offset = 0;
        while (offset < n) {
          const remaining = n - offset;
          const raw = cut(remaining, this.rng);
          const size = Number.isFinite(raw) ? Math.min(remaining, Math.max(1, Math.floor(raw))) : remaining;
          const piece = size === n ? chunk : chunk.subarray(offset, offset + size);
          this.push({ kind: 'data', chunk: piece, due, seq: this.seq++ });
          offset += size;
        }
      }
      this.inFlight += n;
    }
    this.schedule();
    const ok = !this.stalled && this.inFlight < this.config.capacity;
    if (!ok) this.needsDrain = true;
    return ok;
  }

  /** The writer ended: the reader completes after the bytes in flight. */
  end(): void {
    if (this.writer !== 'open') return;
    this.writer = 'ended';
    this.closeDrain();
    if (this.readerDone) return;
    this.push({ kind: 'end', due: this.config.scheduler.now() + this.config.latency, seq: this.seq++ });
    this.schedule();
  }

  /** The writer was destroyed: bytes in flight are dropped and the reader gets a reset after the latency. */
  reset(error: unknown): void {
    if (this.writer === 'reset') return;
    // After end(), a destroy still overrides the end if it has not reached the reader yet (the end is always last).
    const endDelivered = this.writer === 'ended' && this.pendingCount() === 0;
    if (this.writer === 'open') this.closeDrain();
    this.writer = 'reset';
    if (this.readerDone || endDelivered) return;
    this.clearQueue();
    this.push({ kind: 'reset', error, due: this.config.scheduler.now() + this.config.latency, seq: this.seq++ });
    this.schedule();
  }

  /** Whether the writer already closed (ended, destroyed, or reset by the peer). */
  get closed(): boolean {
    return this.writer !== 'open';
  }

  stall(): void {
    if (this.stalled) return;
    this.stalled = true;
    this.cancelAction();
    this.schedule(); // a reset at the head still goes through
  }

  unstall(): void {
    if (!this.stalled) return;
    this.stalled = false;
    this.schedule();
  }

  // ----- reader side -----

  attach(subscriber: Subscriber<Uint8Array>): () => void {
    if (this.subscribed) {
      subscriber.error(new MuxError(MuxErrorCodes.READ_BUSY, 'memory carrier: incoming$ can be subscribed only once'));
      return () => {};
    }
    this.subscribed = true;
    if (this.readerDone && this.localTerminal === null) {
      // Cannot happen (readerDone before subscription only comes with a local terminal), kept for safety.
      subscriber.complete();
      return () => {};
    }
    this.sink = subscriber;
    this.schedule();
    return () => {
      if (this.sink === subscriber) {
        // Unsubscribed before termination: stop reading.
        this.sink = null;
        this.stopReading();
      }
    };
  }

  /** The reading end terminates locally (destroy → complete, fail → error), dropping what is on its way. */
  terminateLocally(error: MuxError | undefined): void {
    if (this.readerDone) return;
    this.localTerminal = { error };
    this.stopReading();
  }

  // ----- delivery -----

  /** Completes drain$ from a scheduled action (never synchronously inside end()/destroy()). */
  private closeDrain(): void {
    this.config.scheduler.schedule(() => this.drain.complete(), 0);
  }

  private stopReading(): void {
    this.readerDone = true;
    this.clearQueue();
    this.schedule();
  }

  private push(item: Item): void {
    this.queue.push(item);
  }

  private pendingCount(): number {
    return this.queue.length - this.head;
  }

  private peek(): Item | undefined {
    return this.head < this.queue.length ? this.queue[this.head] : undefined;
  }

  private shift(): Item | undefined {
    if (this.head >= this.queue.length) return undefined;
    const item = this.queue[this.head]!;
    this.queue[this.head] = undefined as unknown as Item;
    this.head++;
    if (this.head === this.queue.length) {
      this.queue.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    return item;
  }

  private clearQueue(): void {
    this.queue.length = 0;
    this.head = 0;
    this.inFlight = 0;
  }

  private drainReady(): boolean {
    return this.needsDrain && this.writer === 'open' && !this.stalled && this.inFlight <= this.config.lowWater;
  }

  /** When the next action should run (absolute scheduler time), or Infinity for "nothing to do". */
  private wakeAt(now: number): number {
    if (this.localTerminal !== null) return this.sink !== null ? now : Infinity;
    if (this.drainReady()) return now;
    if (this.sink === null || this.readerDone) return Infinity;
    const head = this.peek();
    if (head === undefined) return Infinity;
    if (this.stalled && head.kind !== 'reset') return Infinity;
    return head.due;
  }

  private schedule(): void {
    const scheduler = this.config.scheduler;
    const now = scheduler.now();
    const wake = this.wakeAt(now);
    if (wake === Infinity || (this.action !== null && this.actionDue <= wake)) return;
    this.cancelAction();
    this.actionDue = wake;
    this.action = scheduler.schedule(() => this.run(), Math.max(0, wake - now));
  }

  private cancelAction(): void {
    if (this.action !== null) {
      const action = this.action;
      this.action = null;
      this.actionDue = Infinity;
      action.unsubscribe();
    }
  }

  private run(): void {
    this.action = null;
    this.actionDue = Infinity;
    const terminal = this.localTerminal;
    if (terminal !== null && this.sink !== null) {
      const sink = this.sink;
      this.sink = null;
      this.localTerminal = null;
      if (terminal.error === undefined) sink.complete();
      else sink.error(terminal.error);
    } else {
      // Only items queued before this action started: a reader that makes the writer write again at latency 0
      // gets those bytes in a later action, never in this loop.
      const limit = this.seq;
      const now = this.config.scheduler.now();
      for (;;) {
        const sink = this.sink;
        const head = this.peek();
        if (sink === null || this.readerDone || head === undefined || head.due > now || head.seq >= limit) break;
        if (this.stalled && head.kind !== 'reset') break;
        this.shift();
        if (head.kind === 'data') {
          const n = head.chunk.byteLength;
          this.inFlight -= n;
          this.delivered += n;
          sink.next(head.chunk);
        } else {
          this.sink = null;
          this.readerDone = true;
          this.clearQueue();
          if (head.kind === 'end') {
            sink.complete();
          } else {
            this.onReset();
            if (head.error === undefined) sink.complete();
            else
              sink.error(
                new MuxError(MuxErrorCodes.CARRIER, 'memory carrier: peer destroyed the carrier', { cause: head.error, remote: true }),
              );
          }
        }
      }
    }
    if (this.drainReady()) {
      this.needsDrain = false;
      this.drain.next();
    }
    this.schedule();
  }
}
