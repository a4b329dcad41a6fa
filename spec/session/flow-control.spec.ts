import { createHash } from 'node:crypto';
import { asyncScheduler, defer, of, skip, type Observable } from 'rxjs';
import {
  createSession,
  encodeFrame,
  memoryPair,
  type Channel,
  type ChannelEnd,
  type Frame,
  type SessionEnd,
  type SessionOptions,
} from '../../src/index.js';
import { mulberry32 } from '../../src/testing.js';
import { f, virtualPeer, type VirtualPeer } from '../../src/testing.js';
import { expectFrames, sig, type Step } from '../support/frames.js';
import { at, testScheduler, type Hot } from '../support/marbles.js';
import { concatBytes as concat } from '../support/bytes.js';

// ------------------------------------------------------------------------------------------------ helpers

const KiB = 1024;
const WINDOW = 256 * KiB;
const FRAME = 16 * KiB;

/** Seeded pseudo-random bytes (mulberry32). */
function seeded(n: number, seed: number): Uint8Array {
  const rng = mulberry32(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rng() * 256);
  return out;
}

function sha256(...parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** Data frames for `bytes`, cut every `size` bytes. */
function dataFrames(id: number, bytes: Uint8Array, size = FRAME): Frame[] {
  const out: Frame[] = [];
  for (let at = 0; at < bytes.byteLength; at += size) out.push(f.data(id, bytes.subarray(at, at + size)));
  return out;
}

/** Lets queued promise callbacks run (microtasks only: no timer, no real time passes). */
async function settle(): Promise<void> {
  for (let i = 0; i < 2000; i++) await Promise.resolve();
}

/** A server session whose peer opens channel 1 (and `more` ids) at frame 1; the application accepts each. */
function serverWithPeerChannels(
  hot: Hot,
  options: Partial<SessionOptions> = {},
  ids: number[] = [1],
): { peer: VirtualPeer; session: ReturnType<typeof createSession>; channels: Map<number, Channel> } {
  const peer = virtualPeer();
  // Window auto-tuning off unless a test turns it on: these tests count credit to the byte, and tuning would add
  // an RTT probe (a Ping) and growth to the WindowUpdates. Frames of 16 KiB (the quantum) unless a test says otherwise.
  const session = createSession(peer.carrier, {
    role: 'server',
    keepAlive: false,
    maxReceiveWindow: 256 * 1024,
    maxFrameSize: 16 * 1024,
    ...options,
  });
  const channels = new Map<number, Channel>();
  session.incoming$.subscribe({ next: (req) => channels.set(req.id, req.accept()), error: () => undefined });
  at(hot, 1, () => peer.send(...ids.map((id) => f.open(id))));
  return { peer, session, channels };
}

/** Frames written after the first `n`. */
function framesAfter(peer: VirtualPeer, n: number): Observable<Frame> {
  return peer.written$.pipe(skip(n));
}

function payloadOf(frames: readonly Frame[], id: number): Uint8Array {
  return concat(frames.filter((fr): fr is Frame & { type: 'data' } => fr.type === 'data' && fr.streamId === id).map((fr) => fr.data));
}

// ------------------------------------------------------------------------------------------------ window and back-pressure

describe('flow control: the peer window holds the sender', () => {
  it('stops after exactly the 256 KiB window in 16 KiB frames; write() stays pending until a WindowUpdate lets exactly the granted bytes out', async () => {
    const payload = seeded(2 * WINDOW + 1, 11);
    let ch!: Channel;
    let written: Promise<void> | undefined;
    let resolved = false;
    const peer = virtualPeer();

    testScheduler().run(({ hot, expectObservable }) => {
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false, maxFrameSize: FRAME });
      session.incoming$.subscribe((req) => (ch = req.accept()));
      peer.feed(hot('-o 28ms p', { o: f.open(1), p: f.ping(9) }));
      at(hot, 2, () => {
        written = ch.write(payload);
        void written.then(() => (resolved = true));
      });
      expectFrames(expectObservable, peer.written$, [
        [1, [f.accept(1)]],
        [2, dataFrames(1, payload.subarray(0, WINDOW))],
        [30, [f.pong(9)]],
      ]);
      at(hot, 40, () => {
        expect(ch.stats()).toMatchObject({ credit: 0, bytesOut: WINDOW, queuedOut: WINDOW + 1 });
      });
    });
    await settle();
    expect(written).toBeDefined();
    expect(resolved).toBe(false);

    // Later: the peer grants 16 KiB. Exactly 16 KiB more goes out and the queue drops under the high-water mark.
    const before = peer.written.length;
    testScheduler().run(({ hot, expectObservable }) => {
      at(hot, 3, () => peer.send(f.credit(1, FRAME)));
      at(hot, 2, () => expect(resolved).toBe(false));
      expectFrames(expectObservable, framesAfter(peer, before), [[3, [f.data(1, payload.subarray(WINDOW, WINDOW + FRAME))]]]);
    });
    await settle();
    expect(resolved).toBe(true);
    expect(ch.stats()).toMatchObject({ credit: 0, bytesOut: WINDOW + FRAME, queuedOut: WINDOW + 1 - FRAME });
  });

  const CHUNK = 100_000;
  const stream = seeded(20 * CHUNK, 12);
  const sources: [string, (count: () => void) => Iterable<Uint8Array> | AsyncIterable<Uint8Array>][] = [
    [
      'Iterable',
      (count) =>
        (function* () {
          for (let i = 0; i < 20; i++) {
            count();
            yield stream.subarray(i * CHUNK, (i + 1) * CHUNK);
          }
        })(),
    ],
    [
      'AsyncIterable',
      (count) =>
        (async function* () {
          for (let i = 0; i < 20; i++) {
            count();
            yield stream.subarray(i * CHUNK, (i + 1) * CHUNK);
          }
        })(),
    ],
  ];

  it.each(sources)(
    'send() of an %s is not pulled past window + high-water mark, and is pulled again only after a WindowUpdate',
    async (_kind, make) => {
      let pulls = 0;
      let ch!: Channel;
      let sendDone = false;
      let sendError: unknown;
      const peer = virtualPeer();

      testScheduler().run(({ hot }) => {
        const session = createSession(peer.carrier, { role: 'server', keepAlive: false, maxFrameSize: FRAME });
        session.incoming$.subscribe((req) => (ch = req.accept()));
        peer.feed(hot('-o', { o: f.open(1) }));
        at(hot, 2, () =>
          ch.send(make(() => pulls++)).subscribe({ complete: () => (sendDone = true), error: (e: unknown) => (sendError = e) }),
        );
      });
      await settle();
      // 3 chunks fill the 262144-byte window (100000 + 100000 + 62144 sent), the rest of chunk 3 plus chunks 4 and 5
      // are queued (237856 bytes, under the 262144-byte high-water mark), chunk 6 takes the queue past it: pulling stops.
      expect(pulls).toBe(6);
      const sent = peer.written.slice(1);
      expect(sent.every((fr) => fr.type === 'data' && fr.streamId === 1 && fr.flags === 0 && fr.data.byteLength <= FRAME)).toBe(true);
      expect(sha256(payloadOf(sent, 1))).toBe(sha256(stream.subarray(0, WINDOW)));
      expect(ch.stats()).toMatchObject({ credit: 0, queuedOut: 6 * CHUNK - WINDOW });

      // Virtual time passes without credit: nothing is written, nothing more is pulled.
      const before = peer.written.length;
      testScheduler().run(({ hot, expectObservable }) => {
        peer.feed(hot('-----p', { p: f.ping(3) }));
        expectFrames(expectObservable, framesAfter(peer, before), [[5, [f.pong(3)]]]);
      });
      await settle();
      expect(pulls).toBe(6);

      // The peer grants 100000 bytes: exactly those go out, the queue drops to 237856, and one more chunk is pulled.
      const mark = peer.written.length;
      testScheduler().run(({ hot }) => {
        peer.feed(hot('--c', { c: f.credit(1, CHUNK) }));
      });
      await settle();
      const more = peer.written.slice(mark);
      expect(more.every((fr) => fr.type === 'data' && fr.streamId === 1 && fr.data.byteLength <= FRAME)).toBe(true);
      expect(sha256(payloadOf(more, 1))).toBe(sha256(stream.subarray(WINDOW, WINDOW + CHUNK)));
      expect(pulls).toBe(7);
      expect(sendDone).toBe(false);
      expect(sendError).toBeUndefined();
    },
  );

  it('credit$ emits the remote window as it changes: the current value, each frame sent, each WindowUpdate', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const { peer, channels } = serverWithPeerChannels(hot);
      at(hot, 3, () => void channels.get(1)!.write(seeded(100_000, 13)));
      peer.feed(hot('20ms c', { c: f.credit(1, 50_000) }));
      at(hot, 22, () => {
        channels.get(1)!.end();
        peer.send(f.fin(1));
      });
      // 100000 bytes go out as six 16 KiB frames and one of 1696 bytes.
      expectObservable(
        defer(() => channels.get(1)!.credit$),
        '--^',
      ).toBe('--a(bcdefgh) 8ms i 1ms |', {
        a: WINDOW,
        b: WINDOW - FRAME,
        c: WINDOW - 2 * FRAME,
        d: WINDOW - 3 * FRAME,
        e: WINDOW - 4 * FRAME,
        f: WINDOW - 5 * FRAME,
        g: WINDOW - 6 * FRAME,
        h: WINDOW - 100_000,
        i: WINDOW - 100_000 + 50_000,
      } as Record<string, number>);
    });
  });
});

describe('flow control: the receive window', () => {
  it.each([['no subscriber to incoming$'], ['a paused subscriber']])(
    'a reader that does not consume (%s) gets no WindowUpdate, buffers at most the window, and one byte past it is a protocol error',
    (kind) => {
      const fill = seeded(WINDOW, 21);
      const delivered: Uint8Array[] = [];
      const ends: (SessionEnd | ChannelEnd)[] = [];
      testScheduler().run(({ hot, expectObservable }) => {
        const peer = virtualPeer();
        const session = createSession(peer.carrier, { role: 'server', keepAlive: false });
        let ch!: Channel;
        session.incoming$.subscribe({
          next: (req) => {
            ch = req.accept();
            ch.closed$.subscribe((e) => ends.push(e));
            if (kind !== 'no subscriber to incoming$') {
              ch.pause();
              ch.incoming$.subscribe({ next: (d) => delivered.push(d), error: () => undefined });
            }
          },
          error: () => undefined,
        });
        session.closed$.subscribe((e) => ends.push(e));
        at(hot, 1, () => peer.send(f.open(1)));
        at(hot, 2, () => peer.send(...dataFrames(1, fill)));
        at(hot, 6, () => {
          expect(session.stats().bufferedIn).toBe(WINDOW);
          expect(ch.stats()).toMatchObject({ bufferedIn: WINDOW, receiveWindow: WINDOW, bytesIn: WINDOW });
          expect(ends).toEqual([]);
        });
        at(hot, 8, () => peer.send(f.data(1, 'x')));
        expectFrames(expectObservable, peer.written$, [
          [1, [f.accept(1)]],
          [8, [f.goAway(1), '|']],
        ]);
      });
      expect(delivered).toEqual([]);
      expect(ends).toHaveLength(2);
      for (const end of ends) expect(end.error).toMatchObject({ code: 'ERR_MUX_PROTOCOL', wireCode: 1 });
      expect(ends[0]!.error!.message).toMatch(/exceed the receive window/);
    },
  );

  it('reading less than half the window sends no WindowUpdate; reading past half sends exactly one, for exactly the bytes read', async () => {
    const d1 = seeded(100_000, 31);
    const d2 = seeded(31_073, 32); // d1 + d2 = 131073 = half the window + 1
    const d3 = seeded(131_071, 33);
    const reads: Promise<Uint8Array | null>[] = [];
    testScheduler().run(({ hot, expectObservable }) => {
      const { peer, channels } = serverWithPeerChannels(hot);
      const read = (): void => void reads.push(channels.get(1)!.read());
      at(hot, 2, () => peer.send(f.data(1, d1), f.data(1, d2)));
      at(hot, 4, read);
      at(hot, 6, read);
      at(hot, 8, () => peer.send(f.data(1, d3)));
      at(hot, 10, read);
      at(hot, 12, () => expect(channels.get(1)!.stats()).toMatchObject({ bufferedIn: 0, bytesIn: 262_144 }));
      expectFrames(expectObservable, peer.written$, [
        [1, [f.accept(1)]],
        [6, [f.credit(1, 131_073)]],
      ]);
    });
    await expect(Promise.all(reads)).resolves.toEqual([d1, d2, d3]);
  });

  it('a paused reader resumed consumes what it takes: one WindowUpdate for exactly those bytes, none for what stays buffered', () => {
    const chunks = [seeded(60_000, 41), seeded(60_000, 42), seeded(11_073, 43), seeded(50_000, 44)];
    const got: number[] = [];
    testScheduler().run(({ hot, expectObservable }) => {
      const { peer, channels } = serverWithPeerChannels(hot);
      at(hot, 1, () => {
        const ch = channels.get(1)!;
        ch.pause();
        ch.incoming$.subscribe((d) => {
          got.push(d.byteLength);
          // Stop after half the window plus one byte.
          if (got.reduce((a, b) => a + b, 0) >= 131_073) ch.pause();
        });
      });
      at(hot, 2, () => peer.send(...chunks.map((c) => f.data(1, c))));
      at(hot, 5, () => channels.get(1)!.resume());
      at(hot, 7, () => {
        expect(channels.get(1)!.stats().bufferedIn).toBe(50_000);
        expect(got).toEqual([60_000, 60_000, 11_073]);
      });
      expectFrames(expectObservable, peer.written$, [
        [1, [f.accept(1)]],
        [5, [f.credit(1, 131_073)]],
      ]);
    });
  });
});

describe('flow control: frames and chunking', () => {
  it('a write larger than maxFrameSize is split into frames of at most that size (16 KiB here)', () => {
    const data = seeded(40_000, 51);
    testScheduler().run(({ hot, expectObservable }) => {
      const { peer, channels } = serverWithPeerChannels(hot);
      at(hot, 2, () => void channels.get(1)!.write(data));
      expectFrames(expectObservable, peer.written$, [
        [1, [f.accept(1)]],
        [2, [f.data(1, data.subarray(0, 16_384)), f.data(1, data.subarray(16_384, 32_768)), f.data(1, data.subarray(32_768))]],
      ]);
    });
  });

  it('by default a channel alone on the carrier sends 64 KiB frames; channels sharing it send one 16 KiB quantum each per round', () => {
    const a = seeded(150_000, 53);
    const b = seeded(40_000, 54);
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false, maxReceiveWindow: 256 * 1024 });
      const channels = new Map<number, Channel>();
      session.incoming$.subscribe((req) => channels.set(req.id, req.accept()));
      at(hot, 1, () => peer.send(f.open(1), f.open(3)));
      at(hot, 10, () => void channels.get(1)!.write(a));
      at(hot, 20, () => {
        void channels.get(1)!.write(b);
        void channels.get(3)!.write(b);
      });
      const k = 16_384;
      expectFrames(expectObservable, peer.written$, [
        [1, [f.accept(1), f.accept(3)]],
        [10, [f.data(1, a.subarray(0, 65_536)), f.data(1, a.subarray(65_536, 131_072)), f.data(1, a.subarray(131_072))]],
        [
          20,
          [
            f.data(1, b.subarray(0, k)),
            f.data(3, b.subarray(0, k)),
            f.data(1, b.subarray(k, 2 * k)),
            f.data(3, b.subarray(k, 2 * k)),
            f.data(1, b.subarray(2 * k)),
            f.data(3, b.subarray(2 * k)),
          ],
        ],
      ]);
    });
  });

  it('a write larger than a custom maxFrameSize (1000) is split into frames of at most 1000 bytes', () => {
    const data = seeded(2_500, 52);
    testScheduler().run(({ hot, expectObservable }) => {
      const { peer, channels } = serverWithPeerChannels(hot, { maxFrameSize: 1000 });
      at(hot, 2, () => void channels.get(1)!.write(data));
      expectFrames(expectObservable, peer.written$, [
        [1, [f.accept(1)]],
        [2, [f.data(1, data.subarray(0, 1000)), f.data(1, data.subarray(1000, 2000)), f.data(1, data.subarray(2000))]],
      ]);
    });
  });

  it('a zero-length write sends no frame; a zero-length Data frame without flags from the peer is ignored and the channel keeps working', async () => {
    const results: Promise<void>[] = [];
    const delivered: string[] = [];
    let closed = false;
    testScheduler().run(({ hot, expectObservable }) => {
      const { peer, session, channels } = serverWithPeerChannels(hot);
      session.closed$.subscribe(() => (closed = true));
      at(hot, 1, () => channels.get(1)!.incoming$.subscribe((d) => delivered.push(new TextDecoder().decode(d))));
      at(hot, 2, () => results.push(channels.get(1)!.write(new Uint8Array(0)), channels.get(1)!.write('')));
      at(hot, 4, () => results.push(channels.get(1)!.write('x')));
      at(hot, 6, () => peer.send(f.data(1, '')));
      at(hot, 7, () => expect(delivered).toEqual([]));
      at(hot, 8, () => peer.send(f.data(1, 'abc')));
      expectFrames(expectObservable, peer.written$, [
        [1, [f.accept(1)]],
        [4, [f.data(1, 'x')]],
      ]);
      at(hot, 10, () => {
        expect(session.stats()).toMatchObject({ droppedFrames: 0, bytesOut: 2 * 12 + 1 });
        expect(channels.get(1)!.stats()).toMatchObject({ state: 'open', bytesIn: 3 });
      });
    });
    await expect(Promise.all(results)).resolves.toEqual([undefined, undefined, undefined]);
    expect(delivered).toEqual(['abc']);
    expect(closed).toBe(false);
  });

  describe('any carrier chunking delivers the same channel bytes and gets the same frames written', () => {
    const meta = 'chunky';
    const a = seeded(40_000, 61);
    const b = seeded(100_000, 62);
    const c = seeded(20_000, 63);
    const sequence: Frame[] = [
      f.open(1, meta),
      f.data(1, a),
      f.ping(7),
      f.data(1, ''),
      f.data(1, b),
      f.credit(1, 5_000),
      f.data(1, c),
      f.fin(1),
    ];
    const encoded = sequence.map((fr) => encodeFrame(fr));
    const bytes = concat(encoded);

    function cutAt(points: number[]): Uint8Array[] {
      const out: Uint8Array[] = [];
      let prev = 0;
      for (const p of [...points, bytes.byteLength]) {
        out.push(bytes.subarray(prev, p));
        prev = p;
      }
      return out;
    }
    const frameStarts: number[] = [];
    encoded.reduce((at, e) => (frameStarts.push(at), at + e.byteLength), 0);

    const randomSplit = (seed: number): Uint8Array[] => {
      const rng = mulberry32(seed);
      const out: Uint8Array[] = [];
      let at = 0;
      while (at < bytes.byteLength) {
        // Mostly small pieces, some empty, some large.
        const r = rng();
        const size = r < 0.1 ? 0 : r < 0.6 ? Math.floor(rng() * 20) : Math.floor(rng() * 30_000);
        out.push(bytes.subarray(at, at + size));
        at += size;
      }
      return out;
    };

    const splits: [string, () => Uint8Array[]][] = [
      ['one chunk', () => [bytes]],
      ['one chunk per frame', () => encoded],
      ['every header cut after 5 bytes', () => cutAt(frameStarts.flatMap((s) => (s === 0 ? [5] : [s, s + 5])))],
      ['one byte at a time', () => Array.from({ length: bytes.byteLength }, (_, i) => bytes.subarray(i, i + 1))],
      ['empty chunks around every frame', () => [new Uint8Array(0), ...encoded.flatMap((e) => [e, new Uint8Array(0)])]],
      ...[1, 2, 3, 4, 5].map((seed): [string, () => Uint8Array[]] => [`seeded random split ${seed}`, () => randomSplit(seed)]),
    ];

    function runWith(chunks: Uint8Array[]): {
      meta: string[];
      delivered: Uint8Array[];
      frames: string[];
      completed: boolean;
      bytesIn: number;
    } {
      const metas: string[] = [];
      const delivered: Uint8Array[] = [];
      let completed = false;
      let frames: string[] = [];
      let bytesIn = 0;
      testScheduler().run(({ hot }) => {
        const peer = virtualPeer();
        const session = createSession(peer.carrier, { role: 'server', keepAlive: false, maxReceiveWindow: 256 * 1024 });
        session.incoming$.subscribe((req) => {
          metas.push(new TextDecoder().decode(req.meta));
          const ch = req.accept();
          ch.incoming$.subscribe({
            next: (d) => delivered.push(d.slice()),
            complete: () => {
              completed = true;
              void ch.write('bye');
              ch.end();
            },
          });
        });
        at(hot, 1, () => {
          for (const chunk of chunks) peer.send(chunk);
        });
        at(hot, 3, () => {
          frames = peer.written.map(sig);
          bytesIn = session.stats().bytesIn;
        });
      });
      return { meta: metas, delivered, frames, completed, bytesIn };
    }

    // The reference run: asserted exactly.
    let reference: ReturnType<typeof runWith>;
    beforeAll(() => {
      reference = runWith([bytes]);
    });

    it('the reference (one chunk) delivers every byte and writes the expected frames', () => {
      expect(reference.delivered.map((d) => d.byteLength)).toEqual([a.byteLength, b.byteLength, c.byteLength]);
      expect(sha256(...reference.delivered)).toBe(sha256(a, b, c));
      expect(reference.completed).toBe(true);
      expect(reference.meta).toEqual([meta]);
      // meta (6) + a (40000) + b (100000) = 140006 consumed: past half the window, one WindowUpdate.
      expect(reference.frames).toEqual([f.accept(1), f.pong(7), f.credit(1, 140_006), f.data(1, 'bye'), f.fin(1)].map(sig));
      expect(reference.bytesIn).toBe(bytes.byteLength);
    });

    it.each(splits)('%s', (_name, split) => {
      const chunks = split();
      expect(chunks.reduce((n, ch) => n + ch.byteLength, 0)).toBe(bytes.byteLength);
      const got = runWith(chunks);
      expect(Buffer.concat(got.delivered)).toEqual(Buffer.concat(reference.delivered));
      // Large frames may arrive in pieces as the carrier cuts them (no copy to reassemble), but no delivered chunk
      // spans two frames: every frame end is a chunk end.
      const ends = (ds: Uint8Array[]): Set<number> => {
        const out = new Set<number>();
        let at = 0;
        for (const d of ds) out.add((at += d.byteLength));
        return out;
      };
      const gotEnds = ends(got.delivered);
      expect([...ends(reference.delivered)].filter((e) => !gotEnds.has(e))).toEqual([]);
      expect(got.frames).toEqual(reference.frames);
      expect(got.completed).toBe(true);
      expect(got.meta).toEqual([meta]);
      expect(got.bytesIn).toBe(bytes.byteLength);
    });
  });
});

describe('flow control: receive-window auto-tuning', () => {
  /** Server session; the peer opens channel 1 at frame 1, the app reads everything; session.ping() at frame 2, answered at frame 12 (RTT 10). */
  function tuned(
    options: Partial<SessionOptions>,
    bursts: [frame: number, bytes: number][],
    expected: Step[],
    check: (ch: Channel, rtt: number) => void,
  ): void {
    testScheduler().run(({ hot, expectObservable }) => {
      const { peer, session, channels } = serverWithPeerChannels(hot, { maxReceiveWindow: 16 * 1024 * 1024, ...options });
      at(hot, 1, () => channels.get(1)!.incoming$.subscribe());
      at(hot, 2, () => session.ping().subscribe());
      at(hot, 12, () => peer.send(f.pong(1)));
      let seed = 70;
      for (const [t, n] of bursts) at(hot, t, () => peer.send(...dataFrames(1, seeded(n, seed++))));
      at(hot, 1000, () => check(channels.get(1)!, session.stats().rtt));
      expectFrames(expectObservable, peer.written$, [[1, [f.accept(1)]], [2, [f.ping(1)]], ...expected]);
    });
  }

  it('a window used up within two round trips grows: the WindowUpdate grants more than was consumed; a slow one does not', () => {
    tuned(
      {},
      [
        [14, 131_072], // 13 ms after the channel opened (RTT 10): grow 256 KiB -> 512 KiB
        [20, 262_144], // half of 512 KiB, 6 ms after the last grant: grow 512 KiB -> 1 MiB
        [100, 524_288], // half of 1 MiB, 80 ms after the last grant (> 2 RTT): no growth
      ],
      [
        [14, [f.credit(1, 131_072 + 262_144)]],
        [20, [f.credit(1, 262_144 + 524_288)]],
        [100, [f.credit(1, 524_288)]],
      ],
      (ch, rtt) => {
        expect(rtt).toBe(10);
        expect(ch.stats().receiveWindow).toBe(1024 * KiB);
      },
    );
  });

  it('the window never grows past maxReceiveWindow', () => {
    tuned(
      { maxReceiveWindow: 400_000 },
      [
        [14, 131_072], // grow by 137856 only: 262144 -> 400000
        [20, 200_000], // at the maximum: no growth
      ],
      [
        [14, [f.credit(1, 131_072 + 137_856)]],
        [20, [f.credit(1, 200_000)]],
      ],
      (ch) => expect(ch.stats().receiveWindow).toBe(400_000),
    );
  });

  it('with maxReceiveWindow equal to receiveWindow the window never grows', () => {
    tuned(
      { maxReceiveWindow: WINDOW },
      [
        [14, 131_072],
        [16, 131_072],
      ],
      [
        [14, [f.credit(1, 131_072)]],
        [16, [f.credit(1, 131_072)]],
      ],
      (ch) => expect(ch.stats().receiveWindow).toBe(WINDOW),
    );
  });

  describe('a several-MiB transfer between two sessions over a memory pair with latency', () => {
    const DATA = seeded(4 * 1024 * KiB, 81);

    function transfer(clientOptions: Partial<SessionOptions>): {
      digest: string;
      bytes: number;
      chunks: number;
      doneAt: number;
      window: number;
      rtt: number;
    } {
      let result: ReturnType<typeof transfer> | undefined;
      const writeErrors: unknown[] = [];
      testScheduler().run(() => {
        const [a, b] = memoryPair({ latency: 5, chunkSize: { min: 1000, max: 70_000 }, seed: 3 });
        const client = createSession(a, { role: 'client', keepAlive: false, ...clientOptions });
        const server = createSession(b, { role: 'server', keepAlive: false });
        server.incoming$.subscribe((req) => {
          const ch = req.accept();
          ch.write(DATA).catch((e: unknown) => writeErrors.push(e));
          ch.end();
        });
        client.open().subscribe((ch) => {
          const hash = createHash('sha256');
          let bytes = 0;
          let chunks = 0;
          ch.incoming$.subscribe({
            next: (d) => {
              hash.update(d);
              bytes += d.byteLength;
              chunks++;
            },
            complete: () => {
              result = {
                digest: hash.digest('hex'),
                bytes,
                chunks,
                doneAt: asyncScheduler.now(),
                window: ch.stats().receiveWindow,
                rtt: client.stats().rtt,
              };
              ch.end();
              void client.close();
            },
          });
        });
      });
      expect(writeErrors).toEqual([]);
      if (!result) throw new Error('transfer did not complete');
      return result;
    }

    it('arrives byte-exact (SHA-256) in more than one chunk, with the window grown and the transfer faster than untuned', () => {
      const tunedRun = transfer({});
      const fixedRun = transfer({ maxReceiveWindow: WINDOW });
      for (const run of [tunedRun, fixedRun]) {
        expect(run.bytes).toBe(DATA.byteLength);
        expect(run.digest).toBe(sha256(DATA));
        expect(run.chunks).toBeGreaterThan(1);
        expect(run.rtt).toBe(10);
      }
      expect(tunedRun.window).toBeGreaterThan(WINDOW);
      expect(tunedRun.window).toBeLessThanOrEqual(16 * 1024 * KiB);
      expect(fixedRun.window).toBe(WINDOW);
      // Untuned: one 256 KiB window per round trip (10 ms) -> at least 16 round trips for 4 MiB.
      expect(fixedRun.doneAt).toBeGreaterThanOrEqual(16 * 10);
      expect(tunedRun.doneAt).toBeLessThan(fixedRun.doneAt / 2);
    });
  });
});

describe('flow control: session-wide receive budget', () => {
  it('once the bytes buffered across the session reach the budget, a consuming channel gets no WindowUpdate until another reader drains', () => {
    const BUDGET = 200_000;
    const unread = seeded(BUDGET, 91);
    const consumed1 = seeded(131_073, 92);
    const consumed2 = seeded(100_000, 93);
    testScheduler().run(({ hot, expectObservable }) => {
      const { peer, session, channels } = serverWithPeerChannels(hot, { receiveBudget: BUDGET }, [1, 3]);
      // Channel 1 is read at once; channel 3 is not read until frame 8.
      at(hot, 1, () => channels.get(1)!.incoming$.subscribe());
      at(hot, 2, () => peer.send(...dataFrames(3, unread)));
      at(hot, 3, () => peer.send(...dataFrames(1, consumed1)));
      at(hot, 5, () => peer.send(...dataFrames(1, consumed2)));
      at(hot, 6, () => {
        expect(session.stats().bufferedIn).toBe(BUDGET);
        expect(channels.get(1)!.stats()).toMatchObject({ bufferedIn: 0, bytesIn: 231_073 });
      });
      at(hot, 8, () => channels.get(3)!.incoming$.subscribe());
      // Every frame: buffered bytes stay within what the windows allow.
      at(
        hot,
        Array.from({ length: 12 }, (_, i) => i),
        () => {
          const chans = [...channels.values()];
          const windows = chans.reduce((n, ch) => n + ch.stats().receiveWindow, 0);
          expect(session.stats().bufferedIn).toBeLessThanOrEqual(windows);
          for (const ch of chans) expect(ch.stats().bufferedIn).toBeLessThanOrEqual(ch.stats().receiveWindow);
        },
      );
      expectFrames(expectObservable, peer.written$, [
        [1, [f.accept(1), f.accept(3)]],
        // Channel 3's reader drains its first chunk: buffered drops under the budget and channel 1's credit goes out,
        // then channel 3's own after it consumed half its window.
        [8, [f.credit(1, 231_073), f.credit(3, 131_072)]],
      ]);
      at(hot, 10, () => expect(session.stats().bufferedIn).toBe(0));
    });
  });
});

describe('flow control: push-only sources and closed writes', () => {
  it("an Observable source that outruns the high-water mark under the default 'error' strategy fails the send with ERR_MUX_OVERFLOW and resets the channel", () => {
    const c1 = seeded(WINDOW, 101);
    const c2 = seeded(200_000, 102);
    const c3 = seeded(100_000, 103);
    const seen: { send?: unknown; end?: ChannelEnd } = {};
    testScheduler().run(({ hot, expectObservable }) => {
      const { peer, channels } = serverWithPeerChannels(hot);
      at(hot, 2, () => {
        const ch = channels.get(1)!;
        ch.closed$.subscribe((e) => (seen.end = e));
        ch.send(of(c1, c2, c3)).subscribe({ error: (e: unknown) => (seen.send = e) });
      });
      peer.feed(hot('----c', { c: f.credit(1, 100_000) }));
      // c1 fills the window, c2 is queued, c3 overflows: the channel is reset (no window left for an rxmux reason
      // payload, so the RST is the bare WindowUpdate|RST form) and c2 never goes out, even after credit arrives.
      expectFrames(expectObservable, peer.written$, [
        [1, [f.accept(1)]],
        [2, [...dataFrames(1, c1), f.rst(1)]],
      ]);
    });
    expect(seen.send).toMatchObject({ code: 'ERR_MUX_OVERFLOW' });
    expect(seen.end?.error).toMatchObject({ code: 'ERR_MUX_RESET', reason: 'overflow' });
  });

  it('unsubscribing send() at 5 unsubscribes a hot source (window 2..5) and resets the channel: data at 3, RST at 5, nothing after', () => {
    const seen: { end?: ChannelEnd; sendEvents: string[] } = { sendEvents: [] };
    testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const { peer, channels } = serverWithPeerChannels(hot);
      const source = hot('  ---a--b--c|', { a: 'one', b: 'two', c: 'three' });
      const sendSub = '     --^--!';
      let sub: { unsubscribe(): void } | undefined;
      at(hot, 2, () => {
        const ch = channels.get(1)!;
        ch.closed$.subscribe((e) => (seen.end = e));
        sub = ch.send(source).subscribe({ error: () => seen.sendEvents.push('error'), complete: () => seen.sendEvents.push('complete') });
      });
      at(hot, 5, () => sub!.unsubscribe());
      expectSubscriptions(source.subscriptions).toBe(sendSub);
      expectFrames(expectObservable, peer.written$, [
        [1, [f.accept(1)]],
        [3, [f.data(1, 'one')]],
        [5, [f.reset(1, 0, 'send cancelled')]],
      ]);
    });
    expect(seen.sendEvents).toEqual([]);
    expect(seen.end?.error).toMatchObject({ code: 'ERR_MUX_RESET', reason: 'send cancelled', remote: false });
  });

  it('a cold source passed to send() is subscribed when send() is and unsubscribed with it: window 2..4, RST at 4', () => {
    testScheduler().run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const { peer, channels } = serverWithPeerChannels(hot);
      const source = cold('   -a----b|', { a: 'one', b: 'two' });
      const sendSub = '     --^-!';
      let sub: { unsubscribe(): void } | undefined;
      at(
        hot,
        2,
        () =>
          (sub = channels
            .get(1)!
            .send(source)
            .subscribe({ error: () => undefined })),
      );
      at(hot, 4, () => sub!.unsubscribe());
      expectSubscriptions(source.subscriptions).toBe(sendSub);
      expectFrames(expectObservable, peer.written$, [
        [1, [f.accept(1)]],
        [3, [f.data(1, 'one')]],
        [4, [f.reset(1, 0, 'send cancelled')]],
      ]);
    });
  });

  it.each([
    ['dropping', 'a', 'b', 'd'],
    ['sliding', 'b', 'c', 'd'],
  ] as const)("the '%s' overflow strategy keeps %s, %s, %s", (strategy, ...kept) => {
    const fill = seeded(WINDOW, 111);
    const chunk = (ch: string, n: number): string => ch.repeat(n);
    const sizes: Record<string, number> = { a: 400, b: 400, c: 400, d: 100 };
    let completed = false;
    testScheduler().run(({ hot, expectObservable }) => {
      const { peer, channels } = serverWithPeerChannels(hot, { highWaterMark: 1000, closeTimeout: 0 });
      at(hot, 2, () =>
        channels
          .get(1)!
          .send(of(fill, chunk('a', 400), chunk('b', 400), chunk('c', 400), chunk('d', 100)), { overflow: strategy })
          .subscribe({ complete: () => (completed = true) }),
      );
      peer.feed(hot('30ms c', { c: f.credit(1, 5_000) }));
      // The window is used up by `fill`; a, b (800 bytes) wait; c would take the queue past 1000 bytes.
      expectFrames(expectObservable, peer.written$, [
        [1, [f.accept(1)]],
        [2, dataFrames(1, fill)],
        [30, [f.data(1, kept.map((k) => chunk(k, sizes[k]!)).join('')), f.fin(1)]],
      ]);
    });
    expect(completed).toBe(true);
  });

  it('write() after end() fails with ERR_MUX_WRITE_CLOSED and sends nothing after the FIN', async () => {
    let late: Promise<void> | undefined;
    let sendError: unknown;
    testScheduler().run(({ hot, expectObservable }) => {
      const { peer, channels } = serverWithPeerChannels(hot);
      at(hot, 2, () => {
        const ch = channels.get(1)!;
        void ch.write('last');
        ch.end();
        late = ch.write('too late');
        late.catch(() => undefined); // asserted below
        ch.send(of('also too late')).subscribe({ error: (e: unknown) => (sendError = e) });
      });
      // The peer closes its side too: the channel is done, nothing more is written.
      at(hot, 3, () => peer.send(f.fin(1)));
      at(hot, 4, () => expect(channels.get(1)!.state).toBe('closed'));
      expectFrames(expectObservable, peer.written$, [
        [1, [f.accept(1)]],
        [2, [f.data(1, 'last'), f.fin(1)]],
      ]);
    });
    await expect(late).rejects.toMatchObject({ code: 'ERR_MUX_WRITE_CLOSED' });
    expect(sendError).toMatchObject({ code: 'ERR_MUX_WRITE_CLOSED' });
  });
});

describe('flow control: the first round-trip sample', () => {
  it('with tuning on and no RTT known, the first WindowUpdate goes with one Ping that measures it; later grants send none and can grow the window', () => {
    const data = seeded(262_144, 7);
    let rtt = -1;
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false });
      session.incoming$.subscribe((req) => req.accept().incoming$.subscribe());
      peer.feed(
        hot('-o-d--p-e', { o: f.open(1), d: f.data(1, data.subarray(0, 131_072)), p: f.pong(1), e: f.data(1, data.subarray(131_072)) }),
      );
      at(hot, 8, () => (rtt = session.stats().rtt));
      // Frame 9: the window was used up within two RTTs of the last grant, so the next grant also grows it.
      expectObservable(peer.written$).toBe('-a-(pw)-x', {
        a: f.accept(1),
        p: f.ping(1),
        w: f.credit(1, 131_072),
        x: f.credit(1, 131_072 + 262_144),
      });
    });
    expect(rtt).toBe(3);
  });
});
