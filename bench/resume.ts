/**
 * The time a resume takes over loopback TCP: a client streams on one channel through a proxy that resets the
 * connection (RST) every `--every` ms; for each cut, the time from the new carrier (the reconnect's socket connected)
 * to the first replayed byte at the server's channel. Prints median, min and max over `--cuts` cuts (default 20).
 *
 *   tsx bench/resume.ts [--cuts 20] [--every 100]
 */
import { type AddressInfo, createServer, type Socket, connect as tcpConnect } from 'node:net';
import { performance } from 'node:perf_hooks';
import { firstValueFrom } from 'rxjs';
import type { Carrier, Session } from '../src/index.js';
import { connect, listen, socketCarrier } from '../src/node.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const CUTS = arg('cuts', 20);
const EVERY = arg('every', 100);

async function main(): Promise<void> {
  let resumedAt = -1;
  const samples: number[] = [];
  let newCarrierAt = -1;
  let server!: Session;
  const port = await new Promise<number>((resolve) => {
    listen({ port: 0, resume: true, onListening: (a) => resolve(a.port) }).subscribe((s) => {
      server = s;
      s.state$.subscribe((st) => {
        if (st === 'resumed') resumedAt = performance.now();
      });
      s.incoming$.subscribe((req) =>
        req.accept().incoming$.subscribe(() => {
          if (resumedAt < 0 || newCarrierAt < 0) return;
          samples.push(performance.now() - newCarrierAt);
          resumedAt = newCarrierAt = -1;
        }),
      );
    });
  });
  const live = new Set<Socket>();
  const proxy = createServer((down) => {
    const up = tcpConnect({ port, host: '127.0.0.1' });
    live.add(down);
    live.add(up);
    down.on('close', () => live.delete(down));
    up.on('close', () => live.delete(up));
    for (const s of [down, up]) s.on('error', () => undefined);
    down.pipe(up).pipe(down);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  const proxyPort = (proxy.address() as AddressInfo).port;
  const reconnect = (): Promise<Carrier> =>
    new Promise((resolve, reject) => {
      const socket = tcpConnect({ port: proxyPort, host: '127.0.0.1' }, () => {
        newCarrierAt = performance.now();
        resolve(socketCarrier(socket));
      });
      socket.once('error', reject);
    });
  const client = await new Promise<Session>((resolve) =>
    connect({ port: proxyPort, resume: { reconnect, retryDelay: 1 } }).subscribe({
      next: (s) => resolve(s),
      error: (e) => console.error(e),
    }),
  );
  const channel = await firstValueFrom(client.open());
  const chunk = new Uint8Array(16 * 1024);
  let writing = true;
  const writer = (async () => {
    while (writing) await channel.write(chunk);
  })();
  for (let i = 0; i < CUTS; i++) {
    await new Promise((r) => setTimeout(r, EVERY));
    for (const s of live) s.resetAndDestroy();
  }
  await new Promise((r) => setTimeout(r, EVERY));
  writing = false;
  await writer.catch(() => undefined);
  channel.end();
  await client.close();
  void server;
  proxy.close();
  samples.sort((a, b) => a - b);
  const med = samples[Math.floor(samples.length / 2)] ?? Number.NaN;
  console.log(
    `resume: new carrier to first replayed byte, ${samples.length} of ${CUTS} cuts: median ${med.toFixed(2)} ms (min ${samples[0]?.toFixed(2)}, max ${samples.at(-1)?.toFixed(2)}); resumptions ${client.stats().resumptions}, replayed ${client.stats().replayedBytes} bytes`,
  );
  process.exit(0);
}

void main();
