import { type Channel, createSession, type Session } from '../../src/index.js';
import { at, testScheduler } from '../support/marbles.js';
import { Net } from './net.js';

describe('resume smoke', () => {
  it('a cut mid-transfer is resumed and the bytes arrive whole', () => {
    let got = 0;
    let ended = false;
    const states: string[] = [];
    let client!: Session;
    const ts = testScheduler();
    ts.run(({ hot }) => {
      const net = new Net({ scheduler: ts, latency: 2, chunkSize: 700 }, { keepAlive: false }, (s) => {
        s.incoming$.subscribe((req) => {
          const ch = req.accept();
          ch.incoming$.subscribe({ next: (b) => (got += b.byteLength), complete: () => (ended = true) });
        });
      });
      const conn = net.dial();
      client = createSession(conn.client, {
        role: 'client',
        keepAlive: false,
        scheduler: ts,
        resume: { timeout: 1000, reconnect: net.reconnect, retryDelay: 5 },
      });
      client.state$.subscribe((s) => states.push(s));
      let ch!: Channel;
      client.open({ meta: 'x' }).subscribe((c) => (ch = c));
      at(hot, 10, () => {
        void ch.write(new Uint8Array(100_000).fill(7));
        ch.end();
      });
      at(hot, 11, () => conn.client.cut());
    });
    expect(states).toEqual(['connected', 'suspended', 'resumed']);
    expect(got).toBe(100_000);
    expect(ended).toBe(true);
    expect(client.stats().resumptions).toBe(1);
  });
});
