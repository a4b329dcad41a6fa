/**
 * Faults: carriers cut or stalled mid-transfer, slow consumers, sessions closed with work in flight, storms of
 * cancelled subscriptions. Every channel must end exactly once with the right code, and nothing may be left behind:
 * no scheduled action (the TestScheduler's queue is empty once `run()` returns, keep-alive included), no channel
 * registered, and, over real TCP, no heap growth after 10,000 channels.
 */
import { createHash } from 'node:crypto';
import { interval, map, take, takeWhile, type Subscription } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import {
  createSession,
  memoryPair,
  type Channel,
  type IncomingChannel,
  type MemoryCarrier,
  type Session,
  type SessionEnd,
  type SessionOptions,
} from '../../src/index.js';
import { mulberry32 } from '../../src/testing.js';
import { at, testScheduler } from '../support/marbles.js';
import { codeOf, heapAfterGc, KiB, MiB, seeded, settle, tcpSessions, WINDOW } from './helpers.js';

// ------------------------------------------------------------------------------------------------ bookkeeping

type Hot = Parameters<Parameters<TestScheduler['run']>[0]>[0]['hot'];

/** Records every way each channel ends, to assert "exactly once, with this code". */
class Ledger {
  /** `c1` / `s2` -> the codes its closed$ emitted ('clean' for no error). */
  readonly ends = new Map<string, string[]>();
  /** `c1` / `s2` -> terminal events of its reader (incoming$). */
  readonly reads = new Map<string, string[]>();
  /** Sessions: name -> closed$ codes. */
  readonly sessions = new Map<string, string[]>();
  /** Called after each chunk any tracked reader receives. */
  onBytes: () => void = () => undefined;
  /** Bytes each reader received: `c1` -> hash and count. */
  readonly received = new Map<string, { hash: ReturnType<typeof createHash>; bytes: number }>();

  channel(side: 'c' | 's', ch: Channel, read = true, onComplete?: () => void): void {
    const key = `${side}${ch.id}`;
    this.ends.set(key, []);
    ch.closed$.subscribe(({ error }) => this.ends.get(key)!.push(error ? codeOf(error) : 'clean'));
    if (!read) return;
    const got = { hash: createHash('sha256'), bytes: 0 };
    this.received.set(key, got);
    this.reads.set(key, []);
    ch.incoming$.subscribe({
      next: (b) => {
        got.hash.update(b);
        got.bytes += b.byteLength;
        this.onBytes();
      },
      complete: () => {
        this.reads.get(key)!.push('complete');
        onComplete?.();
      },
      error: (e) => this.reads.get(key)!.push(codeOf(e)),
    });
  }

  session(name: string, s: Session): void {
    this.sessions.set(name, []);
    s.closed$.subscribe(({ error }: SessionEnd) => this.sessions.get(name)!.push(error ? codeOf(error) : 'clean'));
  }

  /** Every tracked channel ended exactly once; returns the codes by channel. */
  endedOnce(): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, codes] of this.ends) {
      expect([key, codes.length]).toEqual([key, 1]);
      out[key] = codes[0]!;
    }
    return out;
  }

  bytesReceived(): number {
    let n = 0;
    for (const r of this.received.values()) n += r.bytes;
    return n;
  }
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function allEqual<T>(record: Record<string, T>, value: T): Record<string, T> {
  return Object.fromEntries(Object.keys(record).map((k) => [k, value]));
}

interface VirtualPair {
  a: MemoryCarrier;
  b: MemoryCarrier;
  client: Session;
  server: Session;
}

/** Two sessions over a memory pair in virtual time (keep-alive ON unless overridden: run() returning proves it stopped). */
function virtualPair(options: Partial<SessionOptions> = {}, seed = 1): VirtualPair {
  const [a, b] = memoryPair({ latency: 2, chunkSize: { min: 1, max: 8 * KiB }, capacity: 64 * KiB, seed });
  // 128 KiB carrier writes (not the 512 KiB default), so bytes are still queued in the channels, with their
  // writes pending, when the carrier drops mid-transfer.
  const client = createSession(a, { role: 'client', writeBatchSize: 128 * KiB, ...options });
  const server = createSession(b, { role: 'server', writeBatchSize: 128 * KiB, ...options });
  return { a, b, client, server };
}

/** Subscribes to a session's incoming opens; the session's own end is checked on closed$, so errors are ignored here. */
function accepting(s: Session, next: (req: IncomingChannel) => void): Subscription {
  return s.incoming$.subscribe({ next, error: () => undefined });
}

function expectNothingLeft(ts: TestScheduler, ...sessions: Session[]): void {
  expect(ts.actions).toHaveLength(0);
  for (const s of sessions) {
    expect(s.isClosed).toBe(true);
    expect(s.stats()).toMatchObject({ openChannels: 0 });
    expect(s.channels()).toEqual([]);
  }
}

// ------------------------------------------------------------------------------------------------ carrier dropped

describe('carrier dropped mid-transfer (memory pair, virtual time)', () => {
  const CHANNELS = 8;
  const SIZE = MiB;

  it.each<['client' | 'server', 'destroy' | 'fail']>([
    ['client', 'destroy'],
    ['server', 'destroy'],
    ['client', 'fail'],
    ['server', 'fail'],
  ])(
    `the %s carrier's %s(): both sessions and all ${2 * CHANNELS} channel ends end once with ERR_MUX_CARRIER; pending writes reject; nothing left scheduled`,
    async (side, how) => {
      const ts = testScheduler();
      const ledger = new Ledger();
      const writes: Promise<void>[] = [];
      let atCut = -1;
      let pair!: VirtualPair;
      ts.run(({ hot }) => {
        pair = virtualPair();
        ledger.session('client', pair.client);
        ledger.session('server', pair.server);
        accepting(pair.server, (req) => {
          const ch = req.accept();
          ledger.channel('s', ch);
          writes.push(ch.write(seeded(SIZE, ch.id + 100)));
        });
        at(hot, 1, () => {
          for (let i = 0; i < CHANNELS; i++)
            pair.client.open().subscribe((ch) => {
              ledger.channel('c', ch);
              writes.push(ch.write(seeded(SIZE, ch.id)));
            });
        });
        at(hot, 21, () => {
          atCut = ledger.bytesReceived();
          const carrier = side === 'client' ? pair.a : pair.b;
          if (how === 'destroy') carrier.destroy(new Error('cable cut'));
          else carrier.fail(new Error('cable cut'));
        });
      });
      const outcomes = await Promise.allSettled(writes);
      // Mid-transfer: some bytes had arrived, not all.
      expect(atCut).toBeGreaterThan(0);
      expect(atCut).toBeLessThan(2 * CHANNELS * SIZE);
      expect(ledger.sessions).toEqual(
        new Map([
          ['client', ['ERR_MUX_CARRIER']],
          ['server', ['ERR_MUX_CARRIER']],
        ]),
      );
      const ends = ledger.endedOnce();
      expect(Object.keys(ends)).toHaveLength(2 * CHANNELS);
      expect(ends).toEqual(allEqual(ends, 'ERR_MUX_CARRIER'));
      for (const [key, events] of ledger.reads) expect([key, events]).toEqual([key, ['ERR_MUX_CARRIER']]);
      expect(outcomes).toHaveLength(2 * CHANNELS);
      for (const o of outcomes) {
        expect(o.status).toBe('rejected');
        expect(codeOf((o as PromiseRejectedResult).reason)).toBe('ERR_MUX_CARRIER');
      }
      expectNothingLeft(ts, pair.client, pair.server);
    },
  );
});

describe('carrier dropped mid-transfer (real TCP)', () => {
  const CHANNELS = 8;
  const SIZE = 4 * MiB;

  it.each<['client' | 'server']>([['client'], ['server']])(
    'socket.destroy() on the %s socket: both sessions end with ERR_MUX_CARRIER and every channel end errors exactly once with it',
    async (side) => {
      const pair = await tcpSessions({ keepAlive: false });
      try {
        const ledger = new Ledger();
        ledger.session('client', pair.client);
        ledger.session('server', pair.server);
        const writes: Promise<string>[] = [];
        const outcome = (p: Promise<void>): Promise<string> =>
          p.then(
            () => 'ok',
            (e) => codeOf(e),
          );
        let cut = false;
        let atCut = -1;
        // Cut the cable from inside a reader, once 4 MiB (of 64) have arrived.
        ledger.onBytes = (): void => {
          if (cut || ledger.bytesReceived() < SIZE) return;
          cut = true;
          atCut = ledger.bytesReceived();
          (side === 'client' ? pair.clientSocket : pair.serverSocket).destroy();
        };
        accepting(pair.server, (req) => {
          const ch = req.accept();
          ledger.channel('s', ch);
          writes.push(outcome(ch.write(seeded(SIZE, ch.id + 100))));
        });
        const opened = Array.from(
          { length: CHANNELS },
          () =>
            new Promise<void>((resolve) =>
              pair.client.open().subscribe({
                next: (ch) => {
                  ledger.channel('c', ch);
                  writes.push(outcome(ch.write(seeded(SIZE, ch.id))));
                  resolve();
                },
                error: () => resolve(),
              }),
            ),
        );
        await Promise.all(opened);
        const ended = Promise.all([pair.client, pair.server].map((s) => new Promise<void>((r) => s.closed$.subscribe(() => r()))));
        await ended;
        // Every write of 4 MiB was still waiting (over the high-water mark) when the socket went.
        expect(await Promise.all(writes)).toEqual(Array(2 * CHANNELS).fill('ERR_MUX_CARRIER'));
        expect(atCut).toBeGreaterThanOrEqual(SIZE);
        expect(atCut).toBeLessThan(2 * CHANNELS * SIZE);
        expect(ledger.sessions).toEqual(
          new Map([
            ['client', ['ERR_MUX_CARRIER']],
            ['server', ['ERR_MUX_CARRIER']],
          ]),
        );
        const ends = ledger.endedOnce();
        expect(Object.keys(ends)).toHaveLength(2 * CHANNELS);
        expect(ends).toEqual(allEqual(ends, 'ERR_MUX_CARRIER'));
        for (const [key, events] of ledger.reads) expect([key, events]).toEqual([key, ['ERR_MUX_CARRIER']]);
        for (const s of [pair.client, pair.server]) expect(s.stats()).toMatchObject({ openChannels: 0 });
      } finally {
        await pair.close();
      }
    },
  );
});

// ------------------------------------------------------------------------------------------------ carrier stalled

describe('carrier stalled (writes never drain) with keep-alive on', () => {
  const INTERVAL = 30_000;
  const TIMEOUT = 10_000;

  it('both directions stalled mid-transfer: both sessions end with ERR_MUX_TIMEOUT by keepAliveInterval + keepAliveTimeout, every channel with them', () => {
    const ts = testScheduler();
    const ledger = new Ledger();
    const endedAt: number[] = [];
    let pair!: VirtualPair;
    ts.run(({ hot }) => {
      pair = virtualPair({ keepAliveInterval: INTERVAL, keepAliveTimeout: TIMEOUT });
      ledger.session('client', pair.client);
      ledger.session('server', pair.server);
      for (const s of [pair.client, pair.server]) s.closed$.subscribe(() => endedAt.push(ts.now()));
      accepting(pair.server, (req) => {
        const ch = req.accept();
        ledger.channel('s', ch);
        void ch.write(seeded(MiB, ch.id)).catch(() => undefined);
      });
      at(hot, 1, () => {
        for (let i = 0; i < 4; i++)
          pair.client.open().subscribe((ch) => {
            ledger.channel('c', ch);
            void ch.write(seeded(MiB, ch.id)).catch(() => undefined);
          });
      });
      at(hot, 50, () => {
        pair.a.stall();
        pair.b.stall();
      });
    });
    // The first keep-alive ping after the stall goes at 30000; nothing arrives; at 40000 both give up.
    expect(endedAt).toEqual([INTERVAL + TIMEOUT, INTERVAL + TIMEOUT]);
    expect(Math.max(...endedAt)).toBeLessThanOrEqual(50 + INTERVAL + TIMEOUT);
    expect(ledger.sessions).toEqual(
      new Map([
        ['client', ['ERR_MUX_TIMEOUT']],
        ['server', ['ERR_MUX_TIMEOUT']],
      ]),
    );
    const ends = ledger.endedOnce();
    expect(Object.keys(ends)).toHaveLength(8);
    expect(ends).toEqual(allEqual(ends, 'ERR_MUX_TIMEOUT'));
    expectNothingLeft(ts, pair.client, pair.server);
  });

  it('one direction stalled (client -> server): the server times out by interval + timeout, the client then sees its carrier fail', () => {
    const ts = testScheduler();
    const ledger = new Ledger();
    const endedAt: Record<string, number> = {};
    let pair!: VirtualPair;
    ts.run(({ hot }) => {
      pair = virtualPair({ keepAliveInterval: INTERVAL, keepAliveTimeout: TIMEOUT });
      ledger.session('client', pair.client);
      ledger.session('server', pair.server);
      pair.client.closed$.subscribe(() => (endedAt.client = ts.now()));
      pair.server.closed$.subscribe(() => (endedAt.server = ts.now()));
      accepting(pair.server, (req) => ledger.channel('s', req.accept()));
      at(hot, 1, () => pair.client.open().subscribe((ch) => ledger.channel('c', ch)));
      at(hot, 50, () => pair.a.stall());
    });
    expect(endedAt).toEqual({ server: INTERVAL + TIMEOUT, client: INTERVAL + TIMEOUT + 2 });
    expect(ledger.sessions).toEqual(
      new Map([
        ['client', ['ERR_MUX_CARRIER']],
        ['server', ['ERR_MUX_TIMEOUT']],
      ]),
    );
    expect(ledger.endedOnce()).toEqual({ c1: 'ERR_MUX_CARRIER', s1: 'ERR_MUX_TIMEOUT' });
    expectNothingLeft(ts, pair.client, pair.server);
  });
});

// ------------------------------------------------------------------------------------------------ slow consumers

describe('slow consumers', () => {
  it('3 readers paused for 2 s while 3 others run: the others finish meanwhile, the paused ones hold at most one window each, then all arrive intact', () => {
    const ts = testScheduler();
    const SIZE = 2 * MiB;
    const sent = new Map<number, string>();
    const got = new Map<number, { chunks: Uint8Array[]; done: number }>();
    const serverChannels: Channel[] = [];
    let maxHeld = 0;
    let maxSessionHeld = 0;
    let pair!: VirtualPair;
    ts.run(({ hot }) => {
      pair = virtualPair({ keepAlive: false });
      accepting(pair.server, (req) => {
        const ch = req.accept();
        serverChannels.push(ch);
        const slow = serverChannels.length > 3;
        const g = { chunks: [] as Uint8Array[], done: -1 };
        got.set(ch.id, g);
        if (slow) ch.pause();
        ch.incoming$.subscribe({ next: (b) => g.chunks.push(b.slice()), complete: () => (g.done = ts.now()) });
      });
      at(hot, 1, () => {
        for (let i = 0; i < 6; i++)
          pair.client.open().subscribe((ch) => {
            const bytes = seeded(SIZE, ch.id);
            sent.set(ch.id, sha256(bytes));
            void ch.write(bytes);
            ch.end();
          });
      });
      interval(5)
        .pipe(takeWhile(() => ts.now() < 2000))
        .subscribe(() => {
          for (const ch of serverChannels.slice(3)) maxHeld = Math.max(maxHeld, ch.stats().bufferedIn);
          maxSessionHeld = Math.max(maxSessionHeld, pair.server.stats().bufferedIn);
        });
      at(hot, 2000, () => {
        for (const ch of serverChannels.slice(3)) ch.resume();
      });
      at(hot, 4000, () => {
        void pair.client.close();
      });
    });
    const ids = [...got.keys()];
    const fast = ids.slice(0, 3);
    const slow = ids.slice(3);
    for (const id of fast) expect(got.get(id)!.done).toBeLessThan(2000);
    for (const id of slow) expect(got.get(id)!.done).toBeGreaterThanOrEqual(2000);
    for (const id of ids) {
      const chunks = got.get(id)!.chunks;
      const h = createHash('sha256');
      for (const c of chunks) h.update(c);
      expect([id, h.digest('hex')]).toEqual([id, sent.get(id)]);
    }
    expect(maxHeld).toBe(WINDOW); // each paused reader filled its window and no more
    expect(maxSessionHeld).toBeLessThanOrEqual(3 * WINDOW);
    expectNothingLeft(ts, pair.client, pair.server);
  });
});

// ------------------------------------------------------------------------------------------------ closed with work in flight

describe('a session closed while opens, writes and reads are in flight', () => {
  /** Client opens 6: the server accepts 4 at once and leaves 2 unanswered; the client writes 1 MiB on each and waits in read(). */
  function inFlight(ledger: Ledger, outcomes: string[]) {
    let pair!: VirtualPair;
    const pending: Promise<unknown>[] = [];
    const setup = (hot: Hot, readAll: boolean): void => {
      pair = virtualPair();
      ledger.session('client', pair.client);
      ledger.session('server', pair.server);
      let n = 0;
      pair.server.incoming$.subscribe({
        next: (req) => {
          if (++n > 4) return; // left unanswered
          const ch = req.accept();
          ledger.channel('s', ch, true, readAll ? () => ch.end() : undefined);
          if (!readAll && n > 2) ch.pause();
        },
        complete: () => outcomes.push('server incoming$ complete'),
        error: (e) => outcomes.push(`server incoming$ ${codeOf(e)}`),
      });
      at(hot, 1, () => {
        for (let i = 0; i < 6; i++)
          pair.client.open().subscribe({
            next: (ch) => {
              ledger.channel('c', ch, false);
              pending.push(
                ch.write(seeded(MiB, ch.id)).then(
                  () => `write ${ch.id} ok`,
                  (e) => `write ${ch.id} ${codeOf(e)}`,
                ),
              );
              pending.push(
                ch.read().then(
                  (v) => `read ${ch.id} ${v === null ? 'end' : v.byteLength}`,
                  (e) => `read ${ch.id} ${codeOf(e)}`,
                ),
              );
            },
            error: (e) => outcomes.push(`open ${codeOf(e)}`),
          });
      });
    };
    return { setup, pending, pair: () => pair };
  }

  it('destroy(): every channel ends once with ERR_MUX_SESSION_CLOSED on both ends, unanswered opens fail with it, writes and reads reject', async () => {
    const ts = testScheduler();
    const ledger = new Ledger();
    const outcomes: string[] = [];
    const lateOpen: string[] = [];
    const world = inFlight(ledger, outcomes);
    ts.run(({ hot }) => {
      world.setup(hot, false);
      at(hot, 30, () => world.pair().client.destroy());
      at(hot, 32, () =>
        world
          .pair()
          .client.open()
          .subscribe({ error: (e) => lateOpen.push(codeOf(e)) }),
      );
    });
    const results = await Promise.all(world.pending);
    expect(outcomes).toEqual(['open ERR_MUX_SESSION_CLOSED', 'open ERR_MUX_SESSION_CLOSED', 'server incoming$ complete']);
    expect(lateOpen).toEqual(['ERR_MUX_SESSION_CLOSED']);
    expect(results.sort()).toEqual(
      [1, 3, 5, 7].flatMap((id) => [`read ${id} ERR_MUX_SESSION_CLOSED`, `write ${id} ERR_MUX_SESSION_CLOSED`]).sort(),
    );
    expect(ledger.sessions).toEqual(
      new Map([
        ['client', ['clean']],
        ['server', ['clean']],
      ]),
    );
    const ends = ledger.endedOnce();
    expect(Object.keys(ends).sort()).toEqual(['c1', 'c3', 'c5', 'c7', 's1', 's3', 's5', 's7']);
    expect(ends).toEqual(allEqual(ends, 'ERR_MUX_SESSION_CLOSED'));
    expectNothingLeft(ts, world.pair().client, world.pair().server);
  });

  it('close(): every queued byte reaches the peer before FIN, unanswered opens fail with ERR_MUX_SESSION_CLOSED, each channel ends once', async () => {
    const ts = testScheduler();
    const ledger = new Ledger();
    const outcomes: string[] = [];
    const world = inFlight(ledger, outcomes);
    let closed = false;
    ts.run(({ hot }) => {
      world.setup(hot, true);
      at(
        hot,
        30,
        () =>
          void world
            .pair()
            .client.close()
            .then(() => (closed = true)),
      );
    });
    const results = await Promise.all(world.pending);
    expect(closed).toBe(true);
    expect(outcomes).toEqual(['open ERR_MUX_SESSION_CLOSED', 'open ERR_MUX_SESSION_CLOSED', 'server incoming$ complete']);
    for (const id of [1, 3, 5, 7]) expect(ledger.received.get(`s${id}`)!.hash.digest('hex')).toBe(sha256(seeded(MiB, id)));
    expect(ledger.sessions).toEqual(
      new Map([
        ['client', ['clean']],
        ['server', ['clean']],
      ]),
    );
    const ends = ledger.endedOnce();
    expect(Object.keys(ends).sort()).toEqual(['c1', 'c3', 'c5', 'c7', 's1', 's3', 's5', 's7']);
    // Server ends: both FINs crossed (clean). A client end is clean when the server's FIN came back before the
    // session finished, else ERR_MUX_SESSION_CLOSED; its pending read() agrees (null after the FIN, else the error).
    // Writes resolve once their bytes drain under the mark: all of them do before close() finishes.
    const expected = [1, 3, 5, 7].flatMap((id) => {
      expect(['clean', 'ERR_MUX_SESSION_CLOSED']).toContain(ends[`c${id}`]);
      expect(ends[`s${id}`]).toBe('clean');
      return [`write ${id} ok`, `read ${id} ${ends[`c${id}`] === 'clean' ? 'end' : 'ERR_MUX_SESSION_CLOSED'}`];
    });
    expect(results.sort()).toEqual(expected.sort());
    expectNothingLeft(ts, world.pair().client, world.pair().server);
  });
});

// ------------------------------------------------------------------------------------------------ unsubscribe storms

describe('unsubscribe storms', () => {
  it.each([1, 2, 3])(
    'seed %i: hundreds of opens, sends and incoming$ subscriptions cancelled at random points; every channel ends exactly once, nothing is left',
    (seed) => {
      const ts = testScheduler();
      const rng = mulberry32(seed);
      const pick = (n: number): number => Math.floor(rng() * n);
      const ledger = new Ledger();
      const openOutcomes = new Map<number, string[]>();
      /** Every reader subscription made on the server: each must end (complete or error) unless we cancelled it. */
      const readers: { ended: boolean; cancelled: boolean }[] = [];
      const allowed = new Set(['clean', 'ERR_MUX_RESET', 'ERR_MUX_SESSION_CLOSED', 'ERR_MUX_REJECTED', 'ERR_MUX_TIMEOUT']);
      let pair!: VirtualPair;
      let escaped: unknown[] = [];
      ts.run(() => {
        pair = virtualPair({ closeTimeout: 2000, openTimeout: 1000 }, seed);
        ledger.session('client', pair.client);
        ledger.session('server', pair.server);
        // The server's acceptor itself is cancelled and resubscribed every few ms.
        let acceptor: Subscription | undefined;
        const subscribeAcceptor = (): void => {
          acceptor = pair.server.incoming$.subscribe({
            next: (req) => {
              const r = rng();
              if (r < 0.1) return req.reject('no', 1);
              const answer = (): void => {
                const ch = req.accept();
                ledger.channel('s', ch, false);
                let reader: Subscription | undefined;
                let current: { ended: boolean; cancelled: boolean } | undefined;
                const read = (): void => {
                  const r = { ended: false, cancelled: false };
                  readers.push(r);
                  current = r;
                  reader = ch.incoming$.subscribe({
                    complete: () => {
                      r.ended = true;
                      ch.end();
                    },
                    error: () => (r.ended = true),
                  });
                };
                read();
                // Cancel the reader at a random point, resubscribe later (bytes wait meanwhile; the channel may have
                // ended by then: the new reader must still be told).
                ts.schedule(() => {
                  if (current && !current.ended) current.cancelled = true;
                  reader?.unsubscribe();
                  ts.schedule(read, pick(20));
                }, pick(30));
              };
              if (r < 0.3) ts.schedule(answer, pick(20));
              else answer();
            },
            error: () => undefined,
          });
        };
        subscribeAcceptor();
        const churn = (): void => {
          if (pair.server.isClosed) return;
          acceptor?.unsubscribe();
          ts.schedule(subscribeAcceptor, pick(3));
          ts.schedule(churn, 5 + pick(20));
        };
        ts.schedule(churn, 5);

        for (let op = 0; op < 300; op++) {
          ts.schedule(() => {
            const kind = pick(3);
            const outcome: string[] = [];
            openOutcomes.set(op, outcome);
            const sub = pair.client.open({ meta: `op${op}` }).subscribe({
              next: (ch) => {
                outcome.push('open');
                ledger.channel('c', ch, false);
                if (kind === 0) {
                  void ch.write(seeded(pick(4 * KiB), op)).catch(() => undefined);
                  ch.end();
                  ch.incoming$.subscribe({ error: () => undefined });
                } else if (kind === 1) {
                  // A push source cancelled at a random point: the channel is reset if it had not finished.
                  const sending = ch
                    .send(
                      interval(1).pipe(
                        take(1 + pick(20)),
                        map((i) => seeded(1 + pick(2048), op * 100 + i)),
                      ),
                    )
                    .subscribe({ error: () => undefined });
                  ts.schedule(() => sending.unsubscribe(), pick(25));
                  ch.incoming$.subscribe({ error: () => undefined });
                } else {
                  const reading = ch.incoming$.subscribe({ error: () => undefined });
                  ts.schedule(() => reading.unsubscribe(), pick(10));
                  void ch.write(seeded(pick(1024), op)).catch(() => undefined);
                  ts.schedule(() => ch.reset(pick(3), 'bye'), pick(40));
                }
              },
              error: (e) => outcome.push(codeOf(e)),
              complete: () => undefined,
            });
            // Cancel some opens before (or after) their answer.
            if (rng() < 0.3) ts.schedule(() => sub.unsubscribe(), pick(6));
          }, pick(500));
        }
        ts.schedule(() => void pair.client.close(), 700);
        ts.schedule(() => {
          pair.client.destroy();
          pair.server.destroy();
        }, 5000);
        try {
          ts.flush();
        } catch (e) {
          escaped = [e];
        }
      });
      expect(escaped).toEqual([]);
      const ends = ledger.endedOnce();
      expect(Object.keys(ends).length).toBeGreaterThan(100);
      for (const [key, code] of Object.entries(ends)) expect([key, allowed.has(code)]).toEqual([key, true]);
      // Each open reported one outcome at most (cancelled ones none).
      for (const [op, outcome] of openOutcomes) expect([op, outcome.length <= 1]).toEqual([op, true]);
      for (const codes of ledger.sessions.values()) expect(codes).toHaveLength(1);
      expect(readers.length).toBeGreaterThan(100);
      expect(readers.filter((r) => !r.ended && !r.cancelled)).toEqual([]);
      expectNothingLeft(ts, pair.client, pair.server);
    },
  );
});

// ------------------------------------------------------------------------------------------------ heap over real TCP

describe('heap over real TCP', () => {
  it('after 10,000 channels opened, used and closed, the heap after GC is back near its baseline and no channel is registered', async () => {
    const pair = await tcpSessions({ keepAlive: false });
    try {
      accepting(pair.server, (req) => {
        const ch = req.accept();
        // Echo, then close our side once the opener closed its.
        ch.incoming$.subscribe({ next: (b) => void ch.write(b).catch(() => undefined), complete: () => ch.end(), error: () => undefined });
      });
      const one = (i: number): Promise<void> =>
        new Promise<void>((resolve, reject) => {
          pair.client.open({ meta: `ch${i}` }).subscribe({
            next: (ch) => {
              let got = 0;
              ch.incoming$.subscribe({ next: (b) => (got += b.byteLength), error: reject });
              ch.closed$.subscribe(({ error }) =>
                error ? reject(error) : got === 1000 ? resolve() : reject(new Error(`echoed ${got} bytes`)),
              );
              void ch.write(seeded(1000, i));
              ch.end();
            },
            error: reject,
          });
        });
      const run = async (from: number, count: number): Promise<void> => {
        const CONCURRENCY = 100;
        let next = from;
        await Promise.all(
          Array.from({ length: CONCURRENCY }, async () => {
            while (next < from + count) await one(next++);
          }),
        );
      };
      await run(0, 500); // warm-up: code paths compiled, pools allocated
      await settle();
      const baseline = heapAfterGc();
      await run(500, 10_000);
      await settle();
      const after = heapAfterGc();
      expect(pair.client.stats()).toMatchObject({ openChannels: 0, openedLocal: 10_500, bufferedIn: 0 });
      expect(pair.server.stats()).toMatchObject({ openChannels: 0, openedRemote: 10_500, bufferedIn: 0 });
      expect(after - baseline).toBeLessThan(4 * MiB);
    } finally {
      await pair.close();
    }
  });
});
