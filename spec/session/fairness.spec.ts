import fc from 'fast-check';
import { createSession, type Channel, type Frame, type SessionOptions } from '../../src/index.js';
import { mulberry32 } from '../../src/testing.js';
import { f, virtualPeer, type VirtualPeer } from '../../src/testing.js';
import { expectFrames } from '../support/frames.js';
import { at, testScheduler, type Hot } from '../support/marbles.js';

// ------------------------------------------------------------------------------------------------ helpers

const KiB = 1024;
const QUANTUM = 16 * KiB;

function seeded(n: number, seed: number): Uint8Array {
  const rng = mulberry32(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rng() * 256);
  return out;
}

/** A server session whose peer opens `ids` at frame 1; the application accepts each. */
function serverWithPeerChannels(
  hot: Hot,
  ids: number[],
  options: Partial<SessionOptions> = {},
): { peer: VirtualPeer; channels: Map<number, Channel> } {
  const peer = virtualPeer();
  // Window auto-tuning off unless a test turns it on: these tests count credit to the byte, and tuning would add
  // an RTT probe (a Ping) and growth to the WindowUpdates. The in-flight bound off likewise: these tests saturate the
  // carrier, and the bound would then add its probes (Pings) to the frames they list (spec/session/pacing.spec.ts).
  const session = createSession(peer.carrier, {
    role: 'server',
    keepAlive: false,
    maxReceiveWindow: 256 * 1024,
    maxFrameSize: 16 * 1024,
    inFlightMin: 0,
    ...options,
  });
  const channels = new Map<number, Channel>();
  session.incoming$.subscribe({ next: (req) => channels.set(req.id, req.accept()), error: () => undefined });
  at(hot, 1, () => peer.send(...ids.map((id) => f.open(id))));
  return { peer, channels };
}

/**
 * Fills the carrier: from now on it reports saturation, and the session learns it on its next write
 * (here the answer to a Ping, which still goes out: the carrier took it, then said it is full).
 */
function saturate(peer: VirtualPeer, opaque: number): void {
  peer.saturate();
  peer.send(f.ping(opaque));
}

/** `bytes` cut in frames of `size` for channel `id`. */
function cut(id: number, bytes: Uint8Array, size = QUANTUM): Frame[] {
  const out: Frame[] = [];
  for (let i = 0; i < bytes.byteLength; i += size) out.push(f.data(id, bytes.subarray(i, i + size)));
  return out;
}

/** Interleaves per-channel frame lists following a schedule of stream ids. */
function interleave(order: number[], frames: Map<number, Frame[]>): Frame[] {
  const next = new Map<number, number>();
  return order.map((id) => {
    const i = next.get(id) ?? 0;
    next.set(id, i + 1);
    const fr = frames.get(id)![i];
    if (!fr) throw new Error(`no frame ${i} for channel ${id}`);
    return fr;
  });
}

// ------------------------------------------------------------------------------------------------ round robin

describe('fair writer: round robin between channels', () => {
  it('three channels with queued data and credit are interleaved one 16 KiB quantum at a time: 1,3,5,1,3,5,1,3,5', () => {
    const data = new Map([1, 3, 5].map((id) => [id, seeded(48 * KiB, id)] as const));
    testScheduler().run(({ hot, expectObservable }) => {
      const { peer, channels } = serverWithPeerChannels(hot, [1, 3, 5]);
      at(hot, 10, () => saturate(peer, 1));
      at(hot, 11, () => void channels.get(1)!.write(data.get(1)!));
      at(hot, 12, () => {
        for (const id of [3, 5]) void channels.get(id)!.write(data.get(id)!);
      });
      at(hot, 20, () => peer.drain());
      const frames = new Map([...data].map(([id, d]) => [id, cut(id, d)] as const));
      expectFrames(expectObservable, peer.written$, [
        [1, [f.accept(1), f.accept(3), f.accept(5)]],
        [10, [f.pong(1)]],
        [20, interleave([1, 3, 5, 1, 3, 5, 1, 3, 5], frames)],
      ]);
    });
  });

  it('open({ weight: 2 }) gives that channel two quanta per round: 1,1,3,5 while all three have data', () => {
    const data = new Map([1, 3, 5].map((id) => [id, seeded(96 * KiB, 10 + id)] as const));
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, {
        role: 'client',
        keepAlive: false,
        openTimeout: 0,
        maxFrameSize: 16 * KiB,
        inFlightMin: 0,
      });
      const channels = new Map<number, Channel>();
      at(hot, 0, () => {
        for (const weight of [2, 1, 1]) session.open({ weight }).subscribe((ch) => channels.set(ch.id, ch));
      });
      at(hot, 1, () => peer.send(f.accept(1), f.accept(3), f.accept(5)));
      at(hot, 10, () => saturate(peer, 1));
      at(hot, 11, () => void channels.get(1)!.write(data.get(1)!));
      at(hot, 12, () => {
        for (const id of [3, 5]) void channels.get(id)!.write(data.get(id)!);
      });
      at(hot, 20, () => peer.drain());
      const frames = new Map([...data].map(([id, d]) => [id, cut(id, d)] as const));
      expectFrames(expectObservable, peer.written$, [
        [0, [f.open(1), f.open(3), f.open(5)]],
        [10, [f.pong(1)]],
        // Per round: 32 KiB for channel 1, 16 KiB each for 3 and 5; once 1 is done, 3 and 5 alternate.
        [20, interleave([1, 1, 3, 5, 1, 1, 3, 5, 1, 1, 3, 5, 3, 5, 3, 5, 3, 5], frames)],
      ]);
    });
  });

  it('channel.weight = 2 set on an accepted channel takes effect: 1,3,3,5 per round', () => {
    const data = new Map([1, 3, 5].map((id) => [id, seeded(64 * KiB, 20 + id)] as const));
    testScheduler().run(({ hot, expectObservable }) => {
      const { peer, channels } = serverWithPeerChannels(hot, [1, 3, 5]);
      at(hot, 2, () => (channels.get(3)!.weight = 2));
      at(hot, 10, () => saturate(peer, 1));
      at(hot, 11, () => void channels.get(1)!.write(data.get(1)!));
      at(hot, 12, () => {
        for (const id of [3, 5]) void channels.get(id)!.write(data.get(id)!);
      });
      at(hot, 20, () => peer.drain());
      const frames = new Map([...data].map(([id, d]) => [id, cut(id, d)] as const));
      expectFrames(expectObservable, peer.written$, [
        [1, [f.accept(1), f.accept(3), f.accept(5)]],
        [10, [f.pong(1)]],
        [20, interleave([1, 3, 3, 5, 1, 3, 3, 5, 1, 5, 1, 5], frames)],
      ]);
    });
  });

  it('fractional weights still cut whole-byte frames and split each round by weight (quantum 1000, weights 1.5 and 1/3)', () => {
    const a = seeded(6_000, 31);
    const b = seeded(2_000, 32);
    testScheduler().run(({ hot, expectObservable }) => {
      const { peer, channels } = serverWithPeerChannels(hot, [1, 3], { quantum: 1000 });
      at(hot, 2, () => {
        channels.get(1)!.weight = 1.5;
        channels.get(3)!.weight = 1 / 3;
      });
      at(hot, 10, () => saturate(peer, 1));
      at(hot, 11, () => {
        void channels.get(1)!.write(a);
        void channels.get(3)!.write(b);
      });
      at(hot, 20, () => peer.drain());
      // Channel 1: 1500 bytes per round; channel 3: 333 (1000 / 3, rounded) per round. Once channel 1 is done,
      // channel 3 is alone and sends the rest in one frame (nobody to share with).
      const r3 = (i: number): Frame => f.data(3, b.subarray(i * 333, (i + 1) * 333));
      const r1 = (i: number): Frame => f.data(1, a.subarray(i * 1500, (i + 1) * 1500));
      expectFrames(expectObservable, peer.written$, [
        [1, [f.accept(1), f.accept(3)]],
        [10, [f.pong(1)]],
        [20, [r1(0), r3(0), r1(1), r3(1), r1(2), r3(2), r1(3), r3(3), f.data(3, b.subarray(4 * 333))]],
      ]);
    });
  });
});

// ------------------------------------------------------------------------------------------------ control first

describe('fair writer: control frames never wait behind data', () => {
  it('with the carrier saturated and channels queued, the Ping ACK and the WindowUpdate are the first frames written after the drain', () => {
    const data = new Map([1, 3, 5].map((id) => [id, seeded(48 * KiB, 40 + id)] as const));
    const inbound = seeded(131_073, 49);
    testScheduler().run(({ hot, expectObservable }) => {
      const { peer, channels } = serverWithPeerChannels(hot, [1, 3, 5, 7]);
      // Channel 7 only receives; its reader consumes at once (the 8th 16 KiB frame crosses half the window).
      at(hot, 2, () => channels.get(7)!.incoming$.subscribe());
      at(hot, 10, () => peer.saturate());
      // Channel 1's write is the one the carrier takes before it reports saturation; 3 and 5 then wait.
      at(hot, 11, () => void channels.get(1)!.write(data.get(1)!));
      at(hot, 12, () => {
        for (const id of [3, 5]) void channels.get(id)!.write(data.get(id)!);
      });
      at(hot, 20, () => peer.send(f.ping(42)));
      at(hot, 21, () => peer.send(...cut(7, inbound)));
      at(hot, 30, () => peer.drain());
      const frames = new Map([...data].map(([id, d]) => [id, cut(id, d)] as const));
      expectFrames(expectObservable, peer.written$, [
        [1, [f.accept(1), f.accept(3), f.accept(5), f.accept(7)]],
        [11, interleave([1, 1, 1], frames)],
        [30, [f.pong(42), f.credit(7, 131_072), ...interleave([3, 5, 3, 5, 3, 5], frames)]],
      ]);
    });
  });
});

// ------------------------------------------------------------------------------------------------ property

describe('fair writer: weighted fairness property', () => {
  /**
   * Runs one scenario: channels queue `sizes` with `weights` while the carrier is saturated, then it drains.
   * Returns the data frames written after the drain, as [stream id, bytes].
   */
  function schedule(
    sizes: number[],
    weights: number[],
    options: { quantum: number; maxFrameSize: number },
  ): {
    frames: [number, number][];
    intact: boolean;
  } {
    const ids = sizes.map((_, i) => 2 * i + 1);
    const payload = (id: number, n: number): Uint8Array => {
      const out = new Uint8Array(n);
      for (let i = 0; i < n; i++) out[i] = (i * 31 + id * 7) & 0xff;
      return out;
    };
    let frames: [number, number][] = [];
    let intact = true;
    testScheduler().run(({ hot }) => {
      const { peer, channels } = serverWithPeerChannels(hot, ids, options);
      at(hot, 2, () => {
        ids.forEach((id, i) => {
          channels.get(id)!.weight = weights[i]!;
        });
      });
      at(hot, 10, () => saturate(peer, 1));
      let mark = 0;
      at(hot, 11, () => {
        ids.forEach((id, i) => void channels.get(id)!.write(payload(id, sizes[i]!)));
        mark = peer.written.length;
      });
      at(hot, 20, () => peer.drain());
      at(hot, 21, () => {
        const data = peer.written.slice(mark).filter((fr): fr is Frame & { type: 'data' } => fr.type === 'data');
        frames = data.map((fr) => [fr.streamId, fr.data.byteLength]);
        for (const [i, id] of ids.entries()) {
          const got = data.filter((fr) => fr.streamId === id);
          const bytes = new Uint8Array(got.reduce((n, fr) => n + fr.data.byteLength, 0));
          let o = 0;
          for (const fr of got) {
            bytes.set(fr.data, o);
            o += fr.data.byteLength;
          }
          const want = payload(id, sizes[i]!);
          if (bytes.byteLength !== want.byteLength || !bytes.every((v, k) => v === want[k])) intact = false;
          if (got.some((fr) => fr.data.byteLength > options.maxFrameSize)) intact = false;
        }
      });
    });
    return { frames, intact };
  }

  it('over any run of consecutive frames while every channel has data, bytes per channel / weight differ by at most one quantum', () => {
    const scenario = fc.record({
      channels: fc.array(fc.record({ size: fc.integer({ min: 1, max: 200_000 }), weight: fc.integer({ min: 1, max: 3 }) }), {
        minLength: 2,
        maxLength: 5,
      }),
      quantum: fc.constantFrom(16_384, 8_192, 3_000),
      maxFrameSize: fc.constantFrom(16_384, 5_000, 1_500),
    });
    fc.assert(
      fc.property(scenario, ({ channels, quantum, maxFrameSize }) => {
        const sizes = channels.map((c) => c.size);
        const weights = channels.map((c) => c.weight);
        const { frames, intact } = schedule(sizes, weights, { quantum, maxFrameSize });
        expect(intact).toBe(true);
        const ids = sizes.map((_, i) => 2 * i + 1);
        const weightOf = new Map(ids.map((id, i) => [id, weights[i]!]));
        // The span during which every channel still has data: up to the first channel's last frame.
        const lastIndex = ids.map((id) => frames.map(([s]) => s).lastIndexOf(id));
        const span = frames.slice(0, Math.min(...lastIndex) + 1);
        // prefix[k][c]: bytes of channel c in the first k frames, divided by its weight.
        const prefix: number[][] = [ids.map(() => 0)];
        for (const [id, n] of span) {
          const row = prefix[prefix.length - 1]!.slice();
          row[ids.indexOf(id)] += n / weightOf.get(id)!;
          prefix.push(row);
        }
        let worst = 0;
        for (let s = 0; s < prefix.length; s++) {
          for (let e = s + 1; e < prefix.length; e++) {
            const share = prefix[e]!.map((v, c) => v - prefix[s]![c]!);
            worst = Math.max(worst, Math.max(...share) - Math.min(...share));
          }
        }
        expect(worst).toBeLessThanOrEqual(quantum + 1e-6);
      }),
      { seed: 20240601, numRuns: 40 },
    );
  });
});
