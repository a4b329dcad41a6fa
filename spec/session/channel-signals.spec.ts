/**
 * What a channel tells a message-oriented or event-driven user without a promise: write boundaries kept on the wire
 * (`preserveWrites`), the synchronous back-pressure answer (`desiredSize`) with its `drain$`, and `flushed$` once
 * the queued bytes and the FIN have left.
 */
import type { Channel, MuxError } from '../../src/index.js';
import { createSession } from '../../src/index.js';
import { f, virtualPeer } from '../../src/testing.js';
import { seededBytes } from '../support/bytes.js';
import { at, testScheduler } from '../support/marbles.js';

const base = { role: 'server', profile: 'yamux', keepAlive: false, openTimeout: 0, closeTimeout: 0 } as const;

describe('preserveWrites: one write, one frame', () => {
  it('by default two writes of one turn leave as one Data frame; with the session option as two', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const merged = virtualPeer();
      const kept = virtualPeer();
      for (const [peer, preserveWrites] of [
        [merged, false],
        [kept, true],
      ] as const) {
        const session = createSession(peer.carrier, { ...base, preserveWrites });
        session.incoming$.subscribe((req) => {
          const ch = req.accept();
          void ch.write(new Uint8Array([0, 1, 2, 3, 4]));
          void ch.write(new Uint8Array([5, 6, 7, 8, 9]));
          ch.end();
        });
        peer.feed(hot('-s', { s: f.syn(1) }));
      }
      expectObservable(merged.written$).toBe('-(adf)', {
        a: f.ack(1),
        d: f.data(1, new Uint8Array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9])),
        f: f.fin(1),
      });
      expectObservable(kept.written$).toBe('-(adef)', {
        a: f.ack(1),
        d: f.data(1, new Uint8Array([0, 1, 2, 3, 4])),
        e: f.data(1, new Uint8Array([5, 6, 7, 8, 9])),
        f: f.fin(1),
      });
    });
  });

  it('the channel property overrides the session default, and a write larger than the credit is still cut', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { ...base, role: 'client', maxFrameSize: 2048 });
      const big = seededBytes(3000, 7);
      at(hot, 1, () => {
        session.open().subscribe((ch) => {
          expect(ch.preserveWrites).toBe(false);
          ch.preserveWrites = true;
          void ch.write(big);
          void ch.write('gh');
        });
      });
      // maxFrameSize cuts the first write; the second is never joined to its tail.
      expectObservable(peer.written$).toBe('-(sabc)', {
        s: f.syn(1),
        a: f.data(1, big.subarray(0, 2048)),
        b: f.data(1, big.subarray(2048)),
        c: f.data(1, 'gh'),
      });
    });
  });

  it('a non-boolean preserveWrites is refused with ERR_MUX_INVALID_ARGUMENT; a bad session option with ERR_MUX_INVALID_OPTION', () => {
    const peer = virtualPeer();
    expect(() => createSession(peer.carrier, { ...base, preserveWrites: 'yes' as unknown as boolean })).toThrow(
      expect.objectContaining({ code: 'ERR_MUX_INVALID_OPTION' }),
    );
    testScheduler().run(({ hot }) => {
      const session = createSession(virtualPeer().carrier, { ...base, role: 'client' });
      at(hot, 1, () => {
        session.open().subscribe((ch) => {
          expect(() => {
            ch.preserveWrites = 1 as unknown as boolean;
          }).toThrow(expect.objectContaining({ code: 'ERR_MUX_INVALID_ARGUMENT' }));
        });
      });
    });
  });
});

describe('desiredSize and drain$: back-pressure without a promise', () => {
  it('desiredSize falls with queued bytes the peer has no credit for; drain$ emits once credit takes them under the mark', () => {
    const log: string[] = [];
    testScheduler().run(({ hot }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { ...base, highWaterMark: 8 });
      let ch!: Channel;
      session.incoming$.subscribe((req) => {
        ch = req.accept();
      });
      // The peer opened with a window of 256 KiB: use it all up first, so later writes stay queued.
      peer.feed(hot('-s--c', { s: f.syn(1), c: f.credit(1, 10) }));
      at(hot, 2, () => {
        void ch.write(new Uint8Array(256 * 1024));
        log.push(`credit used, desiredSize ${ch.desiredSize}`);
        void ch.write('0123456789');
        log.push(`after 10 queued bytes, desiredSize ${ch.desiredSize}`);
        ch.drain$.subscribe({ next: () => log.push(`drain at ${ch.desiredSize}`), complete: () => log.push('drain complete') });
      });
      at(hot, 3, () => log.push(`still ${ch.desiredSize}`));
      at(hot, 5, () => {
        log.push(`after credit ${ch.desiredSize}`);
        ch.drain$.subscribe(() => log.push('at once'));
      });
    });
    expect(log).toEqual([
      'credit used, desiredSize 8',
      'after 10 queued bytes, desiredSize -2',
      'still -2',
      'drain at 8',
      'drain complete',
      'after credit 8',
      'at once',
    ]);
  });

  it('drain$ errors with ERR_MUX_RESET when the channel is reset while full', () => {
    const log: string[] = [];
    testScheduler().run(({ hot }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { ...base, highWaterMark: 4 });
      let ch!: Channel;
      session.incoming$.subscribe((req) => {
        ch = req.accept();
      });
      peer.feed(hot('-s--r', { s: f.syn(1), r: f.rst(1) }));
      at(hot, 2, () => {
        void ch.write(new Uint8Array(256 * 1024)).catch(() => undefined);
        void ch.write('0123456789').catch(() => undefined);
        ch.drain$.subscribe({ next: () => log.push('drain'), error: (e: MuxError) => log.push(`error ${e.code}`) });
      });
    });
    expect(log).toEqual(['error ERR_MUX_RESET']);
  });
});

describe('flushed$: the queued bytes and the FIN have left', () => {
  it('emits when the last queued byte and then the FIN are taken by the writer, not before', () => {
    const log: string[] = [];
    const ts = testScheduler();
    ts.run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { ...base, maxFrameSize: 256 * 1024 });
      let ch!: Channel;
      session.incoming$.subscribe((req) => {
        ch = req.accept();
        ch.flushed$.subscribe(() => log.push(`${ts.now()} nothing queued yet`));
      });
      // The peer's window is used up by the first write; its WindowUpdate at frame 4 lets the rest and the FIN go.
      peer.feed(hot('-s--c', { s: f.syn(1), c: f.credit(1, 3) }));
      at(hot, 2, () => {
        void ch.write(new Uint8Array(256 * 1024));
        void ch.write('abc');
        ch.end();
        ch.flushed$.subscribe({ next: () => log.push(`${ts.now()} flushed, writeClosed ${ch.stats().writeClosed}`) });
      });
      expectObservable(peer.written$).toBe('-ab-(cf)', {
        a: f.ack(1),
        b: f.data(1, new Uint8Array(256 * 1024)),
        c: f.data(1, 'abc'),
        f: f.fin(1),
      });
    });
    expect(log).toEqual(['1 nothing queued yet', '4 flushed, writeClosed true']);
  });

  it('errors with the channel error when the channel is reset with bytes still queued', () => {
    const log: string[] = [];
    testScheduler().run(({ hot }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, base);
      let ch!: Channel;
      session.incoming$.subscribe((req) => {
        ch = req.accept();
      });
      peer.feed(hot('-s--r', { s: f.syn(1), r: f.rst(1) }));
      at(hot, 2, () => {
        void ch.write(new Uint8Array(256 * 1024 + 1)).catch(() => undefined);
        ch.flushed$.subscribe({ next: () => log.push('flushed'), error: (e: MuxError) => log.push(`error ${e.code}`) });
      });
    });
    expect(log).toEqual(['error ERR_MUX_RESET']);
  });
});
