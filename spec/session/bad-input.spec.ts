import {
  createSession,
  Flag,
  FrameType,
  MAX_U32,
  type Channel,
  type MuxError,
  type SessionEnd,
  type SessionOptions,
} from '../../src/index.js';
import { f, virtualPeer, type VirtualPeer } from '../../src/testing.js';
import { header } from '../support/frames.js';
import { at, testScheduler } from '../support/marbles.js';
import { concatBytes } from '../support/bytes.js';

interface Observed {
  peer: VirtualPeer;
  ends: SessionEnd[];
  chErrors: unknown[];
  ch: () => Channel;
}

/** A server session whose peer opens channel 1 at frame 1 (accepted, read by a subscriber that records errors). */
function serverWithChannel(options: Partial<SessionOptions> = {}, read = true): Observed {
  const peer = virtualPeer();
  const session = createSession(peer.carrier, { role: 'server', keepAlive: false, ...options });
  const ends: SessionEnd[] = [];
  const chErrors: unknown[] = [];
  let channel: Channel | undefined;
  session.closed$.subscribe((e) => ends.push(e));
  session.incoming$.subscribe({
    next: (req) => {
      channel = req.accept();
      if (read) channel.incoming$.subscribe({ error: (e) => chErrors.push(e) });
      else channel.closed$.subscribe(({ error }) => chErrors.push(error));
    },
    error: () => undefined, // the same error reaches closed$, checked there
  });
  return { peer, ends, chErrors, ch: () => channel! };
}

function expectProtocolEnd(o: Observed): void {
  expect(o.ends).toHaveLength(1);
  const error = o.ends[0]!.error as MuxError;
  expect(error).toMatchObject({ code: 'ERR_MUX_PROTOCOL', wireCode: 1, remote: false });
  expect(o.chErrors).toEqual([error]);
  expect(o.peer.released).toBe('end');
  expect(o.peer.writesAfterRelease).toBe(0);
}

describe('malformed frames from the peer', () => {
  const cases: [string, Uint8Array][] = [
    ['a version other than 0', header(1, FrameType.Ping, Flag.SYN, 0, 7)],
    ['an unknown frame type', header(0, 4, 0, 0, 0)],
    ['a Ping on a non-zero stream id', header(0, FrameType.Ping, Flag.SYN, 1, 7)],
    ['a GoAway on a non-zero stream id', header(0, FrameType.GoAway, 0, 1, 0)],
    ['a Data frame on stream 0', concatBytes([header(0, FrameType.Data, 0, 0, 3), Uint8Array.of(1, 2, 3)])],
    ['a WindowUpdate on stream 0', header(0, FrameType.WindowUpdate, 0, 0, 100)],
  ];
  for (const [what, bytes] of cases) {
    it(`${what} -> GoAway(1), the carrier is released, the session and its channels end with ERR_MUX_PROTOCOL`, () => {
      let o!: Observed;
      testScheduler().run(({ hot, expectObservable }) => {
        o = serverWithChannel();
        o.peer.feed(hot('-o-x', { o: f.open(1), x: bytes }));
        expectObservable(o.peer.written$).toBe('-a-(g|)', { a: f.accept(1), g: f.goAway(1) });
      });
      expectProtocolEnd(o);
    });
  }
});

describe('oversized frame headers', () => {
  it('a Data header larger than maxReceiveWindow is rejected on its 12 header bytes, before any payload arrives', () => {
    const LIMIT = 1024 * 1024;
    let o!: Observed;
    testScheduler().run(({ hot, expectObservable }) => {
      o = serverWithChannel({ maxReceiveWindow: LIMIT });
      // Only the header: the session must not wait for (or buffer) the payload it announces.
      o.peer.feed(hot('-o-x', { o: f.open(1), x: header(0, FrameType.Data, 0, 1, LIMIT + 1) }));
      expectObservable(o.peer.written$).toBe('-a-(g|)', { a: f.accept(1), g: f.goAway(1) });
    });
    expectProtocolEnd(o);
  });

  it('with the default limit (16 MiB), a 16 MiB + 1 header is rejected on its header bytes', () => {
    let o!: Observed;
    testScheduler().run(({ hot, expectObservable }) => {
      o = serverWithChannel();
      o.peer.feed(hot('-o-x', { o: f.open(1), x: header(0, FrameType.Data, 0, 1, 16 * 1024 * 1024 + 1) }));
      expectObservable(o.peer.written$).toBe('-a-(g|)', { a: f.accept(1), g: f.goAway(1) });
    });
    expectProtocolEnd(o);
  });

  it('an open (Data|SYN) whose header announces more than the initial window is rejected on the header', () => {
    let o!: Observed;
    testScheduler().run(({ hot, expectObservable }) => {
      o = serverWithChannel({ maxMetadata: 16 });
      o.peer.feed(hot('-o-x', { o: f.open(1), x: header(0, FrameType.Data, Flag.SYN, 3, 256 * 1024 + 1) }));
      expectObservable(o.peer.written$).toBe('-a-(g|)', { a: f.accept(1), g: f.goAway(1) });
    });
    expectProtocolEnd(o);
  });
});

describe('receive window', () => {
  it('bytes beyond the receive window -> ERR_MUX_PROTOCOL (window exceeded) and GoAway(1); a full window alone is fine', () => {
    const WINDOW = 256 * 1024;
    let o!: Observed;
    testScheduler().run(({ hot, expectObservable }) => {
      // Nobody reads: no credit goes back, so the peer may send exactly one window.
      o = serverWithChannel({}, false);
      o.peer.feed(hot('-o-w-x', { o: f.open(1), w: f.data(1, new Uint8Array(WINDOW)), x: f.data(1, 'x') }));
      at(hot, 4, () => {
        expect(o.ends).toEqual([]);
        expect(o.ch().stats().bufferedIn).toBe(WINDOW);
      });
      expectObservable(o.peer.written$).toBe('-a---(g|)', { a: f.accept(1), g: f.goAway(1) });
    });
    expectProtocolEnd(o);
    expect((o.ends[0]!.error as MuxError).message).toMatch(/receive window/);
  });
});

describe('send window overflow', () => {
  it('a WindowUpdate that would push our send window past 2^32-1 is a protocol error; up to 2^32-1 is fine', () => {
    const WINDOW = 256 * 1024;
    let o!: Observed;
    testScheduler().run(({ hot, expectObservable }) => {
      o = serverWithChannel();
      o.peer.feed(hot('-o-u-v', { o: f.open(1), u: f.credit(1, MAX_U32 - WINDOW), v: f.credit(1, 1) }));
      at(hot, 4, () => {
        expect(o.ends).toEqual([]);
        expect(o.ch().stats().credit).toBe(MAX_U32);
      });
      expectObservable(o.peer.written$).toBe('-a---(g|)', { a: f.accept(1), g: f.goAway(1) });
    });
    expectProtocolEnd(o);
  });
});

describe('frames for unknown or closed channels', () => {
  it('are dropped and counted in stats().droppedFrames; nothing is written in answer and the session keeps working', () => {
    let dropped = -1;
    let closed = true;
    const accepted: number[] = [];
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false });
      const chs = new Map<number, Channel>();
      session.incoming$.subscribe((req) => {
        const ch = req.accept();
        accepted.push(ch.id);
        chs.set(ch.id, ch);
      });
      peer.feed(hot('-o', { o: f.open(1) }));
      at(hot, 2, () => chs.get(1)!.reset());
      // Channel 1 is closed (reset) by now.
      peer.feed(hot('---(abcd)', { a: f.data(1, 'late'), b: f.credit(1, 100), c: f.fin(1), d: f.reset(1, 9, 'late reset') }));
      // Channel 5 was never opened.
      peer.feed(hot('----(abcd)', { a: f.data(5, 'who?'), b: f.credit(5, 1), c: f.fin(5), d: f.rst(5) }));
      peer.feed(hot('------------s-p', { s: f.open(3), p: f.ping(42) }));
      at(hot, 11, () => {
        expect(session.stats().droppedFrames).toBe(8);
        expect(session.stats().openChannels).toBe(0);
      });
      at(hot, 15, () => {
        dropped = session.stats().droppedFrames;
        closed = session.isClosed;
      });
      expectObservable(peer.written$).toBe('-ar---------b-q', {
        a: f.accept(1),
        r: f.reset(1),
        b: f.accept(3),
        q: f.pong(42),
      });
    });
    expect(dropped).toBe(8);
    expect(closed).toBe(false);
    expect(accepted).toEqual([1, 3]);
  });

  it('frames for a channel closed by FIN in both directions are dropped and counted as well', () => {
    let dropped = -1;
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false });
      session.incoming$.subscribe((req) => {
        const ch = req.accept();
        ch.incoming$.subscribe();
        ch.end();
      });
      peer.feed(hot('-o-f-(abc)', { o: f.open(1), f: f.fin(1), a: f.data(1, 'x'), b: f.credit(1, 5), c: f.rst(1) }));
      at(hot, 10, () => (dropped = session.stats().droppedFrames));
      expectObservable(peer.written$).toBe('-(aF)', { a: f.accept(1), F: f.fin(1) });
    });
    expect(dropped).toBe(3);
  });
});
