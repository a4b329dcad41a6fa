/**
 * Resumption under random workloads (fast-check, fixed seed): channels opened from both ends with random writes,
 * FINs and RSTs; the connection cut at random byte offsets of either direction (or reset with bytes in flight lost),
 * with random reconnect delays. Every channel's bytes arrive equal (SHA-256), each FIN and RST is delivered exactly
 * once, and no replay store ever holds more than its bound.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import type { Channel, MuxError } from '../../src/index.js';
import { concatBytes, seededBytes } from '../support/bytes.js';
import { at, testScheduler } from '../support/marbles.js';
import { Record, world } from './harness.js';

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');
const ignore = (p: Promise<unknown>): void => void p.catch(() => undefined);

const LIMIT = 2 * 1024 * 1024;
const BATCH = 32768;
const FRAME = 16384;

const channelArb = fc.record({
  opener: fc.constantFrom('client' as const, 'server' as const),
  openAt: fc.integer({ min: 5, max: 80 }),
  openerWrites: fc.array(fc.integer({ min: 1, max: 40_000 }), { maxLength: 5 }),
  acceptorWrites: fc.array(fc.integer({ min: 1, max: 40_000 }), { maxLength: 5 }),
  reset: fc.option(fc.record({ by: fc.constantFrom('opener' as const, 'acceptor' as const), after: fc.integer({ min: 30, max: 200 }) }), {
    freq: 3,
  }),
});

const cutArb = fc.record({
  // After the token reached the client (a loss before it fails the session, as without resumption).
  at: fc.integer({ min: 30, max: 250 }),
  side: fc.constantFrom('client' as const, 'server' as const),
  /** null: reset at once, bytes in flight lost; a number: cut after that many more bytes of `side` (a FIN). */
  offset: fc.option(fc.integer({ min: 0, max: 60_000 }), { freq: 2 }),
  down: fc.integer({ min: 0, max: 80 }),
});

const workloadArb = fc.record({
  channels: fc.array(channelArb, { minLength: 1, maxLength: 6 }),
  cuts: fc.array(cutArb, { minLength: 1, maxLength: 4 }),
  retryDelay: fc.integer({ min: 1, max: 40 }),
  latency: fc.integer({ min: 1, max: 8 }),
  seed: fc.integer({ min: 1, max: 1_000_000 }),
});

type Workload = typeof workloadArb extends fc.Arbitrary<infer T> ? T : never;

interface Outcome {
  readonly sent: Map<string, Uint8Array>;
  readonly got: Map<string, Uint8Array>;
  readonly completes: Map<string, number>;
  readonly errors: Map<string, MuxError[]>;
  readonly resets: Map<number, 'client' | 'server'>;
  readonly peaks: number[];
  readonly ends: (MuxError | undefined)[];
  readonly resumptions: number;
}

function runWorkload(wl: Workload): Outcome {
  const ts = testScheduler();
  const sent = new Map<string, Uint8Array>();
  const resets = new Map<number, 'client' | 'server'>();
  const clientRec = new Record();
  let w!: ReturnType<typeof world>;
  let peaks: number[] = [];
  let resumptions = 0;
  ts.run(({ hot }) => {
    const opts = { writeBatchSize: BATCH, maxFrameSize: FRAME, highWaterMark: 1 << 20 };
    w = world(ts, {
      latency: wl.latency,
      seed: wl.seed,
      chunkSize: { min: 1, max: 9000 },
      client: opts,
      clientResume: { timeout: 100_000, maxAttempts: 100_000, retryDelay: wl.retryDelay, bufferLimit: LIMIT },
      server: { ...opts, keepAlive: false, resume: { timeout: 100_000, bufferLimit: LIMIT } },
      onOpen: (req, server) => serve(server.track(req.accept()), 'server'),
    });
    w.session.incoming$.subscribe({ next: (req) => serve(clientRec.track(req.accept()), 'client'), error: () => undefined });
    const plan = new Map<string, Workload['channels'][number]>();
    let seq = 0;
    /** The acceptor's part of a channel: its writes, its FIN, maybe its reset. */
    function serve(ch: Channel, side: 'client' | 'server'): void {
      const spec = plan.get(`${side === 'client' ? 'server' : 'client'}:${ch.id}`);
      if (!spec) return;
      act(ch, side, spec.acceptorWrites, spec.reset?.by === 'acceptor' ? spec.reset.after : undefined);
    }
    function act(ch: Channel, side: 'client' | 'server', writes: number[], resetAfter: number | undefined): void {
      const parts = writes.map((n) => seededBytes(n, ++seq));
      sent.set(`${side}->${ch.id}`, concatBytes(parts));
      for (const p of parts) ignore(ch.write(p));
      if (resetAfter === undefined) {
        ch.end();
        return;
      }
      ts.schedule(() => {
        resets.set(ch.id, side);
        ch.reset(5, 'random reset');
      }, resetAfter);
    }
    wl.channels.forEach((spec, i) => {
      at(hot, spec.openAt + i, () => {
        const session = spec.opener === 'client' ? w.session : w.net.servers[0];
        if (!session) return;
        session.open({ meta: `c${i}` }).subscribe({
          next: (ch) => {
            plan.set(`${spec.opener}:${ch.id}`, spec);
            if (spec.opener === 'client') w.client.track(ch);
            act(ch, spec.opener, spec.openerWrites, spec.reset?.by === 'opener' ? spec.reset.after : undefined);
          },
          error: () => undefined,
        });
      });
    });
    for (const cut of wl.cuts) {
      at(hot, cut.at, () => {
        const conn = w.net.current;
        w.net.downUntil = ts.now() + cut.down;
        const carrier = cut.side === 'client' ? conn.client : conn.server;
        if (cut.offset === null) conn.cut('rst');
        else carrier.cutAfter = Math.min(carrier.cutAfter, carrier.written + cut.offset);
      });
    }
    at(hot, 5000, () => {
      peaks = [w.session.stats().replayPeak, ...w.net.servers.map((s) => s.stats().replayPeak)];
      resumptions = w.session.stats().resumptions;
      w.session.destroy();
      for (const s of w.net.servers) s.destroy();
    });
  });
  // What each side received, by direction.
  const got = new Map<string, Uint8Array>();
  const completes = new Map<string, number>();
  const errors = new Map<string, MuxError[]>();
  const sides: [Record, string][] = [
    [w.server, 'client->'],
    [w.client, 'server->'],
    [clientRec, 'server->'],
  ];
  for (const [rec, dir] of sides) {
    for (const id of rec.channels.keys()) {
      got.set(`${dir}${id}`, rec.bytes(id));
      completes.set(`${dir}${id}`, rec.completes.get(id)!);
      errors.set(`${dir}${id}`, rec.errors.get(id)!);
    }
  }
  return { sent, got, completes, errors, resets, peaks, ends: w.ends, resumptions };
}

describe('resumption: random workloads and random drops (fast-check, seeded)', () => {
  it('every channel byte-exact (SHA-256), each FIN and RST exactly once, stores within their bound', () => {
    const seen = { resumptions: 0, checked: 0, resets: 0, bytes: 0 };
    fc.assert(
      fc.property(workloadArb, (wl) => {
        const o = runWorkload(wl);
        seen.resumptions += o.resumptions;
        seen.resets += o.resets.size;
        // The client session lived until the end (destroyed by the test, not failed).
        expect(o.ends).toEqual([undefined]);
        for (const peak of o.peaks) expect(peak).toBeLessThanOrEqual(LIMIT + BATCH + FRAME + 4096);
        for (const [key, bytes] of o.sent) {
          const [from, id] = key.split('->') as [string, string];
          const to = from === 'client' ? 'client->' : 'server->';
          const got = o.got.get(`${to}${id}`);
          expect(got).toBeDefined();
          const resetBy = o.resets.get(Number(id));
          const errs = (o.errors.get(`${to}${id}`) ?? []).map((e) => e.code);
          seen.checked++;
          seen.bytes += got!.byteLength;
          if (resetBy === undefined) {
            expect({ key, sha: sha(got!) }).toEqual({ key, sha: sha(bytes) });
            expect({ key, fin: o.completes.get(`${to}${id}`), errs }).toEqual({ key, fin: 1, errs: [] });
          } else if (resetBy === from) {
            // The receiver of the reset: exactly one ERR_MUX_RESET, after a prefix of the bytes.
            expect({ key, errs }).toEqual({ key, errs: ['ERR_MUX_RESET'] });
            expect(sha(got!)).toBe(sha(bytes.subarray(0, got!.byteLength)));
            expect(o.completes.get(`${to}${id}`)).toBe(0);
          } else {
            // The resetter's own reader: at most one error, and what arrived is a prefix.
            expect(errs.length).toBeLessThanOrEqual(1);
            expect(sha(got!)).toBe(sha(bytes.subarray(0, got!.byteLength)));
          }
        }
      }),
      { seed: 20261207, numRuns: 60, endOnFailure: true },
    );
    // The workloads did exercise what they claim to.
    expect(seen.resumptions).toBeGreaterThanOrEqual(60);
    expect(seen.resets).toBeGreaterThan(30);
    expect(seen.checked).toBeGreaterThan(150);
    expect(seen.bytes).toBeGreaterThan(5_000_000);
  });
});
