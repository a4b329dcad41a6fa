/**
 * Resumption over WebSockets (the `ws` package, 127.0.0.1): `websocketSessions()` routes a resuming socket to its
 * suspended session; the client's `resume.reconnect` opens a new WebSocket. The server kills the socket mid-transfer.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { firstValueFrom, mergeMap, type Subscription } from 'rxjs';
import WebSocket, { WebSocketServer } from 'ws';
import { createSession, type Session, type SessionState } from '../../src/index.js';
import { websocketCarrier, websocketSessions } from '../../src/web.js';
import { seededBytes } from '../support/bytes.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

describe('resumption over WebSockets', () => {
  it('a server-side kill of the socket mid-transfer (twice) is resumed; the echo comes back byte-exact', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    cleanups.push(() => {
      for (const c of wss.clients) c.terminate();
      wss.close();
    });
    await once(wss, 'listening');
    const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
    const emitted: Session[] = [];
    const sub: Subscription = websocketSessions(wss, { keepAlive: false, resume: { timeout: 10_000 } })
      .pipe(mergeMap((session) => (emitted.push(session), session.incoming$)))
      .subscribe((request) => {
        const channel = request.accept();
        channel.send(channel).subscribe({ error: () => undefined });
      });
    cleanups.push(() => sub.unsubscribe());

    const session = createSession(websocketCarrier(new WebSocket(url)), {
      role: 'client',
      keepAlive: false,
      resume: { reconnect: () => websocketCarrier(new WebSocket(url)), retryDelay: 20, timeout: 10_000 },
    });
    cleanups.push(() => session.destroy());
    const states: SessionState[] = [];
    session.state$.subscribe((s) => states.push(s));

    const data = seededBytes(4 * 1024 * 1024, 11);
    const channel = await firstValueFrom(session.open());
    const hash = createHash('sha256');
    let got = 0;
    let kills = 0;
    const done = new Promise<void>((resolve, reject) =>
      channel.incoming$.subscribe({
        next: (b) => {
          hash.update(b);
          got += b.byteLength;
          if ((kills === 0 && got > data.byteLength / 3) || (kills === 1 && got > (2 * data.byteLength) / 3)) {
            kills++;
            for (const c of wss.clients) c.terminate();
          }
        },
        complete: resolve,
        error: reject,
      }),
    );
    for (let at = 0; at < data.byteLength; at += 65536) await channel.write(data.subarray(at, at + 65536));
    channel.end();
    await done;
    expect(got).toBe(data.byteLength);
    expect(hash.digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    expect(kills).toBe(2);
    expect(session.stats().resumptions).toBe(2);
    expect(emitted).toHaveLength(1);
    expect(states).toEqual(['connected', 'suspended', 'resumed', 'suspended', 'resumed']);
    const serverEnd = firstValueFrom(emitted[0]!.closed$);
    await session.close();
    expect(await serverEnd).toEqual({ error: undefined });
  }, 60_000);
});
