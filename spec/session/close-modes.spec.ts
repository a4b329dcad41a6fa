/**
 * Session ends for a host that owns the connection (as js-libp2p does): a close that ends open channels cleanly,
 * the peer's GoAway as an observable, a carrier left to its owner, and eager opens that outlive the open timeout.
 */
import type { Channel, MuxError } from '../../src/index.js';
import { createSession, memoryPair } from '../../src/index.js';
import { f, virtualPeer } from '../../src/testing.js';
import { at, testScheduler } from '../support/marbles.js';

const base = { profile: 'yamux', keepAlive: false, closeTimeout: 0 } as const;
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

describe("close({ channels: 'end' })", () => {
  it('a channel whose peer never sent FIN ends cleanly: buffered bytes stay readable, the reader completes, closed$ has no error', async () => {
    const log: string[] = [];
    let closing: Promise<void> | undefined;
    const ts = testScheduler();
    ts.run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { ...base, role: 'server' });
      let ch!: Channel;
      session.incoming$.subscribe((req) => {
        ch = req.accept();
        ch.closed$.subscribe(({ error }) => log.push(`${ts.now()} closed ${error ? error.code : 'clean'}`));
      });
      peer.feed(hot('-sd', { s: f.syn(1), d: f.data(1, 'unread') }));
      at(hot, 3, () => {
        void ch.write('bye');
        closing = session.close({ channels: 'end' });
      });
      at(hot, 4, () => {
        ch.incoming$.subscribe({ next: (d) => log.push(`read ${text(d)}`), complete: () => log.push('read complete') });
      });
      expectObservable(peer.written$).toBe('-a-(dfg|)', { a: f.ack(1), d: f.data(1, 'bye'), f: f.fin(1), g: f.goAway(0) });
    });
    expect(log).toEqual(['3 closed clean', 'read unread', 'read complete']);
    await expect(closing).resolves.toBeUndefined();
  });

  it('the default still fails such a channel with ERR_MUX_SESSION_CLOSED', () => {
    const log: string[] = [];
    testScheduler().run(({ hot }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { ...base, role: 'server' });
      session.incoming$.subscribe((req) => {
        req.accept().closed$.subscribe(({ error }) => log.push(`closed ${error ? error.code : 'clean'}`));
      });
      peer.feed(hot('-s', { s: f.syn(1) }));
      at(hot, 3, () => void session.close());
    });
    expect(log).toEqual(['closed ERR_MUX_SESSION_CLOSED']);
  });

  it('an eager open still waiting for its answer is ended with FIN, not reset, and closes cleanly', () => {
    const log: string[] = [];
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { ...base, role: 'client', openTimeout: 0 });
      at(hot, 1, () => {
        session.open().subscribe((ch) => {
          void ch.write('early');
          ch.closed$.subscribe(({ error }) => log.push(`closed ${error ? error.code : 'clean'}`));
          void session.close({ channels: 'end' });
        });
      });
      expectObservable(peer.written$).toBe('-(sdfg|)', { s: f.syn(1), d: f.data(1, 'early'), f: f.fin(1), g: f.goAway(0) });
    });
    expect(log).toEqual(['closed clean']);
  });

  it('an unknown channels mode rejects with ERR_MUX_INVALID_ARGUMENT and leaves the session open', async () => {
    const session = createSession(virtualPeer().carrier, { ...base, role: 'client' });
    await expect(session.close({ channels: 'drop' as 'end' })).rejects.toMatchObject({ code: 'ERR_MUX_INVALID_ARGUMENT' });
    expect(session.isClosed).toBe(false);
    session.destroy();
  });
});

describe('peerGoAway$ and peerGoAway', () => {
  it('emits the code of GoAway(0) and completes; the session stays up, new opens fail with ERR_MUX_GOAWAY', () => {
    const log: string[] = [];
    const ts = testScheduler();
    ts.run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { ...base, role: 'client' });
      expectObservable(session.peerGoAway$).toBe('--(0|)', { 0: 0 });
      peer.feed(hot('--g', { g: f.goAway(0) }));
      at(hot, 1, () => log.push(`before ${session.peerGoAway}`));
      at(hot, 3, () => {
        log.push(`after ${session.peerGoAway}, closed ${session.isClosed}`);
        session.peerGoAway$.subscribe((code) => log.push(`late subscriber gets ${code}`));
        session.open().subscribe({ error: (e: MuxError) => log.push(`open ${e.code}`) });
      });
    });
    expect(log).toEqual(['before false', 'after true, closed false', 'late subscriber gets 0', 'open ERR_MUX_GOAWAY']);
  });

  it('a GoAway with an error code is emitted before the session fails; a session ending without one completes it empty', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const failing = virtualPeer();
      const a = createSession(failing.carrier, { ...base, role: 'client' });
      failing.feed(hot('-g', { g: f.goAway(2) }));
      expectObservable(a.peerGoAway$).toBe('-(2|)', { 2: 2 });
      expectObservable(a.closed$.pipe()).toBe('-(e|)', { e: { error: expect.objectContaining({ code: 'ERR_MUX_INTERNAL' }) } });

      const quiet = virtualPeer();
      const b = createSession(quiet.carrier, { ...base, role: 'client' });
      at(hot, 2, () => b.destroy());
      expectObservable(b.peerGoAway$).toBe('--|');
      expect(b.peerGoAway).toBe(false);
    });
  });
});

describe('releaseCarrier: false', () => {
  it('close() and destroy() leave the carrier to its owner: neither ended nor destroyed, nothing written after the end', () => {
    testScheduler().run(({ hot }) => {
      const closed = virtualPeer();
      const destroyed = virtualPeer();
      const kept = virtualPeer();
      const a = createSession(closed.carrier, { ...base, role: 'client', releaseCarrier: false });
      const b = createSession(destroyed.carrier, { ...base, role: 'client', releaseCarrier: false });
      const c = createSession(kept.carrier, { ...base, role: 'client' });
      at(hot, 1, () => {
        void a.close();
        b.destroy();
        c.destroy();
      });
      at(hot, 2, () => {
        expect([a.isClosed, b.isClosed]).toEqual([true, true]);
        expect(closed.released).toBeUndefined();
        expect(destroyed.released).toBeUndefined();
        expect(kept.released).toBe('end');
        expect(closed.written).toEqual([f.goAway(0)]);
        expect(closed.writesAfterRelease + destroyed.writesAfterRelease).toBe(0);
      });
    });
  });

  it('bytes the owner feeds after the session ended are not read', () => {
    testScheduler().run(({ hot }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { ...base, role: 'client', releaseCarrier: false });
      at(hot, 1, () => session.destroy());
      at(hot, 2, () => {
        peer.send(f.ping(9));
        expect(peer.written).toEqual([f.goAway(0)]);
      });
    });
  });
});

describe('eager opens without an open timeout (a yamux peer that answers only with its first frame)', () => {
  it('open({ timeout: 0 }) keeps an unanswered channel usable past 75 s; the default open timeout resets it at 75 s', () => {
    const log: string[] = [];
    const ts = testScheduler();
    ts.run(({ hot }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { ...base, role: 'client' });
      let patient!: Channel;
      at(hot, 1, () => {
        session.open({ timeout: 0 }).subscribe((ch) => {
          patient = ch;
          void ch.write('request');
        });
        session.open().subscribe((ch) => {
          ch.closed$.subscribe(({ error }) => log.push(`${ts.now()} default: ${error?.code}`));
        });
      });
      // The peer answers stream 1 only at 100 s, with data (its ACK rides on its first frame).
      peer.feed(hot('100000ms -r', { r: f.data(1, 'response', 0x2) }));
      at(hot, 90_000, () => log.push(`90 s: ${patient.state}`));
      at(hot, 100_002, () => {
        log.push(`100 s: ${patient.state}`);
        patient.incoming$.subscribe((d) => log.push(`got ${text(d)}`));
      });
    });
    expect(log).toEqual(['75001 default: ERR_MUX_TIMEOUT', '90 s: opening', '100 s: open', 'got response']);
  });
});

describe('two sessions: clean close over a memory pair', () => {
  it("both ends close({ channels: 'end' }) while a channel is open both ways: every closed$ is clean", () => {
    const ends: string[] = [];
    testScheduler().run(({ hot }) => {
      const [ca, cb] = memoryPair({ latency: 2 });
      const a = createSession(ca, { ...base, role: 'client' });
      const b = createSession(cb, { ...base, role: 'server' });
      b.incoming$.subscribe((req) => {
        req.accept().closed$.subscribe(({ error }) => ends.push(`b ${error ? error.code : 'clean'}`));
      });
      at(hot, 1, () => {
        a.open().subscribe((ch) => {
          void ch.write('x');
          ch.closed$.subscribe(({ error }) => ends.push(`a ${error ? error.code : 'clean'}`));
        });
      });
      at(hot, 10, () => {
        void a.close({ channels: 'end' });
        void b.close({ channels: 'end' });
      });
    });
    expect(ends.sort()).toEqual(['a clean', 'b clean']);
  });
});
