/**
 * toDuplex: a channel as a Node stream.Duplex, end to end over two real sessions (in-memory pair and loopback TCP).
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { Readable, Writable, type Duplex } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { filter, firstValueFrom } from 'rxjs';
import type { Channel, Session } from '../../src/index.js';
import { toDuplex } from '../../src/node.js';
import { channelPair, closePairs, microtaskPair, turns } from './pair.js';
import { closeAll, memoryPairSessions, SeededBytes, tcpPair, type PairOptions, type SessionPair } from '../e2e/harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const WINDOW = 256 * KiB;

afterEach(async () => {
  closePairs();
  await closeAll();
});

/** Yields to the event loop until `value()` has not changed for 20 turns in a row (at most 2000 turns). */
async function settle(value: () => number): Promise<void> {
  let last = value();
  for (let still = 0, n = 0; still < 20 && n < 2000; n++) {
    await turns(1);
    const v = value();
    still = v === last ? still + 1 : 0;
    last = v;
  }
}

function acceptOne(session: Session): Promise<Channel> {
  return new Promise((resolve) => {
    const sub = session.incoming$.subscribe((req) => {
      sub.unsubscribe();
      resolve(req.accept());
    });
  });
}

async function openPair(pair: SessionPair): Promise<{ client: Channel; server: Channel }> {
  const accepted = acceptOne(pair.server);
  const client = await firstValueFrom(pair.client.open());
  return { client, server: await accepted };
}

/** toDuplex, with an 'error' listener: the sessions are destroyed after each test, which fails open streams. */
function duplexOf(channel: Channel): Duplex {
  const d = toDuplex(channel);
  d.on('error', () => undefined);
  return d;
}

const creditZero = (ch: Channel): Promise<number> => firstValueFrom(ch.credit$.pipe(filter((c) => c === 0)));

const CARRIERS: { name: string; connect: (o?: PairOptions) => Promise<SessionPair> }[] = [
  { name: 'memory pair', connect: (o) => memoryPairSessions(o) },
  { name: 'TCP', connect: (o) => tcpPair(o) },
];

describe.each(CARRIERS)('toDuplex over $name', ({ connect }) => {
  it('pipeline() into a slow consumer delivers every byte, and back-pressure reaches the producer through the credit', async () => {
    // A fixed 256 KiB window (no auto-tuning), so "at most one window" is a fixed number.
    const pair = await connect({ keepAlive: false, maxReceiveWindow: WINDOW });
    const { client, server } = await openPair(pair);
    const total = 8 * MiB;
    const bytes = new SeededBytes(42);
    const sentHash = createHash('sha256');
    let pulled = 0;
    let sourceDrained!: () => void;
    const sourceDone = new Promise<string>((resolve) => (sourceDrained = () => resolve('the whole source was read')));
    const source = Readable.from(
      (function* () {
        while (pulled < total) {
          const chunk = bytes.next(Math.min(64 * KiB, total - pulled));
          pulled += chunk.byteLength;
          sentHash.update(chunk);
          yield chunk;
        }
        sourceDrained();
      })(),
    );

    // The consumer holds its first write until the test lets it go, then takes one chunk per event-loop turn.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const gotHash = createHash('sha256');
    let got = 0;
    let maxBufferedIn = 0;
    const slow = new Writable({
      highWaterMark: 16 * KiB,
      write(chunk: Buffer, _enc, callback) {
        gotHash.update(chunk);
        got += chunk.byteLength;
        const { bufferedIn, receiveWindow } = server.stats();
        maxBufferedIn = Math.max(maxBufferedIn, bufferedIn);
        expect(receiveWindow).toBe(WINDOW);
        void gate.then(() => setImmediate(callback));
      },
    });

    const receiving = duplexOf(server);
    const up = pipeline(source, duplexOf(client));
    const down = pipeline(receiving, slow);
    const first = await Promise.race([creditZero(client).then(() => 'the sender ran out of credit'), sourceDone]);
    expect(first).toBe('the sender ran out of credit');
    // Let everything that can move move, until the producer has been still for a while.
    await settle(() => pulled);
    // Held: the sender has no credit, the receiver holds at most one window in the channel and its stream buffer
    // stays near its high-water mark, and the producer is read only as far as the buffers on the way hold
    // (Readable.from reads 16 chunks ahead: 1 MiB, plus about 1 MiB of channel queue, window and stream buffers).
    expect(client.stats().credit).toBe(0);
    expect(server.stats().bufferedIn).toBeLessThanOrEqual(WINDOW);
    // The stream buffer: its 16 KiB high-water mark plus at most one chunk (a frame: up to 64 KiB).
    expect(receiving.readableLength).toBeLessThanOrEqual(16 * KiB + 64 * KiB);
    expect(pulled).toBeLessThan(2.5 * MiB);
    release();
    await Promise.all([up, down]);
    expect(got).toBe(total);
    expect(gotHash.digest('hex')).toBe(sentHash.digest('hex'));
    expect(maxBufferedIn).toBeLessThanOrEqual(WINDOW);
  });

  it('both directions at once through pipe(), byte-exact', async () => {
    const pair = await connect({ keepAlive: false });
    const { client, server } = await openPair(pair);
    const a = duplexOf(client);
    const b = duplexOf(server);
    // The server echoes: b -> b.
    b.pipe(b);
    const payload = new SeededBytes(7).next(3 * MiB + 123);
    const back: Buffer[] = [];
    a.on('data', (c: Buffer) => back.push(c));
    const ended = once(a, 'end');
    Readable.from([payload.subarray(0, MiB), payload.subarray(MiB, 2 * MiB), payload.subarray(2 * MiB)]).pipe(a);
    await ended;
    const echoed = Buffer.concat(back);
    expect(echoed.byteLength).toBe(payload.byteLength);
    expect(createHash('sha256').update(echoed).digest('hex')).toBe(createHash('sha256').update(payload).digest('hex'));
  });
});

describe('toDuplex', () => {
  it("write() returns false once the channel's queue is full and 'drain' waits for the peer to read", async () => {
    const pair = await memoryPairSessions({ keepAlive: false });
    const { client, server } = await openPair(pair);
    const d = duplexOf(client);
    const chunk = new Uint8Array(16 * KiB).fill(1);
    // One window goes out, one high-water mark (256 KiB) waits in the channel: every write drains.
    for (let written = 0; written < WINDOW + 256 * KiB; written += chunk.byteLength) {
      if (!d.write(chunk)) await once(d, 'drain');
    }
    expect(client.stats()).toMatchObject({ credit: 0, queuedOut: 256 * KiB });
    // The next chunk takes the queue over its high-water mark: the channel's write waits, so the Duplex holds it.
    expect(d.write(chunk)).toBe(false);
    let reading = false;
    const drained = once(d, 'drain').then(() => reading);
    await turns(20);
    expect(client.stats()).toMatchObject({ credit: 0, queuedOut: 256 * KiB + 16 * KiB });
    reading = true;
    let got = 0;
    const complete = new Promise<void>((resolve) => server.incoming$.subscribe({ next: (c) => (got += c.byteLength), complete: resolve }));
    expect(await drained).toBe(true);
    d.end();
    await complete;
    expect(got).toBe(WINDOW + 256 * KiB + 16 * KiB);
  });

  it('an unread readable side pauses the channel: the window fills, no credit goes back, then every byte arrives', async () => {
    // Deliveries as promise jobs: after a few event-loop turns, everything that can arrive has arrived.
    const { client, server } = await channelPair(microtaskPair({ maxReceiveWindow: WINDOW }));
    const payload = new SeededBytes(3).next(MiB);
    const writing = client.write(payload).then(() => client.end());
    const d = duplexOf(server);
    // A 'readable' listener makes the stream fill its buffer (16 KiB) and stop there.
    d.once('readable', () => undefined);
    await creditZero(client);
    await turns(20);
    expect(client.stats().credit).toBe(0);
    expect(d.readableLength).toBeLessThanOrEqual(16 * KiB + 64 * KiB); // high-water mark plus one chunk (a frame)
    expect(server.stats().bufferedIn + d.readableLength).toBe(WINDOW);
    const chunks: Buffer[] = [];
    d.on('data', (c: Buffer) => chunks.push(c));
    await once(d, 'end');
    await writing;
    expect(Buffer.concat(chunks).equals(Buffer.from(payload))).toBe(true);
  });

  it("end() sends the FIN (the peer's reading completes) while the other direction keeps working", async () => {
    const pair = await memoryPairSessions({ keepAlive: false });
    const { client, server } = await openPair(pair);
    const d = toDuplex(client);
    const got: string[] = [];
    const serverDone = new Promise<void>((resolve) =>
      server.incoming$.subscribe({ next: (c) => got.push(Buffer.from(c).toString()), complete: () => resolve() }),
    );
    d.end('bye');
    await serverDone;
    expect(got.join('')).toBe('bye');
    const back: string[] = [];
    d.on('data', (c: Buffer) => back.push(c.toString()));
    await server.write('still here');
    server.end();
    await once(d, 'end');
    expect(back.join('')).toBe('still here');
    const [c, s] = await Promise.all([firstValueFrom(client.closed$), firstValueFrom(server.closed$)]);
    expect(c.error).toBeUndefined();
    expect(s.error).toBeUndefined();
  });

  it("destroy(err) resets the channel: the peer's channel errors with ERR_MUX_RESET and the error's message", async () => {
    const pair = await memoryPairSessions({ keepAlive: false });
    const { client, server } = await openPair(pair);
    const d = toDuplex(client);
    d.on('error', () => undefined);
    const peerError = new Promise<unknown>((resolve) => server.incoming$.subscribe({ error: resolve }));
    d.destroy(new Error('disk full'));
    expect(await peerError).toMatchObject({ code: 'ERR_MUX_RESET', reason: 'disk full', remote: true });
    expect(client.state).toBe('closed');
  });

  it('a reset from the peer destroys the Duplex with ERR_MUX_RESET, even while nobody reads or writes', async () => {
    const pair = await memoryPairSessions({ keepAlive: false });
    const { client, server } = await openPair(pair);
    const d = toDuplex(client);
    const failed = once(d, 'error');
    server.reset(7, 'go away');
    const [err] = (await failed) as [unknown];
    expect(err).toMatchObject({ code: 'ERR_MUX_RESET', wireCode: 7, reason: 'go away' });
    expect(d.destroyed).toBe(true);
  });

  it('a session failure reaches the Duplex as its error', async () => {
    const pair = await memoryPairSessions({ keepAlive: false });
    const { client } = await openPair(pair);
    const d = toDuplex(client);
    const failed = once(d, 'error');
    pair.client.destroy();
    const [err] = (await failed) as [unknown];
    expect(err).toMatchObject({ code: 'ERR_MUX_SESSION_CLOSED' });
  });

  it('once both directions finish, the Duplex closes and the channel ends cleanly on both sides (no reset)', async () => {
    const pair = await memoryPairSessions({ keepAlive: false });
    const { client, server } = await openPair(pair);
    const a = toDuplex(client);
    const b = toDuplex(server);
    b.resume();
    a.resume();
    a.end('x');
    b.end('y');
    await Promise.all([once(a, 'close'), once(b, 'close')]);
    const [c, s] = await Promise.all([firstValueFrom(client.closed$), firstValueFrom(server.closed$)]);
    expect(c.error).toBeUndefined();
    expect(s.error).toBeUndefined();
  });

  it('rejects bad options with ERR_MUX_INVALID_OPTION', async () => {
    const pair = await memoryPairSessions({ keepAlive: false });
    const { client } = await openPair(pair);
    expect(() => toDuplex(client, { readableHighWaterMark: -1 })).toThrow(expect.objectContaining({ code: 'ERR_MUX_INVALID_OPTION' }));
  });
});
