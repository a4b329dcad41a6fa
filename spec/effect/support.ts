/**
 * Helpers for the rxmux/effect specs: run an Effect in virtual time (TestClock) with a scope, and two sessions over
 * an in-memory pair driven by the same Effect Clock.
 */
import { Effect, type Scope } from 'effect';
import { TestClock } from 'effect/testing';
import { memoryPair, type MemoryCarrier, type MemoryPairOptions } from '../../src/carriers/memory.js';
import { clockScheduler, make, type MuxSessionOptions, type MuxSessionService } from '../../src/effect.js';

/**
 * Runs `effect` scoped, under TestClock (time moves only with TestClock.adjust); rejects with its failure.
 *
 * Resolves only after Effect's dispatcher had its next turn: closing the scope interrupts child fibers that were
 * forked but not started yet, and their start tasks (no-ops now) are still queued on it. Run after the test file's
 * teardown, they would touch fibers jest has already cleaned off the global scope (JEST-01 warnings).
 */
export async function runTest<A, E>(effect: Effect.Effect<A, E, Scope.Scope>): Promise<A> {
  try {
    return await Effect.runPromise(Effect.scoped(effect).pipe(Effect.provide(TestClock.layer())));
  } finally {
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** Lets every fiber that is ready run (many turns of Effect's scheduler), without moving the clock. */
export const settle: Effect.Effect<void> = Effect.forEach(Array.from({ length: 50 }), () => Effect.yieldNow, { discard: true });

interface Pair {
  client: MuxSessionService;
  server: MuxSessionService;
  a: MemoryCarrier;
  b: MemoryCarrier;
}

type Side = Omit<MuxSessionOptions, 'role'>;

/** A client and a server session over a memory pair on the Effect Clock; keep-alive off unless asked for. */
export const sessionPair = (
  options: { pair?: Omit<MemoryPairOptions, 'scheduler'>; client?: Side; server?: Side } = {},
): Effect.Effect<Pair, never, Scope.Scope> =>
  Effect.gen(function* () {
    const scheduler = yield* clockScheduler;
    const [a, b] = memoryPair({ scheduler, ...options.pair });
    const client = yield* Effect.orDie(make(a, { role: 'client', keepAlive: false, ...options.client }));
    const server = yield* Effect.orDie(make(b, { role: 'server', keepAlive: false, ...options.server }));
    return { client, server, a, b };
  });

export const text = (bytes: Uint8Array): string => new TextDecoder().decode(bytes);
export const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
export const KiB = 1024;

/** Deterministic bytes (seeded LCG). */
export function seeded(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** The chunks joined (the package's own helper). */
export { concatBytes as concat } from '../../src/util/bytes.js';
