import { asapScheduler, firstValueFrom } from 'rxjs';
import { createSession, memoryPair, type Channel, type Session, type SessionOptions } from '../../src/index.js';

const open: Session[] = [];

/**
 * Two sessions over an in-memory pair driven by `asapScheduler`: every delivery runs as a promise job, so once
 * the event loop has turned a few times, whatever can arrive has arrived (no timer in the way). Seeded random
 * chunking, 1 MiB capacity. Call `closePairs()` in afterEach.
 */
export function microtaskPair(options: Omit<SessionOptions, 'role' | 'scheduler'> = {}): { client: Session; server: Session } {
  const [a, b] = memoryPair({ scheduler: asapScheduler, chunkSize: { min: 1, max: 64 * 1024 }, seed: 17, capacity: 1024 * 1024 });
  const client = createSession(a, { keepAlive: false, ...options, role: 'client' });
  const server = createSession(b, { keepAlive: false, ...options, role: 'server' });
  open.push(client, server);
  return { client, server };
}

export function closePairs(): void {
  for (const s of open.splice(0)) if (!s.isClosed) s.destroy();
}

/** Opens one channel from the client and accepts it on the server. */
export async function channelPair(pair: { client: Session; server: Session }): Promise<{ client: Channel; server: Channel }> {
  const accepted = new Promise<Channel>((resolve) => {
    const sub = pair.server.incoming$.subscribe((req) => {
      sub.unsubscribe();
      resolve(req.accept());
    });
  });
  const client = await firstValueFrom(pair.client.open());
  return { client, server: await accepted };
}

/** Yields to the event loop `n` times (promise jobs, nextTicks and pending I/O callbacks run; not a sleep). */
export async function turns(n: number): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
