/**
 * How a session ends, at its edges: what destroy() still writes, what a graceful close leaves a reader whose peer
 * FIN arrived, and what the opener hears when both ends have the same role.
 */
import { createSession, memoryPair, utf8, type Channel, type SessionEnd } from '../../src/index.js';
import { f, virtualPeer } from '../../src/testing.js';
import { testScheduler } from '../support/marbles.js';

describe('ending a session', () => {
  it('destroy() right after reset() in the same turn still writes the RST, then the GoAway', () => {
    testScheduler().run(({ flush }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false });
      let ch!: Channel;
      session.incoming$.subscribe({ next: (req) => (ch = req.accept()), error: () => undefined });
      peer.send(f.open(1));
      flush();
      ch.reset(7, 'bye');
      session.destroy();
      flush();
      expect(peer.written).toEqual([f.accept(1), f.reset(1, 7, 'bye'), f.goAway(0)]);
    });
  });

  it('a graceful close leaves a reader whose peer FIN arrived all its bytes, then completion', () => {
    testScheduler().run(({ flush }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false });
      let ch!: Channel;
      session.incoming$.subscribe({ next: (req) => (ch = req.accept()), error: () => undefined });
      peer.send(f.open(1), f.data(1, 'last words'), f.fin(1));
      void session.close();
      flush();
      peer.end();
      flush();
      expect(session.isClosed).toBe(true);
      const got: string[] = [];
      ch.incoming$.subscribe({
        next: (b) => got.push(utf8(b)),
        complete: () => got.push('complete'),
        error: (e: Error) => got.push(e.message),
      });
      expect(got).toEqual(['last words', 'complete']);
    });
  });

  it('two clients: the first open fails, and the error asks whether both ends are clients', () => {
    testScheduler().run(({ flush }) => {
      const [a, b] = memoryPair();
      const opener = createSession(a, { role: 'client', keepAlive: false });
      const other = createSession(b, { role: 'client', keepAlive: false });
      const ends: SessionEnd[] = [];
      opener.closed$.subscribe((e) => ends.push(e));
      other.closed$.subscribe(() => undefined);
      let openError: Error | undefined;
      opener.open().subscribe({ error: (e: Error) => (openError = e) });
      flush();
      expect(ends[0]!.error).toMatchObject({ code: 'ERR_MUX_PROTOCOL' });
      expect(ends[0]!.error!.message).toContain('are both ends clients?');
      expect(openError?.message).toContain('are both ends clients?');
    });
  });
});
