import {
  createSession,
  encodeFrame,
  MuxError,
  utf8,
  type Channel,
  type IncomingChannel,
  type Session,
  type SessionOptions,
} from '../../src/index.js';
import { f, virtualPeer } from '../../src/testing.js';
import { at, testScheduler } from '../support/marbles.js';

type Stats = ReturnType<Session['stats']>;

describe('maxOpen', () => {
  it('past maxOpen our open fails with ERR_MUX_LIMIT and a peer open gets RST; a channel closed by both FINs or by a reset frees its slot', () => {
    const errors: unknown[] = [];
    const accepted: number[] = [];
    let stats: Stats | undefined;
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAlive: false, openTimeout: 0, maxOpen: 2 });
      session.incoming$.subscribe((r) => accepted.push(r.accept().id));
      const channels: Channel[] = [];
      const open = (): void => {
        session.open().subscribe({ next: (ch) => channels.push(ch), error: (e) => errors.push(e) });
      };
      at(hot, 0, () => open());
      at(hot, 1, () => {
        open();
        open(); // the third: refused at once
      });
      at(hot, 5, () => {
        channels[0]!.end();
        open(); // still refused: channel 1 is only half-closed
      });
      at(hot, 7, () => open());
      at(hot, 8, () => channels[1]!.reset(9, 'bye'));
      peer.feed(hot('--xyo-F--PQ', { x: f.accept(1), y: f.accept(3), o: f.open(2, 'hi'), F: f.fin(1), P: f.open(4), Q: f.open(6) }));
      at(hot, 11, () => (stats = session.stats()));
      expectObservable(peer.written$).toBe('ab--rf-dxkq', {
        a: f.open(1),
        b: f.open(3),
        r: f.reset(2, 0, 'too many open channels'),
        f: f.fin(1),
        d: f.open(5),
        x: f.reset(3, 9, 'bye'),
        k: f.accept(4),
        q: f.reset(6, 0, 'too many open channels'),
      });
    });
    expect(errors).toHaveLength(2);
    for (const e of errors) {
      expect(e).toBeInstanceOf(MuxError);
      expect(e).toMatchObject({ code: 'ERR_MUX_LIMIT' });
    }
    expect(accepted).toEqual([4]);
    expect(stats).toMatchObject({ openChannels: 2, refusedOpens: 2, openedLocal: 3, openedRemote: 1 });
  });

  it('yamux profile: a peer open past maxOpen gets a plain WindowUpdate|RST', () => {
    let stats: Stats | undefined;
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', profile: 'yamux', keepAlive: false, maxOpen: 1 });
      session.incoming$.subscribe((r) => r.accept());
      peer.feed(hot('-ab', { a: f.syn(1), b: f.syn(3) }));
      at(hot, 3, () => (stats = session.stats()));
      expectObservable(peer.written$).toBe('-kr', { k: f.ack(1), r: f.rst(3) });
    });
    expect(stats).toMatchObject({ openChannels: 1, refusedOpens: 1 });
  });
});

describe('accept backlog', () => {
  it('inbound opens waiting for an answer are capped at acceptBacklog; past it RST; accepting, rejecting or a peer cancel frees a slot', () => {
    const seen: number[] = [];
    let stats: Stats | undefined;
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false, acceptBacklog: 2 });
      const waiting: IncomingChannel[] = [];
      at(hot, 4, () => {
        // Nobody listened until now: 1 and 3 waited in the backlog. Accept the first, leave the second waiting.
        session.incoming$.subscribe((r) => {
          seen.push(r.id);
          if (r.id === 1) r.accept();
          else waiting.push(r);
        });
      });
      at(hot, 7, () => waiting.find((r) => r.id === 3)!.reject('busy'));
      peer.feed(
        hot('-abc-de-ghik', {
          a: f.open(1),
          b: f.open(3),
          c: f.open(5), // backlog full (1, 3)
          d: f.open(7), // 1 was accepted: fits
          e: f.open(9), // backlog full (3, 7)
          g: f.open(11), // 3 was rejected: fits
          h: f.reset(7, 0, 'gave up'), // the peer cancels 7: its slot frees
          i: f.open(13),
          k: f.open(15), // backlog full (11, 13)
        }),
      );
      at(hot, 12, () => (stats = session.stats()));
      expectObservable(peer.written$).toBe('---rk-Rj---z', {
        r: f.reset(5, 0, 'accept backlog full'),
        k: f.accept(1),
        R: f.reset(9, 0, 'accept backlog full'),
        j: f.reset(3, 0, 'busy'),
        z: f.reset(15, 0, 'accept backlog full'),
      });
    });
    expect(seen).toEqual([1, 3, 7, 11, 13]);
    // 5, 9 and 15 refused for the backlog, 3 rejected by the application.
    expect(stats).toMatchObject({ refusedOpens: 4, openChannels: 3 });
  });
});

describe('metadata size limit (rxmux profile)', () => {
  it('our open with metadata over maxMetadata fails with ERR_MUX_LIMIT before anything is written; exactly maxMetadata is fine', () => {
    const errors: unknown[] = [];
    let writeCallsAfterRefusal = -1;
    testScheduler().run(({ expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAlive: false, openTimeout: 0, maxMetadata: 8 });
      session.open({ meta: '123456789' }).subscribe({ error: (e) => errors.push(e) });
      session.open({ meta: Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9) }).subscribe({ error: (e) => errors.push(e) });
      writeCallsAfterRefusal = peer.writeCalls;
      session.open({ meta: '12345678' }).subscribe({ error: (e) => errors.push(e) });
      expectObservable(peer.written$).toBe('o', { o: f.open(1, '12345678') });
    });
    expect(writeCallsAfterRefusal).toBe(0);
    expect(errors).toHaveLength(2);
    for (const e of errors) expect(e).toMatchObject({ code: 'ERR_MUX_LIMIT' });
  });

  it('a peer open with oversized metadata gets RST with a reason as soon as its header arrives; the payload is skipped unbuffered and the session goes on', () => {
    const events: string[] = [];
    const buffered: number[] = [];
    let stats: Stats | undefined;
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false, maxMetadata: 8 });
      session.incoming$.subscribe((r) => {
        events.push(`open ${r.id} ${utf8(r.meta)}`);
        r.accept().incoming$.subscribe((d) => events.push(`data ${r.id} ${utf8(d)}`));
      });
      const big = encodeFrame(f.open(1, 'x'.repeat(100)));
      peer.feed(
        hot('-hpqod', {
          h: big.subarray(0, 12), // the header alone
          p: big.subarray(12, 62),
          q: big.subarray(62),
          o: f.open(3, 'ok'),
          d: f.data(3, 'after'),
        }),
      );
      at(hot, [2, 3], () => buffered.push(session.stats().bufferedIn));
      at(hot, 6, () => (stats = session.stats()));
      expectObservable(peer.written$).toBe('-r--k', {
        r: f.reset(1, 0, 'metadata of 100 bytes over the limit of 8'),
        k: f.accept(3),
      });
    });
    expect(buffered).toEqual([0, 0]);
    expect(events).toEqual(['open 3 ok', 'data 3 after']);
    expect(stats).toMatchObject({ refusedOpens: 1, openChannels: 1, bufferedIn: 0, openedRemote: 1 });
  });

  it('a reply over maxMetadata fails our open with ERR_MUX_LIMIT and resets the channel (the reason is capped at maxMetadata too)', () => {
    const errors: unknown[] = [];
    let stats: Stats | undefined;
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAlive: false, maxMetadata: 8 });
      session.open().subscribe({ next: () => errors.push('unexpected channel'), error: (e) => errors.push(e) });
      peer.feed(hot('-a', { a: f.accept(1, 'a reply far over the limit') }));
      at(hot, 2, () => (stats = session.stats()));
      expectObservable(peer.written$).toBe('o(r)', { o: f.open(1), r: f.reset(1, 0, 'reply me') });
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'ERR_MUX_LIMIT' });
    expect(stats).toMatchObject({ openChannels: 0, bufferedIn: 0 });
  });
});

describe('option validation', () => {
  const bad: [string, unknown][] = [
    ['an unknown option', { role: 'client', maxStreams: 10 }],
    ['a missing role', { keepAlive: false }],
    ['a bad role', { role: 'peer' }],
    ['a bad profile', { role: 'client', profile: 'http2' }],
    ['a bad overflow strategy', { role: 'client', overflow: 'drop' }],
    ['a negative receive window', { role: 'client', receiveWindow: -1 }],
    ['a receive window under 256 KiB', { role: 'client', receiveWindow: 65536 }],
    ['a max receive window under the receive window', { role: 'client', receiveWindow: 1048576, maxReceiveWindow: 524288 }],
    ['a fractional frame size', { role: 'client', maxFrameSize: 1.5 }],
    ['a NaN quantum', { role: 'client', quantum: Number.NaN }],
    ['a zero keep-alive interval', { role: 'client', keepAliveInterval: 0 }],
    ['a negative open timeout', { role: 'client', openTimeout: -1 }],
    ['a zero maxOpen', { role: 'client', maxOpen: 0 }],
    ['a zero accept backlog', { role: 'client', acceptBacklog: 0 }],
    ['a negative maxMetadata', { role: 'client', maxMetadata: -1 }],
    ['a non-boolean keepAlive', { role: 'client', keepAlive: 'yes' }],
    ['a scheduler that is not one', { role: 'client', scheduler: {} }],
    ['a string number', { role: 'client', highWaterMark: '1024' }],
    ['null options', null],
  ];

  it.each(bad)('createSession throws ERR_MUX_INVALID_OPTION for %s', (_name, options) => {
    const peer = virtualPeer();
    let thrown: unknown;
    try {
      createSession(peer.carrier, options as SessionOptions);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(MuxError);
    expect(thrown).toMatchObject({ code: 'ERR_MUX_INVALID_OPTION' });
    expect(peer.writeCalls).toBe(0);
  });

  it.each([0, -1, Number.NaN, Number.POSITIVE_INFINITY])(
    'open({ weight: %p }) errors with ERR_MUX_INVALID_OPTION and writes nothing',
    (weight) => {
      const errors: unknown[] = [];
      let writeCalls = -1;
      testScheduler().run(() => {
        const peer = virtualPeer();
        const session = createSession(peer.carrier, { role: 'client', keepAlive: false });
        session.open({ weight }).subscribe({ error: (e) => errors.push(e) });
        writeCalls = peer.writeCalls;
      });
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatchObject({ code: 'ERR_MUX_INVALID_OPTION' });
      expect(writeCalls).toBe(0);
    },
  );

  it.each([0, -1, Number.NaN])(
    'accept({ weight: %p }) refuses the open with RST and fails the channel with ERR_MUX_INVALID_OPTION',
    (weight) => {
      const ends: (MuxError | undefined)[] = [];
      let stats: Stats | undefined;
      testScheduler().run(({ hot, expectObservable }) => {
        const peer = virtualPeer();
        const session = createSession(peer.carrier, { role: 'server', keepAlive: false });
        session.incoming$.subscribe((r) => r.accept({ weight }).closed$.subscribe(({ error }) => ends.push(error)));
        peer.feed(hot('-od', { o: f.open(1), d: f.data(1, 'bytes') }));
        at(hot, 3, () => (stats = session.stats()));
        expectObservable(peer.written$).toBe('-r', { r: f.reset(1, 0, 'invalid accept options') });
      });
      expect(ends).toHaveLength(1);
      expect(ends[0]).toMatchObject({ code: 'ERR_MUX_INVALID_OPTION' });
      expect(stats).toMatchObject({ openChannels: 0, droppedFrames: 1 });
    },
  );
});
