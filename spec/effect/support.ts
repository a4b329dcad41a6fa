/**
 * Helpers for the rxmux/effect specs: run an Effect in virtual time (TestClock) with a scope, and two sessions over
 * an in-memory pair driven by the same Effect Clock.
 */
import { Effect, type Scope } from 'effect';
import { TestClock } from 'effect/testing';
import { memoryPair, type MemoryCarrier, type MemoryPairOptions } from '../../src/carriers/memory.js';
import { clockScheduler, make, type MuxSessionOptions, type MuxSessionService } from '../../src/effect.js';

/** Runs `effect` scoped, under TestClock (time moves only with TestClock.adjust); rejects with its failure. */
export function runTest<A, E>(effect: Effect.Effect<A, E, Scope.Scope>): Promise<A> {
  return Effect.runPromise(Effect.scoped(effect).pipe(Effect.provide(TestClock.layer())));
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

export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const c of chunks) n += c.byteLength;
  const out = new Uint8Array(n);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}
