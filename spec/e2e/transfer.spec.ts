/**
 * End to end, in real time, over every carrier in CARRIERS: bytes go through intact, both ways, at any size.
 */
import { firstValueFrom } from 'rxjs';
import type { Channel, Session } from '../../src/index.js';
import {
  CARRIERS,
  closeAll,
  drain,
  echoServer,
  pour,
  seededChunks,
  seededInts,
  sha256 as shaOf,
  type SessionPair,
  type Tally,
} from './harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;

afterEach(() => closeAll());

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

function accepted(session: Session, count: number): Promise<Channel[]> {
  return new Promise((resolve) => {
    const out: Channel[] = [];
    const sub = session.incoming$.subscribe((req) => {
      out.push(req.accept());
      if (out.length === count) {
        sub.unsubscribe();
        resolve(out);
      }
    });
  });
}

interface Exchange {
  /** Per channel: what the client wrote and what the server read, and the other way round. */
  up: { sent: Tally; got: Tally }[];
  down: { sent: Tally; got: Tally }[];
}

/**
 * Opens `count` channels from the client; on every channel both ends write their own seeded stream at once
 * (sizes from `sizeOf(i)`, written in pieces of `writes` bytes) and read the other's.
 */
async function exchange(
  pair: SessionPair,
  count: number,
  sizeOf: (i: number) => number,
  writes: { min: number; max: number },
): Promise<Exchange> {
  const serverSide = accepted(pair.server, count);
  const clientSide = await Promise.all(range(count).map(() => firstValueFrom(pair.client.open())));
  const serverChannels = await serverSide;
  const up = range(count).map(async (i) => {
    const [sent, got] = await Promise.all([pour(clientSide[i]!, seededChunks(1000 + i, sizeOf(i), writes)), drain(serverChannels[i]!)]);
    return { sent, got };
  });
  const down = range(count).map(async (i) => {
    const [sent, got] = await Promise.all([pour(serverChannels[i]!, seededChunks(2000 + i, sizeOf(i), writes)), drain(clientSide[i]!)]);
    return { sent, got };
  });
  const result = { up: await Promise.all(up), down: await Promise.all(down) };
  const ends = await Promise.all([...clientSide, ...serverChannels].map((ch) => firstValueFrom(ch.closed$)));
  expect(ends.every((e) => e.error === undefined)).toBe(true);
  expect(pair.client.stats().openChannels).toBe(0);
  expect(pair.server.stats().openChannels).toBe(0);
  return result;
}

function expectIntact(ex: Exchange, size: (i: number) => number): void {
  for (const [i, { sent, got }] of ex.up.entries()) {
    expect({ bytes: got.bytes, sha256: got.sha256 }).toEqual({ bytes: size(i), sha256: sent.sha256 });
  }
  for (const [i, { sent, got }] of ex.down.entries()) {
    expect({ bytes: got.bytes, sha256: got.sha256 }).toEqual({ bytes: size(i), sha256: sent.sha256 });
  }
}

describe.each(CARRIERS)('over $name', (carrier) => {
  it('channels opened from both ends at the same time all pair up and echo bytes both ways', async () => {
    const pair = await carrier.connect();
    const echoOnClient = echoServer(pair.client);
    const echoOnServer = echoServer(pair.server);
    const N = 20;
    const run = async (session: Session, side: string, i: number): Promise<{ id: number; sent: Tally; got: Tally; ch: Channel }> => {
      const ch = await firstValueFrom(session.open({ meta: `${side}${i}` }));
      const [sent, got] = await Promise.all([
        pour(ch, seededChunks(side === 'c' ? i : 100 + i, 32 * KiB + i * 999, { min: 0, max: 4096 })),
        drain(ch),
      ]);
      return { id: ch.id, sent, got, ch };
    };
    // Every open is subscribed in this same tick, before any answer can arrive.
    const all = await Promise.all([...range(N).map((i) => run(pair.client, 'c', i)), ...range(N).map((i) => run(pair.server, 's', i))]);

    expect(all.map((r) => r.id)).toEqual([...range(N).map((i) => 2 * i + 1), ...range(N).map((i) => 2 * i + 2)]);
    for (const { sent, got } of all) expect(got).toEqual({ bytes: sent.bytes, chunks: got.chunks, sha256: sent.sha256 });
    const metaOf = (chs: Channel[]): string[] => chs.map((c) => new TextDecoder().decode(c.meta)).sort();
    expect(metaOf(echoOnServer.channels)).toEqual(
      range(N)
        .map((i) => `c${i}`)
        .sort(),
    );
    expect(metaOf(echoOnClient.channels)).toEqual(
      range(N)
        .map((i) => `s${i}`)
        .sort(),
    );
    expect(await Promise.all([...echoOnClient.done, ...echoOnServer.done])).toEqual(range(2 * N).map(() => undefined));
    const ends = await Promise.all(all.map((r) => firstValueFrom(r.ch.closed$)));
    expect(ends.every((e) => e.error === undefined)).toBe(true);
    expect(pair.client.stats().openChannels).toBe(0);
    expect(pair.server.stats().openChannels).toBe(0);
  });

  it('a single byte goes through both ways intact', async () => {
    const pair = await carrier.connect();
    const ex = await exchange(pair, 1, () => 1, { min: 1, max: 1 });
    expectIntact(ex, () => 1);
    expect(ex.up[0]!.got.chunks).toBe(1);
  });

  it.each([1, 2, 10])('10-100 KiB written in random 0-200 byte pieces on %i channel(s) arrives intact both ways', async (count) => {
    const pair = await carrier.connect();
    const sizes = range(count).map(seededInts(count, 10 * KiB, 100 * KiB));
    const size = (i: number): number => sizes[i]!;
    const ex = await exchange(pair, count, size, { min: 0, max: 200 });
    expectIntact(ex, size);
  });

  it('10 channels carry 8 MiB each way at the same time, intact and in many chunks', async () => {
    const pair = await carrier.connect();
    const size = (): number => 8 * MiB;
    const ex = await exchange(pair, 10, size, { min: 64 * KiB, max: 64 * KiB });
    expectIntact(ex, size);
    for (const { got } of [...ex.up, ...ex.down]) expect(got.chunks).toBeGreaterThan(1);
  }, 180_000);

  it(`one channel carries ${carrier.largeTransfer / MiB} MiB one way, intact and in many chunks`, async () => {
    const pair = await carrier.connect();
    const serverRead = accepted(pair.server, 1).then(([c]) => drain(c!));
    const ch = await firstValueFrom(pair.client.open());
    const [sent, got] = await Promise.all([
      pour(ch, seededChunks(256, carrier.largeTransfer, { min: 256 * KiB, max: 256 * KiB })),
      serverRead,
    ]);
    expect({ bytes: got.bytes, sha256: got.sha256 }).toEqual({ bytes: carrier.largeTransfer, sha256: sent.sha256 });
    expect(got.chunks).toBeGreaterThan(1);
  }, 300_000);

  it('closing one channel with a reset and ending another leaves the other three working', async () => {
    const pair = await carrier.connect();
    const echo = echoServer(pair.server);
    const chs = await Promise.all(range(5).map(() => firstValueFrom(pair.client.open())));
    // Round 1: all five echo.
    const round = (c: Channel[], seed: number, size: number): Promise<[Tally, Tally][]> =>
      Promise.all(
        c.map((ch, i) => {
          const got: Uint8Array[] = [];
          let n = 0;
          const whole = new Promise<void>((resolve, reject) => {
            const sub = ch.incoming$.subscribe({
              next: (b) => {
                got.push(b.slice());
                n += b.byteLength;
                if (n >= size) {
                  sub.unsubscribe();
                  resolve();
                }
              },
              error: reject,
            });
          });
          return Promise.all([pour(ch, seededChunks(seed + i, size, { min: 1, max: 8 * KiB }), { end: false }), whole]).then(
            ([sent]) => [sent, { bytes: n, chunks: got.length, sha256: shaOf(got) }] as [Tally, Tally],
          );
        }),
      );
    for (const [sent, got] of await round(chs, 10, 64 * KiB)) expect(got.sha256).toBe(sent.sha256);

    const [reset, ended, ...rest] = chs as [Channel, Channel, ...Channel[]];
    const resetEnd = firstValueFrom(reset.closed$);
    const endedRead = drain(ended);
    reset.reset(7, 'done with it');
    ended.end();
    expect((await resetEnd).error).toMatchObject({ code: 'ERR_MUX_RESET', wireCode: 7 });
    expect(await echo.done[0]).toMatchObject({ code: 'ERR_MUX_RESET', wireCode: 7, reason: 'done with it', remote: true });
    expect(await endedRead).toEqual({ bytes: 0, chunks: 0, sha256: shaOf([]) });
    expect(await echo.done[1]).toBeUndefined();
    expect((await firstValueFrom(ended.closed$)).error).toBeUndefined();

    // Round 2: the other three still echo, then close cleanly.
    for (const [sent, got] of await round(rest, 20, 1 * MiB))
      expect({ bytes: got.bytes, sha256: got.sha256 }).toEqual({ bytes: MiB, sha256: sent.sha256 });
    expect(pair.client.stats().openChannels).toBe(3);
    const tails = rest.map((ch) => drain(ch));
    for (const ch of rest) ch.end();
    expect(await Promise.all(tails)).toEqual(rest.map(() => ({ bytes: 0, chunks: 0, sha256: shaOf([]) })));
    expect(await Promise.all(echo.done.slice(2))).toEqual([undefined, undefined, undefined]);
    expect(pair.client.stats().openChannels).toBe(0);
  }, 60_000);

  it.each([
    ['the channel was ended first', true],
    ['close() ends the channel itself', false],
  ])('a session closed right after the last write still delivers every byte, then completes the reader (%s)', async (_how, endFirst) => {
    const pair = await carrier.connect();
    const serverRead = accepted(pair.server, 1).then(([c]) => drain(c!));
    const ch = await firstValueFrom(pair.client.open());
    const size = 4 * MiB;
    const chunks = [...seededChunks(30, size, { min: 1, max: 64 * KiB })];
    // Queue everything without waiting (most of it sits in the channel's queue), end, close at once.
    const writes = chunks.map((c) => ch.write(c));
    if (endFirst) ch.end();
    const closing = pair.client.close();
    const got = await serverRead;
    expect({ bytes: got.bytes, sha256: got.sha256 }).toEqual({ bytes: size, sha256: shaOf(chunks) });
    await closing;
    await Promise.all(writes);
    expect(await firstValueFrom(pair.client.closed$)).toEqual({ error: undefined });
    expect(await firstValueFrom(pair.server.closed$)).toEqual({ error: undefined });
  });
});
