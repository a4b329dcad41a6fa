/**
 * Soak test: a client and a server session over loopback TCP in one process, thousands of channels opening and
 * closing with seeded random sizes (0 B to 1 MiB) in both directions at once, every byte verified by SHA-256.
 *
 *   tsx scripts/soak.ts [--seconds 60] [--concurrency 32] [--seed 1]
 *
 * Prints one line a second (elapsed, channels done, MiB moved, MiB/s, heap used), then a summary. Exits 0 only when
 * every channel verified both ways, nothing failed, both sessions closed cleanly, and the heap after GC at the end
 * is within max(10 MiB, 20%) of the heap after GC at the start.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createSession, type Channel, type Session } from '../src/index.js';
import { mulberry32 } from '../src/testing.js';
import { socketCarrier } from '../src/carriers/node-socket.js';

const MiB = 1024 * 1024;
const MAX_SIZE = MiB;

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) {
    console.error(`soak: --${name} expects a positive number`);
    process.exit(2);
  }
  return v;
}

const SECONDS = arg('seconds', 60);
const CONCURRENCY = Math.floor(arg('concurrency', 32));
const SEED = Math.floor(arg('seed', 1));

function getGc(): () => void {
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return g;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
const gc = getGc();
function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

const rng = mulberry32(SEED);
/** A pool of seeded random bytes: every channel's payload is a slice of it, so no byte is generated twice. */
const POOL = new Uint8Array(2 * MAX_SIZE);
for (let i = 0; i < POOL.length; i++) POOL[i] = (rng() * 256) | 0;

/** 0 B to 1 MiB, log-uniform, with the edges (0 and exactly 1 MiB) drawn now and then. */
function size(r: () => number): number {
  const x = r();
  if (x < 0.04) return 0;
  if (x < 0.08) return MAX_SIZE;
  return Math.min(MAX_SIZE, Math.floor(2 ** (r() * 20)));
}

interface Plan {
  readonly i: number;
  readonly up: Uint8Array;
  readonly down: Uint8Array;
}

function plan(i: number): Plan {
  const r = mulberry32((SEED * 0x9e3779b1 + i) >>> 0);
  const upSize = size(r);
  const downSize = size(r);
  const upAt = Math.floor(r() * (POOL.length - upSize));
  const downAt = Math.floor(r() * (POOL.length - downSize));
  return { i, up: POOL.subarray(upAt, upAt + upSize), down: POOL.subarray(downAt, downAt + downSize) };
}

const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Writes `bytes` in seeded pieces of 1 B..64 KiB, waiting whenever the channel says so, then closes the write side. */
async function writeAll(ch: Channel, bytes: Uint8Array, seed: number): Promise<void> {
  const r = mulberry32(seed);
  let at = 0;
  while (at < bytes.byteLength) {
    const n = 1 + Math.floor(r() * 64 * 1024);
    await ch.write(bytes.subarray(at, at + n));
    at += n;
  }
  ch.end();
}

/** Reads to the end, hashing as it goes. */
function readAll(ch: Channel): Promise<{ sha: string; bytes: number }> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let n = 0;
    ch.incoming$.subscribe({
      next: (b) => {
        h.update(b);
        n += b.byteLength;
      },
      complete: () => resolve({ sha: h.digest('hex'), bytes: n }),
      error: reject,
    });
  });
}

const counters = { opened: 0, done: 0, serverVerified: 0, clientVerified: 0, failures: 0, bytes: 0 };
const failures: string[] = [];
function fail(what: string): void {
  counters.failures++;
  if (failures.length < 20) failures.push(what);
}

function serve(server: Session): void {
  server.incoming$.subscribe({
    next: (req) => {
      const [index, upSha] = new TextDecoder().decode(req.meta).split(':');
      const p = plan(Number(index));
      const ch = req.accept();
      // Both directions at once: send the download while the upload arrives.
      writeAll(ch, p.down, p.i * 2 + 1).catch((e) => fail(`server write ${p.i}: ${String(e)}`));
      readAll(ch).then(
        ({ sha: got, bytes }) => {
          counters.bytes += bytes;
          if (got === upSha && bytes === p.up.byteLength) counters.serverVerified++;
          else {
            fail(`channel ${p.i}: upload of ${bytes} bytes does not match (want ${p.up.byteLength})`);
            ch.reset(1, 'checksum');
          }
        },
        (e) => fail(`server read ${p.i}: ${String(e)}`),
      );
    },
    error: (e) => fail(`server incoming$: ${String(e)}`),
  });
}

function runChannel(client: Session, i: number): Promise<void> {
  const p = plan(i);
  counters.opened++;
  return new Promise<void>((resolve) => {
    client.open({ meta: `${i}:${sha(p.up)}` }).subscribe({
      next: (ch) => {
        const wrote = writeAll(ch, p.up, i * 2);
        const read = readAll(ch);
        const closed = new Promise<string | undefined>((r) => ch.closed$.subscribe(({ error }) => r(error?.code)));
        Promise.all([wrote, read, closed]).then(
          ([, { sha: got, bytes }, error]) => {
            counters.bytes += bytes;
            if (error) fail(`channel ${i} ended with ${error}`);
            else if (got !== sha(p.down) || bytes !== p.down.byteLength) fail(`channel ${i}: download of ${bytes} bytes does not match`);
            else counters.clientVerified++;
            counters.done++;
            resolve();
          },
          (e) => {
            fail(`channel ${i}: ${String(e)}`);
            counters.done++;
            resolve();
          },
        );
      },
      error: (e) => {
        fail(`open ${i}: ${String(e)}`);
        counters.done++;
        resolve();
      },
    });
  });
}

async function main(): Promise<void> {
  const listener = createServer();
  listener.listen(0, '127.0.0.1');
  await once(listener, 'listening');
  const accepted = once(listener, 'connection');
  const socket = connect((listener.address() as AddressInfo).port, '127.0.0.1');
  await once(socket, 'connect');
  const [serverSocket] = await accepted;
  const client = createSession(socketCarrier(socket), { role: 'client' });
  const server = createSession(socketCarrier(serverSocket), { role: 'server' });
  const ends: string[] = [];
  for (const [name, s] of [
    ['client', client],
    ['server', server],
  ] as const) {
    s.closed$.subscribe(({ error }) => ends.push(`${name}:${error ? error.code : 'clean'}`));
  }
  serve(server);

  const heapStart = heapAfterGc();
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  const mib = (n: number): string => (n / MiB).toFixed(1);
  console.log(`soak: ${SECONDS} s, ${CONCURRENCY} channels at a time, seed ${SEED}, heap at start ${mib(heapStart)} MiB`);

  let lastBytes = 0;
  const ticker = setInterval(() => {
    const elapsed = (performance.now() - started) / 1000;
    const rate = (counters.bytes - lastBytes) / MiB;
    lastBytes = counters.bytes;
    console.log(
      `t=${elapsed.toFixed(0).padStart(4)}s  channels=${String(counters.done).padStart(7)}  MiB=${mib(counters.bytes).padStart(9)}  ` +
        `MiB/s=${rate.toFixed(1).padStart(7)}  heap=${mib(process.memoryUsage().heapUsed).padStart(6)} MiB` +
        (counters.failures ? `  FAILURES=${counters.failures}` : ''),
    );
  }, 1000);

  let next = 0;
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (performance.now() < deadline && counters.failures === 0) await runChannel(client, next++);
    }),
  );
  clearInterval(ticker);
  const seconds = (performance.now() - started) / 1000;

  // The last FINs may still be on the wire: give them up to 5 s, then the sessions are idle with nothing registered,
  // and what is left on the heap is what leaked.
  const settleBy = performance.now() + 5000;
  const count = (): number => client.stats().openChannels + server.stats().openChannels;
  while (count() > 0 && performance.now() < settleBy) await new Promise((r) => setTimeout(r, 10));
  const registered = count();
  const heapEnd = heapAfterGc();
  const allowed = Math.max(10 * MiB, 0.2 * heapStart);
  const heapOk = heapEnd - heapStart <= allowed;

  await client.close();
  await new Promise<void>((r) => (server.isClosed ? r() : server.closed$.subscribe(() => r())));
  socket.destroy();
  serverSocket.destroy();
  listener.close();

  const verified = counters.clientVerified === counters.opened && counters.serverVerified === counters.opened;
  const cleanEnds = ends.sort().join(',') === 'client:clean,server:clean';
  const ok = verified && counters.failures === 0 && heapOk && cleanEnds && registered === 0 && counters.opened > 0;
  for (const f of failures) console.log(`failure: ${f}`);
  console.log(
    `soak: ${ok ? 'PASS' : 'FAIL'} channels=${counters.opened} verified=${Math.min(counters.clientVerified, counters.serverVerified)} ` +
      `failures=${counters.failures} MiB=${mib(counters.bytes)} seconds=${seconds.toFixed(1)} MiB/s=${(counters.bytes / MiB / seconds).toFixed(1)} ` +
      `heapStartMiB=${mib(heapStart)} heapEndMiB=${mib(heapEnd)} heapAllowedGrowthMiB=${mib(allowed)} registered=${registered} ends=${ends.join(',')}`,
  );
  process.exit(ok ? 0 : 1);
}

main().catch((e) => {
  console.error('soak: crashed', e);
  process.exit(1);
});
