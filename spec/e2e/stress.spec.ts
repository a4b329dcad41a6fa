/**
 * End to end under load, in real time, over every carrier in CARRIERS: many channels, many rounds,
 * a stalled reader next to a busy one.
 */
import { filter, firstValueFrom } from 'rxjs';
import type { Channel } from '../../src/index.js';
import { CARRIERS, acceptAll, closeAll, drain, echoServer, pour, readExactly, SeededBytes, seededInts, type Tally } from './harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;

afterEach(() => closeAll());

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

describe.each(CARRIERS)('over $name', (carrier) => {
  it('ping-pong on 50 channels for 1000 rounds each gets every reply right', async () => {
    const pair = await carrier.connect();
    const echo = echoServer(pair.server);
    const channels = await Promise.all(range(50).map(() => firstValueFrom(pair.client.open())));
    const rounds = 1000;
    const results = await Promise.all(
      channels.map(async (ch, i) => {
        const bytes = new SeededBytes(500 + i);
        const sizeOf = seededInts(900 + i, 1, 64);
        let right = 0;
        for (let r = 0; r < rounds; r++) {
          const ping = bytes.next(sizeOf());
          await ch.write(ping);
          if (equalBytes(await readExactly(ch, ping.byteLength), ping)) right++;
        }
        ch.end();
        expect(await ch.read()).toBeNull();
        return right;
      }),
    );
    expect(results).toEqual(range(50).map(() => rounds));
    expect(await Promise.all(echo.done)).toEqual(range(50).map(() => undefined));
    expect(pair.client.stats().openChannels).toBe(0);
  }, 120_000);

  const grid = [1, 10, 100, 1000].flatMap((channels) => [1, 10, 100].map((messages) => [channels, messages] as const));
  it.each(grid)(
    'echo stress: %i channel(s) x %i message(s) each get back exactly the bytes they sent',
    async (count, messages) => {
      const pair = await carrier.connect();
      const echo = echoServer(pair.server);
      const channels = await Promise.all(range(count).map(() => firstValueFrom(pair.client.open())));
      const results = await Promise.all(
        channels.map(async (ch, i) => {
          const sizeOf = seededInts(count * 7919 + i, 1, 512);
          const bytes = new SeededBytes(count * 104729 + i);
          const msgs = range(messages).map(() => bytes.next(sizeOf()));
          const [sent, got] = await Promise.all([pour(ch, msgs), drain(ch)]);
          return { sent, got };
        }),
      );
      let out = 0;
      let back = 0;
      for (const { sent, got } of results) {
        expect(got.sha256).toBe(sent.sha256);
        out += sent.bytes;
        back += got.bytes;
      }
      expect(back).toBe(out);
      expect(echo.channels).toHaveLength(count);
      expect(await Promise.all(echo.done)).toEqual(range(count).map(() => undefined));
      expect(pair.client.stats().openChannels).toBe(0);
    },
    120_000,
  );

  it('a channel whose reader is paused holds one window in flight and does not slow a busy channel next to it', async () => {
    const pair = await carrier.connect();
    const window = 256 * KiB;
    const target = 32 * MiB;
    // Server: A is accepted and paused before any read; B is read as fast as it comes.
    let serverA: Channel | undefined;
    let maxBufferedA = 0;
    let receivedB = 0;
    let stopB = false;
    const reads = new Map<number, Promise<Tally>>();
    acceptAll(pair.server, (ch) => {
      if (ch.id === 1) {
        serverA = ch;
        ch.pause();
        reads.set(1, drain(ch));
      } else {
        reads.set(
          ch.id,
          drain(ch, (chunk) => {
            receivedB += chunk.byteLength;
            if (receivedB >= target) stopB = true;
            maxBufferedA = Math.max(maxBufferedA, serverA!.stats().bufferedIn);
          }),
        );
      }
    });
    const a = await firstValueFrom(pair.client.open());
    const b = await firstValueFrom(pair.client.open());
    expect([a.id, b.id]).toEqual([1, 3]);

    // Two endless writers: each writes 64 KiB seeded pieces until told to stop, then ends.
    let stopA = false;
    const endless = (ch: Channel, seed: number, stop: () => boolean): Promise<Tally> =>
      pour(
        ch,
        (function* () {
          const bytes = new SeededBytes(seed);
          while (!stop()) yield bytes.next(64 * KiB);
        })(),
      );
    const writerA = endless(a, 1, () => stopA);
    const aStarved = firstValueFrom(a.credit$.pipe(filter((c) => c === 0)));
    const writerB = endless(b, 3, () => stopB);

    const sentB = await writerB;
    const gotB = await reads.get(3)!;
    expect({ bytes: gotB.bytes, sha256: gotB.sha256 }).toEqual({ bytes: sentB.bytes, sha256: sentB.sha256 });
    expect(gotB.bytes).toBeGreaterThanOrEqual(target);

    // A: its sender ran out of credit; its receiver never held more than one window, and sent no credit back.
    await aStarved;
    expect(maxBufferedA).toBeLessThanOrEqual(window);
    expect(a.stats()).toMatchObject({ credit: 0, bytesOut: window });
    expect(a.stats().queuedOut).toBeGreaterThan(0);
    expect(serverA!.stats()).toMatchObject({ bytesIn: window, bufferedIn: window, receiveWindow: window });

    // Resumed, A delivers everything its writer produced, in order.
    stopA = true;
    serverA!.resume();
    const [sentA, gotA] = await Promise.all([writerA, reads.get(1)!]);
    expect({ bytes: gotA.bytes, sha256: gotA.sha256 }).toEqual({ bytes: sentA.bytes, sha256: sentA.sha256 });
  }, 180_000);

  it('1000 channels open at once from each end, and 50 of them carry 1000 writes each to completion', async () => {
    const pair = await carrier.connect();
    const N = 1000;
    const onServer = acceptAll(pair.server);
    const onClient = acceptAll(pair.client);
    const [fromClient, fromServer] = await Promise.all([
      Promise.all(range(N).map(() => firstValueFrom(pair.client.open()))),
      Promise.all(range(N).map(() => firstValueFrom(pair.server.open()))),
    ]);
    expect(pair.client.stats().openChannels).toBe(2 * N);
    expect(pair.server.stats().openChannels).toBe(2 * N);
    expect(onServer.map((c) => c.id)).toEqual(fromClient.map((c) => c.id));
    expect(onClient.map((c) => c.id)).toEqual(fromServer.map((c) => c.id));

    // 25 client-opened and 25 server-opened channels: the opener makes 1000 writes of 1-256 bytes, the peer reads.
    const busy = [
      ...range(25).map((i) => [fromClient[i * 40]!, onServer[i * 40]!] as const),
      ...range(25).map((i) => [fromServer[i * 40]!, onClient[i * 40]!] as const),
    ];
    const transfers = await Promise.all(
      busy.map(async ([writer, reader], k) => {
        const sizeOf = seededInts(7000 + k, 1, 256);
        const bytes = new SeededBytes(8000 + k);
        const writes = range(1000).map(() => bytes.next(sizeOf()));
        const [sent, got] = await Promise.all([pour(writer, writes), drain(reader)]);
        return { sent, got };
      }),
    );
    for (const { sent, got } of transfers) {
      expect(sent.chunks).toBe(1000);
      expect({ bytes: got.bytes, sha256: got.sha256 }).toEqual({ bytes: sent.bytes, sha256: sent.sha256 });
    }

    // Everything closes cleanly.
    const all = [...fromClient, ...fromServer, ...onServer, ...onClient];
    const ends = all.map((c) => firstValueFrom(c.closed$));
    for (const c of all) c.end();
    expect((await Promise.all(ends)).every((e) => e.error === undefined)).toBe(true);
    expect(pair.client.stats().openChannels).toBe(0);
    expect(pair.server.stats().openChannels).toBe(0);
  }, 120_000);
});
