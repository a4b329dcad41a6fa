/**
 * Seeded fuzzing (fast-check, fixed seeds): random bytes into the frame decoder and into live sessions, and valid
 * recorded sessions (opens, data, window updates, FIN, RST, pings) mutated (bit flips, truncation, reordering,
 * duplication, drops) and fed in random chunkings. After every chunk and at the end, the invariants hold:
 *
 * - no exception escapes (a wrap around every feed and run, plus an unhandledRejection listener);
 * - the session is open, or ended once with no error or a MuxError with a known ERR_MUX_* code (never INTERNAL);
 * - stats().bufferedIn equals the bytes buffered by the registered channels and is <= open channels x
 *   maxReceiveWindow, and each channel holds at most its receive window;
 * - once ended: the carrier is released, written$ has completed, no channel is registered, no byte is buffered,
 *   every channel the application saw ended exactly once, and no scheduled action is left (run() returned);
 * - every frame written is a valid yamux frame (re-encoded and decoded strictly), Data payloads within
 *   maxFrameSize, our opens with our id parity, no Data after our FIN/RST on a channel, nothing after GoAway(1/2);
 * - unmutated scripts: every byte the peer sent on a channel reaches its reader intact.
 *
 * CI runs about 5000 cases in a few seconds. A long run: `RXMUX_FUZZ_RUNS=200000 npx jest spec/reliability/fuzz.spec.ts`
 * (runs per property; the seeds stay fixed, so failures reproduce).
 */
import fc from 'fast-check';
import { asyncScheduler, type Subscription } from 'rxjs';
import {
  createSession,
  encodeFrame,
  Flag,
  FrameDecoder,
  FrameType,
  MuxError,
  type Channel,
  type Frame,
  type Session,
  type SessionEnd,
  type SessionOptions,
} from '../../src/index.js';
import { decodeAll } from '../../src/frame.js';
import { mulberry32 } from '../../src/testing.js';
import { f, virtualPeer, type VirtualPeer } from '../../src/testing.js';
import { referenceDecode } from '../frame/reference-codec.js';
import { testScheduler } from '../support/marbles.js';
import { chop, concat, KiB, KNOWN_CODES, WINDOW } from './helpers.js';

const LONG = Number(process.env.RXMUX_FUZZ_RUNS ?? '') || 0;
/** Runs per property: the CI figure, or RXMUX_FUZZ_RUNS for a long run. */
const runs = (ci: number): number => (LONG > 0 ? LONG : ci);
const TIMEOUT = LONG > 0 ? 24 * 3600 * 1000 : 60_000;
const MAX_FRAME = 16 * KiB;
/** The session's default maxFrameSize. */
const DEFAULT_MAX_FRAME = 64 * KiB;

const timings: string[] = [];
function timed(name: string, numRuns: number, body: () => void): void {
  const started = performance.now();
  body();
  timings.push(`${name}: ${numRuns} cases in ${Math.round(performance.now() - started)} ms`);
}

const unhandled: unknown[] = [];
const onUnhandled = (e: unknown): void => void unhandled.push(e);
beforeAll(() => process.on('unhandledRejection', onUnhandled));
afterAll(() => {
  process.off('unhandledRejection', onUnhandled);
  // eslint-disable-next-line no-console
  console.log(`fuzz figures\n${timings.join('\n')}`);
});
afterEach(async () => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
  expect(unhandled).toEqual([]);
});

// ------------------------------------------------------------------------------------------------ inputs

/** Bytes shaped like frames often enough to get past the header checks: biased headers, short payloads, raw noise. */
const frameish = fc
  .array(
    fc.oneof(
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 24 }) },
      {
        weight: 4,
        arbitrary: fc
          .record({
            version: fc.constantFrom(0, 0, 0, 0, 0, 1, 255),
            type: fc.integer({ min: 0, max: 5 }),
            flags: fc.oneof(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 0, max: 0xffff })),
            id: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 0, max: 0xffff_ffff })),
            length: fc.oneof(fc.integer({ min: 0, max: 40 }), fc.integer({ min: 0, max: 0xffff_ffff })),
            payload: fc.uint8Array({ maxLength: 40 }),
          })
          .map(({ version, type, flags, id, length, payload }) => {
            const h = new Uint8Array(12);
            const v = new DataView(h.buffer);
            v.setUint8(0, version);
            v.setUint8(1, type);
            v.setUint16(2, flags);
            v.setUint32(4, id);
            v.setUint32(8, length);
            return type === FrameType.Data ? concat([h, payload.subarray(0, Math.min(length, payload.length))]) : h;
          }),
      },
    ),
    { maxLength: 40 },
  )
  .map(concat);

const chunking = fc.record({ seed: fc.integer(), max: fc.constantFrom(1, 3, 12, 13, 64, 4096) });

/** Random pieces of at most `max` bytes, but no more than about 500 of them (each is a virtual ms and a full check). */
function pieces(bytes: Uint8Array, { seed, max }: { seed: number; max: number }): Uint8Array[] {
  return chop(bytes, seed, Math.max(max, Math.ceil(bytes.byteLength / 250)));
}

// ------------------------------------------------------------------------------------------------ the decoder

describe('fuzz: the frame decoder', () => {
  it(
    'random bytes in random chunks: frames equal the reference decoder up to the first violation, which throws ERR_MUX_PROTOCOL; at most one partial frame is held',
    () => {
      const numRuns = runs(2000);
      timed('decoder, random bytes', numRuns, () =>
        fc.assert(
          fc.property(frameish, chunking, (bytes, { seed, max }) => {
            const limit = 64;
            const frames: Frame[] = [];
            const decoder = new FrameDecoder((fr) => frames.push(fr.type === 'data' ? { ...fr, data: fr.data.slice() } : fr), {
              maxFrameSize: limit,
            });
            let error: unknown;
            for (const piece of chop(bytes, seed, max)) {
              try {
                decoder.push(piece);
              } catch (e) {
                error = e;
                break;
              }
              expect(decoder.bufferedBytes).toBeLessThanOrEqual(12 + limit);
            }
            const ref = referenceDecode(bytes, limit);
            expect(frames).toEqual(ref.frames);
            if (ref.error === 'protocol') {
              expect(error).toBeInstanceOf(MuxError);
              expect(error).toMatchObject({ code: 'ERR_MUX_PROTOCOL' });
            } else {
              expect(error).toBeUndefined();
              expect(decoder.idle).toBe(ref.error === undefined);
            }
          }),
          { seed: 0x5eed_0001, numRuns },
        ),
      );
    },
    TIMEOUT,
  );
});

// ------------------------------------------------------------------------------------------------ a live session harness

interface Case {
  role: 'client' | 'server';
  profile: 'rxmux' | 'yamux';
  options: Partial<SessionOptions>;
  /** Opens the application makes at time 0 (client role). */
  ownOpens: number;
  /** Seed of the application's choices (accept / reject / pause / echo). */
  appSeed: number;
  /** Bytes fed, one piece per virtual millisecond. */
  pieces: Uint8Array[];
  /** For unmutated scripts: what the peer sent on each channel, and whether it FIN'd (without RST). */
  expected?: Map<number, { bytes: Uint8Array; fin: boolean; rst: boolean }>;
}

interface AppChannel {
  ch: Channel;
  ends: number;
  received: Uint8Array[];
  paused: boolean;
  /** The application reset it (its bytes may stop short). */
  resetByApp: boolean;
  /** The application got it while the session was still open (a late accept finds it already failed). */
  gotWhileOpen: boolean;
}

function must(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

/** Runs a case and checks every invariant; throws on a violation. */
function runCase(c: Case): void {
  const ts = testScheduler();
  const escaped: unknown[] = [];
  const ends: SessionEnd[] = [];
  const app = new Map<number, AppChannel>();
  let peer!: VirtualPeer;
  let session!: Session;
  let writtenDone = false;
  let resumed = false;
  const options: SessionOptions = { role: c.role, profile: c.profile, keepAlive: false, ...c.options };
  const maxWindow = options.maxReceiveWindow ?? 16 * 1024 * 1024;

  /** Plain checks (this runs after every piece, up to thousands of times per case): throws a descriptive Error. */
  const check = (): void => {
    if (escaped.length > 0) throw escaped[0] instanceof Error ? escaped[0] : new Error(`escaped: ${String(escaped[0])}`);
    const stats = session.stats();
    if (session.isClosed) {
      must(ends.length === 1, `closed$ emitted ${ends.length} times`);
      const error = ends[0]!.error;
      if (error !== undefined) {
        must(error instanceof MuxError && KNOWN_CODES.has(error.code), `session ended with ${String(error)}`);
        // INTERNAL only when the peer said so (GoAway 2 or an unknown code): never our own fault.
        must(error.code !== 'ERR_MUX_INTERNAL' || error.remote, `session failed internally: ${error.message}`);
      }
      must(peer.released !== undefined, 'session ended but the carrier was not released');
      must(writtenDone, 'session ended but written$ did not complete');
      must(stats.openChannels === 0, `session ended with ${stats.openChannels} channels registered`);
    } else {
      must(ends.length === 0, 'closed$ emitted while the session is open');
    }
    for (const a of app.values()) {
      const s = a.ch.stats();
      must(s.bufferedIn <= s.receiveWindow, `channel ${a.ch.id} holds ${s.bufferedIn} > window ${s.receiveWindow}`);
    }
    // The receive budget counts exactly the bytes buffered by the channels registered now: bytes a channel still holds
    // for its reader after it left the session (both FINs, or a reset after the peer's FIN) are the application's.
    let registeredBytes = 0;
    for (const ch of session.channels()) registeredBytes += ch.stats().bufferedIn;
    must(
      stats.bufferedIn === registeredBytes,
      `bufferedIn ${stats.bufferedIn} != ${registeredBytes} buffered by the ${stats.openChannels} registered channels`,
    );
    must(
      stats.bufferedIn <= stats.openChannels * maxWindow,
      `bufferedIn ${stats.bufferedIn} > ${stats.openChannels} channels x ${maxWindow}`,
    );
  };

  const adopt = (ch: Channel, rng: () => number): void => {
    // Readers paused now are resumed at the end of the input; one adopted after that is never paused.
    const a: AppChannel = {
      ch,
      ends: 0,
      received: [],
      paused: !resumed && rng() < 0.3,
      resetByApp: false,
      gotWhileOpen: !session.isClosed,
    };
    app.set(ch.id, a);
    ch.closed$.subscribe(() => a.ends++);
    if (a.paused) ch.pause();
    const echo = rng() < 0.5;
    ch.incoming$.subscribe({
      next: (b) => {
        a.received.push(b.slice());
        if (echo) void ch.write(b.subarray(0, 100)).catch(() => undefined);
      },
      complete: () => {
        if (rng() < 0.7) ch.end();
      },
      error: () => undefined,
    });
    if (rng() < 0.3) void ch.write(new Uint8Array(1 + Math.floor(rng() * 40_000)).fill(7)).catch(() => undefined);
    if (rng() < 0.1) {
      a.resetByApp = true;
      ch.reset(3, 'app reset');
    }
  };

  try {
    ts.run(() => {
      const rng = mulberry32(c.appSeed);
      peer = virtualPeer();
      session = createSession(peer.carrier, options);
      session.closed$.subscribe((e) => ends.push(e));
      peer.written$.subscribe({ complete: () => (writtenDone = true) });
      session.incoming$.subscribe({
        next: (req) => {
          const r = rng();
          if (r < 0.1) req.reject('no', 2);
          else if (r < 0.15) asyncScheduler.schedule(() => adopt(req.accept(), rng), 1 + Math.floor(rng() * 5));
          else if (r < 0.2)
            return; // never answered
          else adopt(req.accept(), rng);
        },
        error: () => undefined,
      });
      const opens: Subscription[] = [];
      for (let i = 0; i < c.ownOpens; i++) {
        opens.push(
          session
            // Both open styles: handed over on the answer, or at once (yamux style) before it.
            .open({ ...(c.profile === 'rxmux' ? { meta: `own${i}` } : {}), waitForAccept: rng() < 0.5 })
            .subscribe({ next: (ch) => adopt(ch, rng), error: () => undefined }),
        );
      }
      c.pieces.forEach((piece, i) => {
        asyncScheduler.schedule(() => {
          try {
            peer.send(piece);
          } catch (e) {
            escaped.push(e);
          }
          check();
        }, 1 + i);
      });
      const end = c.pieces.length + 1;
      asyncScheduler.schedule(() => {
        resumed = true;
        for (const a of app.values()) if (a.paused) a.ch.resume();
        check();
      }, end);
      asyncScheduler.schedule(() => peer.end(), end + 1);
    });
  } catch (e) {
    escaped.push(e);
  }

  // ---- after the end
  check();
  expect(session.isClosed).toBe(true);
  expect(ts.actions).toHaveLength(0);
  expect(session.stats()).toMatchObject({ openChannels: 0, bufferedIn: 0 });
  expect(session.channels()).toEqual([]);
  for (const a of app.values()) expect([a.ch.id, a.ends]).toEqual([a.ch.id, 1]);
  expect(peer.writesAfterRelease).toBe(0);
  checkWritten(peer.written, c, options);

  if (c.expected) {
    for (const [id, sent] of c.expected) {
      const a = app.get(id);
      if (!a) continue;
      const got = concat(a.received);
      expect(sent.bytes.subarray(0, got.byteLength)).toEqual(got);
      if (sent.fin && !sent.rst && !a.resetByApp && a.gotWhileOpen) expect([id, got.byteLength]).toEqual([id, sent.bytes.byteLength]);
    }
  }
}

/** Every frame this side wrote is valid yamux and follows the protocol. */
function checkWritten(written: readonly Frame[], c: Case, options: SessionOptions): void {
  const maxMeta = options.maxMetadata ?? 16 * KiB;
  // Strict re-decode: version 0, known types, ids in their place, no Data payload above the limit.
  const bytes = concat(written.map(encodeFrame));
  expect(decodeAll(bytes, { maxFrameSize: Math.max(options.maxFrameSize ?? DEFAULT_MAX_FRAME, 4 + maxMeta) })).toHaveLength(written.length);
  const ourParity = c.role === 'client' ? 1 : 0;
  const closedByUs = new Set<number>();
  let fatalGoAway = false;
  for (const fr of written) {
    expect(fatalGoAway).toBe(false);
    if (fr.type === 'go-away') {
      if (fr.code !== 0) fatalGoAway = true;
      continue;
    }
    if (fr.type === 'ping') continue;
    const id = fr.streamId;
    if (fr.flags & Flag.SYN) expect(id % 2).toBe(ourParity);
    if (fr.type === 'data') {
      if (fr.flags & (Flag.SYN | Flag.ACK)) expect(fr.data.byteLength).toBeLessThanOrEqual(maxMeta);
      // Reset reasons: the application's are capped at maxMetadata; the session's own refusals are short fixed texts.
      else if (fr.flags & Flag.RST) expect(fr.data.byteLength).toBeLessThanOrEqual(4 + Math.max(maxMeta, 64));
      else expect(fr.data.byteLength).toBeLessThanOrEqual(options.maxFrameSize ?? DEFAULT_MAX_FRAME);
      if (fr.data.byteLength > 0 && !(fr.flags & (Flag.RST | Flag.SYN | Flag.ACK))) expect([id, closedByUs.has(id)]).toEqual([id, false]);
    }
    if (fr.flags & (Flag.FIN | Flag.RST)) closedByUs.add(id);
  }
}

// ------------------------------------------------------------------------------------------------ random bytes into a session

const sessionShape = fc.record({
  role: fc.constantFrom<'client' | 'server'>('client', 'server'),
  profile: fc.constantFrom<'rxmux' | 'yamux'>('rxmux', 'yamux'),
  ownOpens: fc.integer({ min: 0, max: 3 }),
  appSeed: fc.integer(),
  options: fc.record(
    {
      maxOpen: fc.integer({ min: 1, max: 8 }),
      acceptBacklog: fc.integer({ min: 1, max: 4 }),
      maxMetadata: fc.integer({ min: 0, max: 64 }),
      maxFrameSize: fc.constantFrom(MAX_FRAME, 1000),
      highWaterMark: fc.constantFrom(256 * KiB, 4 * KiB),
    },
    { requiredKeys: [] },
  ),
});

describe('fuzz: random bytes into a live session', () => {
  it(
    'a session fed random (frame-shaped) bytes in random chunks keeps every invariant',
    () => {
      const numRuns = runs(1000);
      timed('session, random bytes', numRuns, () =>
        fc.assert(
          fc.property(sessionShape, frameish, chunking, (shape, bytes, cut) => {
            runCase({ ...shape, pieces: pieces(bytes, cut) });
          }),
          { seed: 0x5eed_0002, numRuns },
        ),
      );
    },
    TIMEOUT,
  );
});

// ------------------------------------------------------------------------------------------------ recorded sessions, mutated

type Step =
  | { k: 'open'; meta: number }
  | { k: 'data'; ch: number; size: number }
  | { k: 'credit'; ch: number; delta: number }
  | { k: 'fin'; ch: number }
  | { k: 'rst'; ch: number; code: number }
  | { k: 'ping'; opaque: number }
  | { k: 'pong'; opaque: number }
  | { k: 'accept'; own: number }
  | { k: 'goaway' };

const step: fc.Arbitrary<Step> = fc.oneof(
  { weight: 15, arbitrary: fc.record({ k: fc.constant('open' as const), meta: fc.integer({ min: 0, max: 80 }) }) },
  {
    weight: 30,
    arbitrary: fc.record({
      k: fc.constant('data' as const),
      ch: fc.nat(),
      size: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 1, max: 20_000 }), fc.constant(1)),
    }),
  },
  {
    weight: 10,
    arbitrary: fc.record({
      k: fc.constant('credit' as const),
      ch: fc.nat(),
      delta: fc.oneof(fc.integer({ min: 0, max: 100_000 }), fc.constant(0)),
    }),
  },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('fin' as const), ch: fc.nat() }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('rst' as const), ch: fc.nat(), code: fc.integer({ min: 0, max: 9 }) }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('ping' as const), opaque: fc.integer({ min: 0, max: 0xffff_ffff }) }) },
  { weight: 5, arbitrary: fc.record({ k: fc.constant('pong' as const), opaque: fc.integer({ min: 0, max: 0xffff_ffff }) }) },
  { weight: 10, arbitrary: fc.record({ k: fc.constant('accept' as const), own: fc.nat({ max: 2 }) }) },
  { weight: 1, arbitrary: fc.constant({ k: 'goaway' as const }) },
);

/** Turns steps into a valid frame script from the peer's side (windows respected, ids increasing). */
function realize(steps: readonly Step[], role: 'client' | 'server', profile: 'rxmux' | 'yamux', ownOpens: number) {
  const frames: Frame[] = [];
  const expected = new Map<number, { bytes: Uint8Array; fin: boolean; rst: boolean; parts: Uint8Array[] }>();
  interface Ch {
    id: number;
    budget: number;
    fin: boolean;
    rst: boolean;
  }
  const chans: Ch[] = [];
  let nextPeerId = role === 'server' ? 1 : 2;
  const accepted = new Set<number>();
  let fill = 0;
  const payload = (n: number): Uint8Array => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = (fill++ * 31 + 7) & 0xff;
    return out;
  };
  const live = (i: number): Ch | undefined => {
    const open = chans.filter((c) => !c.rst);
    return open.length ? open[i % open.length] : undefined;
  };
  for (const s of steps) {
    switch (s.k) {
      case 'open': {
        const id = nextPeerId;
        nextPeerId += 2;
        const meta = profile === 'rxmux' ? payload(s.meta) : new Uint8Array(0);
        frames.push(profile === 'rxmux' ? f.open(id, meta) : f.syn(id));
        chans.push({ id, budget: WINDOW - meta.byteLength, fin: false, rst: false });
        expected.set(id, { bytes: new Uint8Array(0), fin: false, rst: false, parts: [] });
        break;
      }
      case 'accept': {
        if (s.own >= ownOpens) break;
        const id = (role === 'client' ? 1 : 2) + 2 * s.own;
        if (accepted.has(id)) break;
        accepted.add(id);
        frames.push(profile === 'rxmux' ? f.accept(id, 'hi') : f.ack(id));
        chans.push({ id, budget: WINDOW - (profile === 'rxmux' ? 2 : 0), fin: false, rst: false });
        expected.set(id, { bytes: new Uint8Array(0), fin: false, rst: false, parts: [] });
        break;
      }
      case 'data': {
        const c = live(s.ch);
        if (!c || c.fin) break;
        const n = Math.min(s.size, c.budget - 40); // keep room for an RST reason
        if (n <= 0) break;
        c.budget -= n;
        const bytes = payload(n);
        expected.get(c.id)!.parts.push(bytes);
        for (let at = 0; at < n || (n === 0 && at === 0); at += MAX_FRAME) frames.push(f.data(c.id, bytes.subarray(at, at + MAX_FRAME)));
        break;
      }
      case 'credit': {
        const c = live(s.ch);
        if (c) frames.push(f.credit(c.id, s.delta));
        break;
      }
      case 'fin': {
        const c = live(s.ch);
        if (!c || c.fin) break;
        c.fin = true;
        expected.get(c.id)!.fin = true;
        frames.push(f.fin(c.id));
        break;
      }
      case 'rst': {
        const c = live(s.ch);
        if (!c) break;
        c.rst = true;
        expected.get(c.id)!.rst = true;
        frames.push(profile === 'rxmux' ? f.reset(c.id, s.code, 'fuzz') : f.rst(c.id));
        break;
      }
      case 'ping':
        frames.push(f.ping(s.opaque));
        break;
      case 'pong':
        frames.push(f.pong(s.opaque));
        break;
      case 'goaway':
        frames.push(f.goAway(0));
        break;
    }
  }
  const done = new Map<number, { bytes: Uint8Array; fin: boolean; rst: boolean }>();
  for (const [id, e] of expected) done.set(id, { bytes: concat(e.parts), fin: e.fin, rst: e.rst });
  return { frames, expected: done };
}

type Mutation =
  | { m: 'flip'; at: number; bit: number }
  | { m: 'truncate'; at: number }
  | { m: 'swap'; a: number; b: number }
  | { m: 'dup'; at: number }
  | { m: 'drop'; at: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ m: fc.constant('flip' as const), at: fc.nat(), bit: fc.integer({ min: 0, max: 7 }) }),
  fc.record({ m: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({ m: fc.constant('swap' as const), a: fc.nat(), b: fc.nat() }),
  fc.record({ m: fc.constant('dup' as const), at: fc.nat() }),
  fc.record({ m: fc.constant('drop' as const), at: fc.nat() }),
);

function mutate(frames: readonly Frame[], mutations: readonly Mutation[]): Uint8Array {
  const list = [...frames];
  for (const x of mutations) {
    if (list.length === 0) break;
    if (x.m === 'swap') {
      const a = x.a % list.length;
      const b = x.b % list.length;
      [list[a], list[b]] = [list[b]!, list[a]!];
    } else if (x.m === 'dup') list.splice(x.at % list.length, 0, list[x.at % list.length]!);
    else if (x.m === 'drop') list.splice(x.at % list.length, 1);
  }
  let bytes = concat(list.map(encodeFrame));
  for (const x of mutations) {
    if (bytes.byteLength === 0) break;
    if (x.m === 'flip') {
      bytes = bytes.slice();
      bytes[x.at % bytes.byteLength]! ^= 1 << x.bit;
    } else if (x.m === 'truncate') bytes = bytes.subarray(0, x.at % bytes.byteLength);
  }
  return bytes;
}

describe('fuzz: recorded sessions, mutated', () => {
  it(
    'valid sessions (opens, data, window updates, FIN, RST, pings) fed unmutated in random chunks deliver every byte and keep every invariant',
    () => {
      const numRuns = runs(500);
      timed('session, valid scripts', numRuns, () =>
        fc.assert(
          fc.property(sessionShape, fc.array(step, { maxLength: 60 }), chunking, (shape, steps, cut) => {
            const { frames, expected } = realize(steps, shape.role, shape.profile, shape.ownOpens);
            runCase({ ...shape, pieces: pieces(concat(frames.map(encodeFrame)), cut), expected });
          }),
          { seed: 0x5eed_0003, numRuns },
        ),
      );
    },
    TIMEOUT,
  );

  it(
    'the same sessions with flipped bits, truncation, reordering, duplication and drops keep every invariant',
    () => {
      const numRuns = runs(1500);
      timed('session, mutated scripts', numRuns, () =>
        fc.assert(
          fc.property(
            sessionShape,
            fc.array(step, { maxLength: 60 }),
            fc.array(mutation, { minLength: 1, maxLength: 4 }),
            chunking,
            (shape, steps, mutations, cut) => {
              const { frames } = realize(steps, shape.role, shape.profile, shape.ownOpens);
              runCase({ ...shape, pieces: pieces(mutate(frames, mutations), cut) });
            },
          ),
          { seed: 0x5eed_0004, numRuns },
        ),
      );
    },
    TIMEOUT,
  );
});
