/**
 * sendFile / receiveFile between two real sessions (in-memory pair in real time, and loopback TCP).
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { asyncScheduler, firstValueFrom, lastValueFrom, toArray } from 'rxjs';
import { createSession, lengthPrefixed, memoryPair, type Carrier, type Channel, type Session } from '../../src/index.js';
import { receiveFile, sendFile, type FileProgress } from '../../src/node.js';
import { closeAll, memoryPairSessions, SeededBytes, tcpPair, type SessionPair } from '../e2e/harness.js';

const KiB = 1024;
const MiB = 1024 * KiB;

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rxmux-files-'));
});
const extraCleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await closeAll();
  await Promise.all(extraCleanups.splice(0).map((c) => c()));
  await rm(dir, { recursive: true, force: true });
});

function acceptOne(session: Session): Promise<Channel> {
  return new Promise((resolve) => {
    const sub = session.incoming$.subscribe((req) => {
      sub.unsubscribe();
      resolve(req.accept());
    });
  });
}

async function openPair(pair: { client: Session; server: Session }): Promise<{ client: Channel; server: Channel }> {
  const accepted = acceptOne(pair.server);
  const client = await firstValueFrom(pair.client.open({ meta: 'upload' }));
  return { client, server: await accepted };
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

async function outcomeOf(progress$: Promise<FileProgress[]>): Promise<{ progress?: FileProgress[]; error?: unknown }> {
  try {
    return { progress: await progress$ };
  } catch (error) {
    return { error };
  }
}

/** A memory pair whose client-to-server direction flips one bit in the first data payload written after `after` bytes. */
function corruptingPair(after: number): { client: Session; server: Session } {
  const [a, b] = memoryPair({ scheduler: asyncScheduler, chunkSize: { min: 1, max: 64 * KiB }, seed: 3, capacity: MiB });
  let written = 0;
  let done = false;
  const corrupting: Carrier = {
    incoming$: a.incoming$,
    drain$: a.drain$,
    end: () => a.end(),
    destroy: (e) => a.destroy(e),
    write: (chunks) => {
      const out = chunks.map((c) => {
        written += c.byteLength;
        // Payload pieces are separate chunks; 12-byte headers and small control frames are never touched.
        if (done || written < after || c.byteLength < 4 * KiB) return c;
        done = true;
        const copy = c.slice();
        copy[100] ^= 0x01;
        return copy;
      });
      return a.write(out);
    },
  };
  const client = createSession(corrupting, { role: 'client', keepAlive: false });
  const server = createSession(b, { role: 'server', keepAlive: false });
  extraCleanups.push(async () => {
    for (const s of [client, server]) if (!s.isClosed) s.destroy();
    await Promise.all([a, b].map((c) => lastValueFrom(c.drain$, { defaultValue: undefined })));
  });
  return { client, server };
}

const CARRIERS: { name: string; connect: () => Promise<SessionPair> }[] = [
  { name: 'memory pair', connect: () => memoryPairSessions({ keepAlive: false }) },
  { name: 'TCP', connect: () => tcpPair({ keepAlive: false }) },
];

describe.each(CARRIERS)('file transfer over $name', ({ connect }) => {
  it('a few MiB arrive intact, the checksum is verified, and both sides report progress along the way', async () => {
    const size = 3 * MiB + 777;
    const data = new SeededBytes(11).next(size);
    const source = join(dir, 'source.bin');
    const target = join(dir, 'target.bin');
    await writeFile(source, data);
    const pair = await connect();
    const { client, server } = await openPair(pair);
    const [sent, got] = await Promise.all([
      lastValueFrom(sendFile(client, source, { chunkSize: 64 * KiB }).pipe(toArray())),
      lastValueFrom(receiveFile(server, target).pipe(toArray())),
    ]);
    expect(sha(await readFile(target))).toBe(sha(data));
    expect(existsSync(`${target}.part`)).toBe(false);
    for (const progress of [sent, got]) {
      expect(progress.length).toBeGreaterThan(1);
      expect(progress.at(-1)).toMatchObject({ bytes: size, total: size, fraction: 1 });
      for (let i = 1; i < progress.length; i++) expect(progress[i]!.bytes).toBeGreaterThan(progress[i - 1]!.bytes);
      for (const p of progress) expect(p.bytesPerSecond).toBeGreaterThan(0);
    }
    expect(sent).toHaveLength(Math.ceil(size / (64 * KiB)));
    const ends = await Promise.all([firstValueFrom(client.closed$), firstValueFrom(server.closed$)]);
    expect(ends.map((e) => e.error)).toEqual([undefined, undefined]);
  });
});

describe('file transfer', () => {
  it('receiving into a missing directory fails with ERR_MUX_INVALID_ARGUMENT naming it; the sender learns why from the reset', async () => {
    const source = join(dir, 'source.bin');
    await writeFile(source, new SeededBytes(3).next(1000));
    const target = join(dir, 'no-such-dir', 'target.bin');
    const { client, server } = await openPair(await memoryPairSessions({ keepAlive: false }));
    const [sent, got] = await Promise.all([
      outcomeOf(lastValueFrom(sendFile(client, source).pipe(toArray()))),
      outcomeOf(lastValueFrom(receiveFile(server, target).pipe(toArray()))),
    ]);
    expect(got.error).toMatchObject({
      code: 'ERR_MUX_INVALID_ARGUMENT',
      message: expect.stringContaining(
        `receiveFile: cannot write ${target}.part: the directory ${join(dir, 'no-such-dir')} does not exist`,
      ),
      cause: expect.objectContaining({ code: 'ENOENT' }),
    });
    expect(sent.error).toMatchObject({ code: 'ERR_MUX_RESET', remote: true, reason: expect.stringContaining('does not exist') });
  });

  it('sending a file that does not exist fails with ERR_MUX_INVALID_ARGUMENT (cause ENOENT) and resets the channel', async () => {
    const { client, server } = await openPair(await memoryPairSessions({ keepAlive: false }));
    const reset = new Promise<unknown>((resolve) => server.incoming$.subscribe({ error: resolve }));
    const missing = join(dir, 'missing.bin');
    const sent = await outcomeOf(lastValueFrom(sendFile(client, missing).pipe(toArray())));
    expect(sent.error).toMatchObject({ code: 'ERR_MUX_INVALID_ARGUMENT', cause: expect.objectContaining({ code: 'ENOENT' }) });
    expect((sent.error as Error).message).toBe(
      `sendFile: cannot read ${missing}: no such file (${((sent.error as Error).cause as Error).message})`,
    );
    expect(await reset).toMatchObject({ code: 'ERR_MUX_RESET', remote: true });
  });

  it('an empty file arrives as an empty file', async () => {
    const source = join(dir, 'empty');
    const target = join(dir, 'empty.out');
    await writeFile(source, new Uint8Array(0));
    const { client, server } = await openPair(await memoryPairSessions({ keepAlive: false }));
    const [sent, got] = await Promise.all([
      lastValueFrom(sendFile(client, source).pipe(toArray())),
      lastValueFrom(receiveFile(server, target).pipe(toArray())),
    ]);
    expect((await readFile(target)).byteLength).toBe(0);
    expect(sent).toEqual([expect.objectContaining({ bytes: 0, total: 0, fraction: 1 })]);
    expect(got).toEqual([expect.objectContaining({ bytes: 0, total: 0, fraction: 1 })]);
  });

  it('a bit flipped in transit is caught: both sides fail with ERR_MUX_CHECKSUM and no file is left behind', async () => {
    const size = 2 * MiB;
    const data = new SeededBytes(12).next(size);
    const source = join(dir, 'source.bin');
    const target = join(dir, 'target.bin');
    await writeFile(source, data);
    const { client, server } = await openPair(corruptingPair(MiB));
    const [sender, receiver] = await Promise.all([
      outcomeOf(lastValueFrom(sendFile(client, source).pipe(toArray()))),
      outcomeOf(lastValueFrom(receiveFile(server, target).pipe(toArray()))),
    ]);
    expect(receiver.error).toMatchObject({ code: 'ERR_MUX_CHECKSUM' });
    expect(sender.error).toMatchObject({ code: 'ERR_MUX_CHECKSUM', remote: true });
    expect(existsSync(target)).toBe(false);
    expect(existsSync(`${target}.part`)).toBe(false);
  });

  it('a sender whose trailer does not match its bytes gets the verdict { ok: false, code: ERR_MUX_CHECKSUM }', async () => {
    const target = join(dir, 'target.bin');
    const { client, server } = await openPair(await memoryPairSessions({ keepAlive: false }));
    const { frame, decode } = lengthPrefixed();
    const json = (v: unknown): Uint8Array => frame(new TextEncoder().encode(JSON.stringify(v)));
    const verdict = firstValueFrom(client.incoming$.pipe(decode));
    const receiving = outcomeOf(lastValueFrom(receiveFile(server, target).pipe(toArray())));
    await client.write(json({ name: 'x', size: 5 }));
    await client.write(Uint8Array.of(1, 2, 3, 4, 5));
    await client.write(json({ sha256: sha(Uint8Array.of(1, 2, 3, 4, 6)) }));
    client.end();
    expect((await receiving).error).toMatchObject({ code: 'ERR_MUX_CHECKSUM' });
    expect(JSON.parse(new TextDecoder().decode(await verdict))).toMatchObject({ ok: false, code: 'ERR_MUX_CHECKSUM' });
    expect(existsSync(target)).toBe(false);
    expect(existsSync(`${target}.part`)).toBe(false);
  });

  it('a stream that ends before the announced size fails with ERR_MUX_DECODE and resets the channel', async () => {
    const target = join(dir, 'target.bin');
    const { client, server } = await openPair(await memoryPairSessions({ keepAlive: false }));
    const { frame } = lengthPrefixed();
    const peerSaw = new Promise<unknown>((resolve) => client.incoming$.subscribe({ error: resolve, complete: () => resolve('completed') }));
    const receiving = outcomeOf(lastValueFrom(receiveFile(server, target).pipe(toArray())));
    await client.write(frame(new TextEncoder().encode(JSON.stringify({ name: 'x', size: 100 }))));
    await client.write(new Uint8Array(40));
    client.end();
    expect((await receiving).error).toMatchObject({ code: 'ERR_MUX_DECODE' });
    expect(await peerSaw).toMatchObject({ code: 'ERR_MUX_RESET', remote: true });
    expect(existsSync(`${target}.part`)).toBe(false);
  });

  it('unsubscribing from sendFile mid-transfer resets the channel; the receiver fails with ERR_MUX_RESET and cleans up', async () => {
    const size = 4 * MiB;
    const source = join(dir, 'source.bin');
    const target = join(dir, 'target.bin');
    await writeFile(source, new SeededBytes(13).next(size));
    const { client, server } = await openPair(await memoryPairSessions({ keepAlive: false }));
    const receiving = outcomeOf(lastValueFrom(receiveFile(server, target).pipe(toArray())));
    await new Promise<void>((resolve) => {
      const sub = sendFile(client, source).subscribe((p) => {
        if (p.bytes >= MiB) {
          sub.unsubscribe();
          resolve();
        }
      });
    });
    // (The reason travels only when the RST fits the peer's window, which a sender in mid-transfer has used up.)
    expect((await receiving).error).toMatchObject({ code: 'ERR_MUX_RESET', remote: true });
    expect(existsSync(target)).toBe(false);
    expect(existsSync(`${target}.part`)).toBe(false);
  });
});
