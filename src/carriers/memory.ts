// The in-memory carrier pair: two connected ends with optional latency, capacity, seeded chunking and fault
// injection (end, reset, stall), for tests and examples in virtual time.
import { Observable, type SchedulerLike } from 'rxjs';
import { MuxError, MuxErrorCodes } from '../errors.js';
import type { Carrier } from '../carrier.js';
import { mulberry32 } from '../util/random.js';
import { resolveOptions } from './memory-options.js';
import { Pipe } from './memory-pipe.js';

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
