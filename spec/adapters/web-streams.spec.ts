/**
 * toWebStreams: a channel as WHATWG ReadableStream / WritableStream, over two sessions on an in-memory pair
 * (real time; streams settle through promise jobs, so the waiting is on events, never on sleeps).
 */
import { createHash } from 'node:crypto';
import { filter, firstValueFrom } from 'rxjs';
import type { Channel, Session } from '../../src/index.js';
import { toWebStreams } from '../../src/web.js';
import { channelPair, closePairs, microtaskPair, turns } from './pair.js';
import { closeAll, memoryPairSessions, SeededBytes } from '../e2e/harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const WINDOW = 256 * KiB;
const HWM = 256 * KiB; // the session's default per-channel high-water mark

afterEach(async () => {
  closePairs();
  await closeAll();
});

function acceptOne(session: Session): Promise<Channel> {
  return new Promise((resolve) => {
    const sub = session.incoming$.subscribe((req) => {
      sub.unsubscribe();
      resolve(req.accept());
    });
  });
}

async function channels(): Promise<{ client: Channel; server: Channel }> {
  const pair = await memoryPairSessions({ keepAlive: false });
  const accepted = acceptOne(pair.server);
  const client = await firstValueFrom(pair.client.open());
  return { client, server: await accepted };
}

const creditZero = (ch: Channel): Promise<number> => firstValueFrom(ch.credit$.pipe(filter((c) => c === 0)));
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

describe('toWebStreams', () => {
  it('the readable takes bytes from the channel only when read: unread, the window stays full and no credit goes back', async () => {
    // Deliveries as promise jobs: after a few event-loop turns, everything that can arrive has arrived.
    // A fixed 256 KiB window (no auto-tuning), so "at most one window" is a fixed number.
    const { client, server } = await channelPair(microtaskPair({ maxReceiveWindow: WINDOW }));
    const data = new SeededBytes(1).next(MiB);
    const writing = client.write(data).then(() => client.end());
    const { readable } = toWebStreams(server);
    const reader = readable.getReader();
    await creditZero(client);
    await turns(20);
    expect(server.stats().bufferedIn).toBe(WINDOW);
    expect(client.stats().credit).toBe(0);
    const first = await reader.read();
    expect(first.done).toBe(false);
    // Exactly the chunk read left the channel.
    expect(server.stats().bufferedIn).toBe(WINDOW - first.value!.byteLength);
    const got = [first.value!];
    for (;;) {
      await turns(1); // a slow reader: one chunk per event-loop turn
      const r = await reader.read();
      if (r.done) break;
      got.push(r.value);
      expect(server.stats().bufferedIn).toBeLessThanOrEqual(WINDOW);
    }
    await writing;
    expect(sha(Buffer.concat(got))).toBe(sha(data));
  });

  it("the writable's desiredSize drops while the channel has no credit, and writer.ready waits for the peer to read", async () => {
    const { client, server } = await channels();
    const { writable } = toWebStreams(client, { writableHighWaterMark: 16 * KiB });
    const writer = writable.getWriter();
    expect(writer.desiredSize).toBe(16 * KiB);
    const chunk = new Uint8Array(16 * KiB).fill(5);
    // One window goes out, one high-water mark waits in the channel: each write is taken at once.
    for (let sent = 0; sent < WINDOW + HWM; sent += chunk.byteLength) {
      await writer.ready;
      void writer.write(chunk);
    }
    await writer.ready;
    expect(client.stats()).toMatchObject({ credit: 0, queuedOut: HWM });
    // The channel's queue is full now: the next chunk stays in the stream.
    void writer.write(chunk);
    void writer.write(chunk);
    await turns(20);
    expect(writer.desiredSize).toBe(-16 * KiB);
    let ready = false;
    void writer.ready.then(() => (ready = true));
    await turns(20);
    expect(ready).toBe(false);
    expect(client.stats()).toMatchObject({ credit: 0, queuedOut: HWM + 16 * KiB });
    let got = 0;
    const complete = new Promise<void>((resolve) => server.incoming$.subscribe({ next: (c) => (got += c.byteLength), complete: resolve }));
    await writer.ready;
    expect(writer.desiredSize).toBe(16 * KiB);
    await writer.close();
    await complete;
    expect(got).toBe(WINDOW + HWM + 2 * 16 * KiB);
  });

  it('pipeTo() from a fast source into a slow consumer on the other side is byte-exact', async () => {
    const { client, server } = await channels();
    const bytes = new SeededBytes(9);
    const total = 3 * MiB + 5;
    const sent = createHash('sha256');
    let produced = 0;
    const source = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (produced >= total) {
          controller.close();
          return;
        }
        const c = bytes.next(Math.min(40 * KiB, total - produced));
        produced += c.byteLength;
        sent.update(c);
        controller.enqueue(c);
      },
    });
    const received = createHash('sha256');
    let got = 0;
    const slow = new WritableStream<Uint8Array>(
      {
        async write(c) {
          await turns(1);
          received.update(c);
          got += c.byteLength;
        },
      },
      { highWaterMark: 1 },
    );
    await Promise.all([source.pipeTo(toWebStreams(client).writable), toWebStreams(server).readable.pipeTo(slow)]);
    expect(got).toBe(total);
    expect(received.digest('hex')).toBe(sent.digest('hex'));
  });

  it('close() sends the FIN: the peer reads every byte, then completion, and the channel ends cleanly', async () => {
    const { client, server } = await channels();
    const writer = toWebStreams(client).writable.getWriter();
    const text: string[] = [];
    const done = new Promise<void>((resolve) =>
      server.incoming$.subscribe({ next: (c) => text.push(Buffer.from(c).toString()), complete: resolve }),
    );
    await writer.write(new TextEncoder().encode('hello '));
    await writer.write(new TextEncoder().encode('world'));
    await writer.close();
    await done;
    expect(text.join('')).toBe('hello world');
    server.end();
    expect((await firstValueFrom(client.closed$)).error).toBeUndefined();
  });

  it("abort() resets the channel: the peer's channel errors with ERR_MUX_RESET", async () => {
    const { client, server } = await channels();
    const peer = new Promise<unknown>((resolve) => server.incoming$.subscribe({ error: resolve }));
    await toWebStreams(client).writable.abort(new Error('no more'));
    expect(await peer).toMatchObject({ code: 'ERR_MUX_RESET', reason: 'writer aborted', remote: true });
  });

  it('cancel() on the readable resets the channel', async () => {
    const { client, server } = await channels();
    const peer = new Promise<unknown>((resolve) => client.incoming$.subscribe({ error: resolve }));
    await toWebStreams(server).readable.cancel();
    expect(await peer).toMatchObject({ code: 'ERR_MUX_RESET', reason: 'reader cancelled' });
  });

  it('a reset from the peer errors the readable and, even while idle, the writable', async () => {
    const { client, server } = await channels();
    const { readable, writable } = toWebStreams(client);
    const writer = writable.getWriter();
    const reader = readable.getReader();
    const readFailed = reader.read().then(
      () => 'read resolved',
      (e: unknown) => e,
    );
    server.reset(3, 'bye');
    expect(await readFailed).toMatchObject({ code: 'ERR_MUX_RESET', wireCode: 3, reason: 'bye' });
    await expect(writer.closed).rejects.toMatchObject({ code: 'ERR_MUX_RESET' });
  });
});
