import { createSession, type IncomingChannel, type Channel } from '../../src/index.js';
import { f, virtualPeer } from '../../src/testing.js';
import { testScheduler } from '../support/marbles.js';

describe('open and accept (rxmux profile)', () => {
  it('the acceptor sees the opener metadata before any data, and its reply metadata reaches the opener', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false });
      const seen: string[] = [];
      session.incoming$.subscribe((req: IncomingChannel) => {
        seen.push(`meta:${new TextDecoder().decode(req.meta)}`);
        const ch = req.accept({ meta: 'welcome' });
        ch.incoming$.subscribe((d) => seen.push(`data:${new TextDecoder().decode(d)}`));
      });
      peer.feed(hot('-o-d-', { o: f.open(1, 'hello'), d: f.data(1, 'payload') }));
      expectObservable(peer.written$).toBe('-a---', { a: f.accept(1, 'welcome') });
      hot('----x').subscribe(() => expect(seen).toEqual(['meta:hello', 'data:payload']));
    });
  });

  it('open emits the channel only when the ACK arrives, with the reply metadata', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAlive: false });
      const channel$ = session.open({ meta: 'files/a' });
      const result: Channel[] = [];
      hot('-s').subscribe(() => channel$.subscribe((c) => result.push(c)));
      peer.feed(hot('---a', { a: f.accept(1, 'ok') }));
      expectObservable(peer.written$).toBe('-o', { o: f.open(1, 'files/a') });
      hot('--x-y').subscribe((v) => {
        if (v === 'x') expect(result).toHaveLength(0);
        else {
          expect(result).toHaveLength(1);
          expect(new TextDecoder().decode(result[0]!.replyMeta)).toBe('ok');
          expect(result[0]!.id).toBe(1);
        }
      });
    });
  });
});
