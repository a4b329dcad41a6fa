/**
 * While our writes are blocked (the peer stopped reading after we saturated the carrier), nothing a peer sends may
 * grow memory without bound: closed channels leave the writer at once, and answers that cannot leave are capped.
 */
import { createSession, type Session } from '../../src/index.js';
import { f, virtualPeer, type VirtualPeer } from '../../src/testing.js';
import { testScheduler } from '../support/marbles.js';
import { heapAfterGc, MiB } from './helpers.js';

const CYCLES = 50_000;

/** A server whose application accepts and reads every open, with its writes blocked. */
function blockedServer(): { peer: VirtualPeer; session: Session; accepted: number[] } {
  const peer = virtualPeer();
  const session = createSession(peer.carrier, { role: 'server', keepAlive: false });
  const accepted: number[] = [];
  session.incoming$.subscribe((req) => {
    const ch = req.accept();
    accepted.push(ch.id);
    ch.incoming$.subscribe({ error: () => undefined });
  });
  // The next write returns false: the peer's ping makes us answer, and from then on we are blocked.
  peer.saturate();
  peer.send(f.ping(1));
  return { peer, session, accepted };
}

describe('a blocked carrier', () => {
  it(`${CYCLES} SYN+RST cycles from the peer while the application accepts: heap stays bounded, and the session works after the drain`, () => {
    testScheduler().run(({ flush }) => {
      const { peer, session, accepted } = blockedServer();
      flush();
      const before = heapAfterGc();
      for (let i = 0; i < CYCLES; i++) {
        const id = 2 * i + 1;
        peer.send(f.open(id), f.reset(id));
      }
      flush();
      const grown = heapAfterGc() - before;
      if (process.env.RXMUX_REPORT) console.log(`heap grown by ${(grown / MiB).toFixed(2)} MiB over ${CYCLES} cycles`);
      // Before closed channels left the writer's ring at once, this grew by ~1.3 KB per cycle (~64 MiB).
      expect(grown).toBeLessThan(4 * MiB);
      const stats = session.stats();
      expect(stats.openChannels).toBe(0);
      // Opens past the answers that can wait (maxOpen + 64 queued while blocked) were refused, their RSTs dropped.
      expect(stats.refusedOpens).toBeGreaterThan(0);
      expect(stats.droppedControl).toBe(stats.refusedOpens);
      expect(accepted.length + stats.refusedOpens).toBe(CYCLES);
      // Drained, the session answers a new open as usual.
      peer.drain();
      flush();
      const id = 2 * CYCLES + 1;
      peer.send(f.open(id));
      flush();
      expect(accepted).toContain(id);
      expect(peer.written.at(-1)).toEqual(f.accept(id));
      expect(session.isClosed).toBe(false);
    });
  });
});
