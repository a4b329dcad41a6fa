/**
 * Observables a channel creates on demand start in the channel's state: asked for after the channel closed, they
 * report the end at once (as their docs say) instead of never completing.
 */
import { createSession, type Channel, type ChannelEnd } from '../../src/index.js';
import { f, virtualPeer } from '../../src/testing.js';
import { testScheduler } from '../support/marbles.js';

/** A server channel (id 1) the peer opened and then closed the way `close` says. */
function closedChannel(close: 'reset' | 'both-fin' | 'session-end'): Channel {
  const peer = virtualPeer();
  const session = createSession(peer.carrier, { role: 'server', keepAlive: false });
  let ch!: Channel;
  session.incoming$.subscribe({ next: (req) => (ch = req.accept()), error: () => undefined });
  peer.send(f.open(1));
  ch.incoming$.subscribe({ error: () => undefined });
  if (close === 'reset') peer.send(f.reset(1, 3, 'bye'));
  if (close === 'both-fin') {
    ch.end();
    peer.send(f.fin(1));
  }
  if (close === 'session-end') peer.end();
  return ch;
}

describe.each(['reset', 'both-fin', 'session-end'] as const)('a channel closed by %s', (close) => {
  it('credit$ subscribed afterwards emits the last credit and completes', () => {
    testScheduler().run(({ flush }) => {
      const ch = closedChannel(close);
      flush();
      expect(ch.state).toBe('closed');
      const seen: string[] = [];
      ch.credit$.subscribe({ next: (c) => seen.push(`credit ${c}`), complete: () => seen.push('complete') });
      expect(seen).toEqual([`credit ${ch.stats().credit}`, 'complete']);
    });
  });

  it('closed$ subscribed afterwards emits how it ended and completes', () => {
    testScheduler().run(({ flush }) => {
      const ch = closedChannel(close);
      flush();
      const ends: (ChannelEnd | 'complete')[] = [];
      ch.closed$.subscribe({ next: (e) => ends.push(e), complete: () => ends.push('complete') });
      expect(ends).toHaveLength(2);
      expect(ends[1]).toBe('complete');
      const end = ends[0] as ChannelEnd;
      if (close === 'both-fin') expect(end.error).toBeUndefined();
      else expect(end.error?.code).toBe(close === 'reset' ? 'ERR_MUX_RESET' : 'ERR_MUX_CARRIER');
    });
  });

  it('a second incoming$ reader afterwards completes or errors at once', () => {
    testScheduler().run(({ flush }) => {
      const ch = closedChannel(close);
      flush();
      const seen: string[] = [];
      ch.incoming$.subscribe({ complete: () => seen.push('complete'), error: (e: { code: string }) => seen.push(e.code) });
      expect(seen).toEqual([close === 'both-fin' ? 'complete' : close === 'reset' ? 'ERR_MUX_RESET' : 'ERR_MUX_CARRIER']);
    });
  });
});
