import { asyncScheduler, Observable, Subject, type SchedulerLike, type Subscriber, type Subscription } from 'rxjs';
import type { Carrier } from '../carrier.js';
import { MuxError, MuxErrorCodes } from '../errors.js';
import { badOption, checkOptionsObject } from '../util/validate.js';

/**
 * Picks the size of the next delivered piece.
 *
 * @param remaining bytes left in the chunk being cut (>= 1).
 * @param rng seeded PRNG (mulberry32) returning a float in [0, 1).
 * @returns the piece size in bytes; clamped to [1, remaining]; a non-finite value means "the rest".
 */
export type ChunkSizeFn = (remaining: number, rng: () => number) => number;

/** Seeded random chunking: every piece is `min..max` bytes (inclusive, uniform), the last piece of a chunk may be shorter. */
export interface RandomChunkSize {
  /** Smallest piece, in bytes (integer >= 1). */
  readonly min: number;
  /** Largest piece, in bytes (integer >= min). */
  readonly max: number;
}

/** Options of {@link memoryPair}. Both directions use the same options. */
export interface MemoryPairOptions {
  /**
   * Scheduler that drives every delivery, drain and termination. Pass a `TestScheduler` for virtual time.
   * Default: `asyncScheduler`.
   */
  readonly scheduler?: SchedulerLike;
  /**
   * One-way latency in milliseconds (scheduler time units): bytes written at `t` reach the peer at `t + latency`.
   * `end()` and `destroy()` travel with the same latency. Default: `0` (still delivered by a scheduled action with
   * delay 0, never synchronously inside `write`).
   */
  readonly latency?: number;
  /**
   * How delivered bytes are cut, in bytes. Pieces never span two written chunks (re-chunking only splits, with
   * zero-copy `subarray` views; it never copies or merges).
   * - `undefined` (default): each written chunk is delivered as it was given (empty chunks are skipped).
   * - a number `n` (integer >= 1): pieces of at most `n` bytes.
   * - `{ min, max }`: seeded random piece sizes in `[min, max]` (see {@link MemoryPairOptions.seed}).
   * - a function `(remaining, rng) => size`: called for each piece.
   */
  readonly chunkSize?: number | RandomChunkSize | ChunkSizeFn;
  /**
   * Seed (integer, taken as uint32) of the mulberry32 PRNGs handed to `chunkSize`. The A→B direction uses
   * `seed`, B→A uses a value derived from it, so each direction is reproducible on its own. Default: `1`.
   */
  readonly seed?: number;
  /**
   * Bytes in flight per direction (written but not yet delivered to the peer's `incoming$` subscriber) at which
   * `write` starts returning false. Bytes are always accepted; false means "stop until `drain$`".
   * `drain$` then emits once the bytes in flight drop to `floor(capacity / 2)` or below (hysteresis, so a
   * saturated writer resumes with room for a burst instead of ping-ponging on single frames).
   * Default: `Infinity` (never saturated, unless stalled).
   */
  readonly capacity?: number;
}

/**
 * One end of a {@link memoryPair}: a {@link Carrier} plus controls and counters for tests.
 *
 * Counters and `stall` are about this end's OUTGOING direction (this end → peer).
 */
export interface MemoryCarrier extends Carrier {
  /** Bytes accepted by `write` on this end (ignored writes after `end`/`destroy` are not counted). */
  readonly bytesWritten: number;
  /** Bytes written by this end that reached the peer's `incoming$` subscriber. */
  readonly bytesDelivered: number;
  /** Bytes written by this end and not yet delivered (nor dropped); compared against `capacity`. */
  readonly bytesInFlight: number;
  /** True while this end's outgoing direction is stalled. */
  readonly stalled: boolean;
  /**
   * Simulates a carrier that stops draining: nothing this end wrote is delivered and every `write` returns false
   * until {@link unstall}. A `destroy()` is still delivered.
   */
  stall(): void;
  /** Resumes delivery after {@link stall}: overdue bytes are delivered at once (delay 0), then `drain$` may emit. */
  unstall(): void;
  /**
   * Simulates a local carrier failure: this end's `incoming$` errors with `MuxError('ERR_MUX_CARRIER', { cause: error })`
   * (delivered by the scheduler with delay 0) and bytes still on their way to this end are dropped. The peer is not
   * told and this end's outgoing direction keeps working until `end()` or `destroy()` is called (a session does
   * that when its carrier fails, and the peer then sees it).
   */
  fail(error?: unknown): void;
}

/**
 * Creates two connected in-memory carriers, `[a, b]`: bytes written on `a` arrive on `b.incoming$` and vice versa,
 * in order, after `latency`, cut per `chunkSize`, with back-pressure per `capacity`. Runs in browsers (no Node
 * built-ins) and in virtual time.
 *
 * Semantics:
 * - Everything the pair emits (bytes, completion, errors, `drain$`) comes from a scheduled action, never
 *   synchronously inside a call on the carrier, so a session answering a chunk cannot re-enter itself, and one action
 *   only delivers bytes written before it started (no unbounded loop even at latency 0).
 * - `incoming$` can be subscribed once; a second subscription errors with `ERR_MUX_READ_BUSY`. Bytes (and an
 *   end/destroy) arriving before the first subscription are held (and still count as in flight) until it subscribes.
 *   Unsubscribing stops reading: bytes then on their way, and later ones, are dropped.
 * - `end()` on `a`: after everything `a` wrote is delivered, `b.incoming$` completes (half-close: `a.incoming$` keeps
 *   receiving until `b` ends).
 * - `destroy(err?)` on `a`: bytes `a` wrote that are still in flight are dropped; after `latency`, `b.incoming$`
 *   errors with `MuxError('ERR_MUX_CARRIER', { cause: err, remote: true })` when `err` was given, or completes
 *   without one (like a close/RST); `b` can then no longer write. `a.incoming$` completes (delay 0) and bytes on
 *   their way to `a` are dropped.
 * - `write` after `end()`/`destroy()` (or after the peer's destroy arrived) is ignored and returns false (no throw);
 *   `drain$` then completes (delay 0). Writes never copy: the chunks (or `subarray` views of them) are delivered.
 *
 * @example
 * ```ts
 * testScheduler.run(({ expectObservable }) => {
 *   const [a, b] = memoryPair({ scheduler: testScheduler, latency: 5, chunkSize: 2 });
 *   a.write([Uint8Array.of(1, 2, 3)]);
 *   expectObservable(b.incoming$).toBe('5ms (xy)', { x: Uint8Array.of(1, 2), y: Uint8Array.of(3) });
 * });
 * ```
 *
 * @throws MuxError `ERR_MUX_INVALID_OPTION` when an option has a bad type or value.
 */
export function memoryPair(options: MemoryPairOptions = {}): [MemoryCarrier, MemoryCarrier] {
  const config = resolveOptions(options);
  const seed = config.seed;
  const ab = new Pipe(config, mulberry32(seed));
  const ba = new Pipe(config, mulberry32((seed ^ 0x9e3779b9) >>> 0));
  const a = new MemoryEnd(ab, ba);
  const b = new MemoryEnd(ba, ab);
  return [a, b];
}

/**
 * mulberry32: a tiny, fast, seeded 32-bit PRNG (good enough for test chunking, not for cryptography).
 *
 * @param seed any number, taken as uint32.
 * @returns a function returning floats in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  const imul = Math.imul; // one global lookup (global lookups are slow in some sandboxes, e.g. jest's vm)
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------------------------------------------------------

interface ResolvedOptions {
  readonly scheduler: SchedulerLike;
  readonly latency: number;
  readonly capacity: number;
  readonly lowWater: number;
  readonly seed: number;
  readonly cut: ((remaining: number, rng: () => number) => number) | undefined;
}

function isPositiveInteger(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1;
}

function resolveOptions(options: MemoryPairOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    checkOptionsObject('memoryPair', options);
  }
  const scheduler = options.scheduler ?? asyncScheduler;
  if (typeof scheduler !== 'object' || typeof scheduler.schedule !== 'function' || typeof scheduler.now !== 'function') {
    throw badOption('memoryPair', 'scheduler', 'an RxJS SchedulerLike');
  }
  const latency = options.latency ?? 0;
  if (typeof latency !== 'number' || !Number.isFinite(latency) || latency < 0) {
    throw badOption('memoryPair', 'latency', 'a finite number of milliseconds >= 0', latency);
  }
  const capacity = options.capacity ?? Infinity;
  if (typeof capacity !== 'number' || Number.isNaN(capacity) || capacity < 1) {
    throw badOption('memoryPair', 'capacity', 'a number of bytes >= 1 (or Infinity)', capacity);
  }
  const seed = options.seed ?? 1;
  if (typeof seed !== 'number' || !Number.isInteger(seed)) {
    throw badOption('memoryPair', 'seed', 'an integer', seed);
  }
  let cut: ResolvedOptions['cut'];
  const cs = options.chunkSize;
  if (cs === undefined) {
    cut = undefined;
  } else if (typeof cs === 'number') {
    if (!isPositiveInteger(cs)) throw badOption('memoryPair', 'chunkSize', 'an integer number of bytes >= 1', cs);
    cut = () => cs;
  } else if (typeof cs === 'function') {
    cut = cs;
  } else if (typeof cs === 'object' && cs !== null) {
    const { min, max } = cs;
    if (!isPositiveInteger(min) || !isPositiveInteger(max) || max < min) {
      throw badOption(
        'memoryPair',
        'chunkSize',
        '{ min, max } integers with 1 <= min <= max',
        `{ min: ${String(min)}, max: ${String(max)} }`,
      );
    }
    const span = max - min + 1;
    cut = (_remaining, rng) => min + Math.floor(rng() * span);
  } else {
    throw badOption('memoryPair', 'chunkSize', 'a number, { min, max } or a function', typeof cs);
  }
  return {
    scheduler,
    latency,
    capacity,
    lowWater: capacity === Infinity ? Infinity : Math.floor(capacity / 2),
    seed: seed >>> 0,
    cut,
  };
}

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
class Pipe {
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

class MemoryEnd implements MemoryCarrier {
  readonly incoming$: Observable<Uint8Array>;
  readonly drain$: Observable<void>;
  private destroyed = false;

  constructor(
    private readonly out: Pipe,
    private readonly inbound: Pipe,
  ) {
    this.incoming$ = new Observable<Uint8Array>((subscriber) => inbound.attach(subscriber));
    this.drain$ = out.drain.asObservable();
    // The peer's destroy reached us: the connection is gone in both directions.
    inbound.onReset = () => {
      out.reset(undefined);
    };
  }

  get bytesWritten(): number {
    return this.out.written;
  }

  get bytesDelivered(): number {
    return this.out.delivered;
  }

  get bytesInFlight(): number {
    return this.out.inFlight;
  }

  get stalled(): boolean {
    return this.out.stalled;
  }

  write(chunks: readonly Uint8Array[]): boolean {
    if (this.out.closed) return false;
    return this.out.write(chunks);
  }

  end(): void {
    this.out.end();
  }

  destroy(error?: unknown): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.out.reset(error);
    this.inbound.terminateLocally(undefined);
  }

  stall(): void {
    this.out.stall();
  }

  unstall(): void {
    this.out.unstall();
  }

  fail(error?: unknown): void {
    this.inbound.terminateLocally(new MuxError(MuxErrorCodes.CARRIER, 'memory carrier: carrier failed', { cause: error }));
  }
}
