/**
 * Resumption end to end over TCP (127.0.0.1): `connect()` and `listen()` with `resume` on, through a proxy in the test
 * that cuts the connection mid-transfer: a FIN, an RST, or a silent stall (nothing forwarded, the sockets left open:
 * keep-alive has to notice). 16 channels move 8 MiB each way and must arrive byte-exact (SHA-256) across 10 cuts.
 */
import { createHash, type Hash } from 'node:crypto';
import { type AddressInfo, createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { firstValueFrom, type Subscription } from 'rxjs';
import type { Channel, Session } from '../../src/index.js';
import { connect, listen } from '../../src/node.js';

const CHANNELS = 16;
const BYTES = 8 * 1024 * 1024;
const CHUNK = 64 * 1024;
const CUTS = 10;

/** Chunk `i` of the seeded stream `seed` (xorshift32): the same bytes on both ends, never held whole. */
function chunkOf(seed: number, i: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = (seed * 2654435761 + i * 40503 + 1) | 0 || 1;
  for (let k = 0; k < n; k += 4) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[k] = x;
    out[k + 1] = x >>> 8;
    out[k + 2] = x >>> 16;
    out[k + 3] = x >>> 24;
  }
  return out;
}

function expectedHash(seed: number): string {
  const h = createHash('sha256');
  for (let i = 0; i * CHUNK < BYTES; i++) h.update(chunkOf(seed, i, Math.min(CHUNK, BYTES - i * CHUNK)));
  return h.digest('hex');
}

async function sendStream(ch: Channel, seed: number): Promise<void> {
  for (let i = 0; i * CHUNK < BYTES; i++) await ch.write(chunkOf(seed, i, Math.min(CHUNK, BYTES - i * CHUNK)));
  ch.end();
}

function receiveStream(ch: Channel, onBytes: (n: number) => void): Promise<string> {
  const h: Hash = createHash('sha256');
  return new Promise((resolve, reject) => {
    ch.incoming$.subscribe({
      next: (b) => {
        h.update(b);
        onBytes(b.byteLength);
      },
      complete: () => resolve(h.digest('hex')),
      error: reject,
    });
  });
}

/** A TCP proxy that can break its current connection in three ways. */
class CuttingProxy {
  readonly server: Server;
  private pairs: { down: Socket; up: Socket; stalled: boolean }[] = [];
  forwarded = 0;
  readonly cuts: string[] = [];

  constructor(private readonly target: number) {
    this.server = createServer((down) => {
      const up = tcpConnect({ port: this.target, host: '127.0.0.1' });
      const pair = { down, up, stalled: false };
      this.pairs.push(pair);
      const pipe = (from: Socket, to: Socket): void => {
        from.on('data', (d: Buffer) => {
          if (pair.stalled) return;
          this.forwarded += d.byteLength;
          if (!to.write(d)) {
            from.pause();
            to.once('drain', () => from.resume());
          }
        });
        from.on('end', () => {
          if (!pair.stalled) to.end();
        });
        from.on('close', () => {
          if (!pair.stalled) to.destroy();
        });
        from.on('error', () => undefined);
      };
      pipe(down, up);
      pipe(up, down);
    });
  }

  listen(): Promise<number> {
    return new Promise((resolve) => this.server.listen(0, '127.0.0.1', () => resolve((this.server.address() as AddressInfo).port)));
  }

  /** Breaks the newest live connection. */
  cut(kind: 'fin' | 'rst' | 'stall'): void {
    const pair = [...this.pairs].reverse().find((p) => !p.down.destroyed && !p.stalled);
    if (!pair) return;
    this.cuts.push(kind);
    if (kind === 'fin') {
      pair.stalled = true;
      pair.down.end();
      pair.up.end();
    } else if (kind === 'rst') {
      pair.stalled = true;
      pair.down.resetAndDestroy();
      pair.up.resetAndDestroy();
    } else {
      // Silent: nothing more is forwarded, nobody is told; the sockets go when the sessions let them go.
      pair.stalled = true;
    }
  }

  close(): void {
    for (const p of this.pairs) {
      p.down.destroy();
      p.up.destroy();
    }
    this.server.close();
  }
}

describe('resumption end to end over TCP through a cutting proxy', () => {
  let serverSub: Subscription | undefined;
  let proxy: CuttingProxy | undefined;
  let client: Session | undefined;
  let clientSub: Subscription | undefined;
  afterEach(() => {
    client?.destroy();
    clientSub?.unsubscribe();
    serverSub?.unsubscribe();
    proxy?.close();
  });

  it('16 channels x 8 MiB both ways arrive byte-exact across 10 cuts (FIN, RST, silent stall)', async () => {
    const timing = { keepAliveInterval: 150, keepAliveTimeout: 300, frameTimeout: 20_000 };
    const resume = { timeout: 20_000, retryDelay: 50, maxAttempts: 10_000 };
    const serverDone: Promise<string>[] = [];
    const sessions: Session[] = [];
    let received = 0;
    const kinds = ['fin', 'rst', 'stall'] as const;
    const onBytes = (n: number): void => {
      received += n;
      const next = proxy!.cuts.length + 1;
      if (next <= CUTS && received >= (next * 2 * CHANNELS * BYTES) / (CUTS + 1)) proxy!.cut(kinds[(next - 1) % 3]!);
    };
    const port = await new Promise<number>((resolve, reject) => {
      serverSub = listen({ port: 0, ...timing, resume, onListening: (a) => resolve(a.port) }).subscribe({
        next: (s) => {
          sessions.push(s);
          s.incoming$.subscribe((req) => {
            const ch = req.accept();
            const seed = Number(new TextDecoder().decode(req.meta));
            serverDone.push(receiveStream(ch, onBytes));
            void sendStream(ch, 1000 + seed).catch(() => undefined);
          });
        },
        error: reject,
      });
    });
    proxy = new CuttingProxy(port);
    const proxyPort = await proxy.listen();
    // The subscription is the session's lifetime: keep it.
    client = await new Promise<Session>((resolve, reject) => {
      clientSub = connect({ port: proxyPort, ...timing, resume }).subscribe({ next: resolve, error: reject });
    });
    const states: string[] = [];
    client.state$.subscribe((s) => states.push(s));
    const clientDone: Promise<string>[] = [];
    await Promise.all(
      Array.from({ length: CHANNELS }, async (_, seed) => {
        const ch = await firstValueFrom(client!.open({ meta: String(seed) }));
        clientDone[seed] = receiveStream(ch, onBytes);
        await sendStream(ch, seed);
      }),
    );
    const down = await Promise.all(clientDone);
    const up = await Promise.all(serverDone);
    for (let seed = 0; seed < CHANNELS; seed++) expect(down[seed]).toBe(expectedHash(1000 + seed));
    expect([...up].sort()).toEqual(Array.from({ length: CHANNELS }, (_, seed) => expectedHash(seed)).sort());
    expect(proxy.cuts).toHaveLength(CUTS);
    expect(client.stats().resumptions).toBeGreaterThanOrEqual(CUTS);
    expect(sessions).toHaveLength(1);
    expect(states.filter((s) => s === 'suspended').length).toBe(client.stats().resumptions);
    // The store stayed within its bound (8 MiB default, plus one write batch and frame).
    expect(client.stats().replayPeak).toBeLessThanOrEqual(8 * 1024 * 1024 + 512 * 1024 + 64 * 1024 + 4096);
    // A graceful close on one end closes the other (GoAway, End, the carrier's end), nothing left lingering.
    const serverEnd = firstValueFrom(sessions[0]!.closed$);
    await client.close();
    expect(await serverEnd).toEqual({ error: undefined });
  }, 180_000);
});
