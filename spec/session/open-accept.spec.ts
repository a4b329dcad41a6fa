import { takeUntil } from 'rxjs';
import {
  createSession,
  MuxError,
  utf8,
  type Channel,
  type Frame,
  type IncomingChannel,
  type Session,
  type SessionEnd,
} from '../../src/index.js';
import { f, memoryPair, virtualPeer, type VirtualPeer } from '../../src/testing.js';
import { at, testScheduler } from '../support/marbles.js';

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
      at(hot, 4, () => expect(seen).toEqual(['meta:hello', 'data:payload']));
    });
  });

  it('open emits the channel only when the ACK arrives, with the reply metadata', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAlive: false });
      const channel$ = session.open({ meta: 'files/a' });
      const result: Channel[] = [];
      at(hot, 1, () => channel$.subscribe((c) => result.push(c)));
      peer.feed(hot('---a', { a: f.accept(1, 'ok') }));
      expectObservable(peer.written$).toBe('-o', { o: f.open(1, 'files/a') });
      at(hot, 2, () => expect(result).toHaveLength(0));
      at(hot, 4, () => {
        expect(result).toHaveLength(1);
        expect(new TextDecoder().decode(result[0]!.replyMeta)).toBe('ok');
        expect(result[0]!.id).toBe(1);
      });
    });
  });
});

type Profile = 'rxmux' | 'yamux';

/** The open / accept / refuse frames of each wire profile, for tests that run under both. */
const wire = {
  rxmux: {
    open: (id: number) => f.open(id),
    accept: (id: number) => f.accept(id),
    refused: (id: number, reason: string) => f.reset(id, 0, reason),
  },
  yamux: {
    open: (id: number) => f.syn(id),
    accept: (id: number) => f.ack(id),
    refused: (id: number, _reason: string) => f.rst(id),
  },
} as const;

const PROFILES: Profile[] = ['rxmux', 'yamux'];
const text = (b: Uint8Array): string => utf8(b);
const ignore = (): void => undefined;

describe('open metadata (rxmux profile)', () => {
  it('binary open metadata reaches the acceptor byte for byte, and binary reply metadata reaches the opener', () => {
    const openMeta = Uint8Array.of(0x00, 0xff, 0x0a, 0x80, 0x7f);
    const replyMeta = Uint8Array.of(0xfe, 0x00, 0x01);
    const seen: { reqMeta?: Uint8Array; acceptedMeta?: Uint8Array; replyMeta?: Uint8Array; openerMeta?: Uint8Array } = {};
    testScheduler().run(({ flush }) => {
      const [a, b] = memoryPair({ latency: 2 });
      const client = createSession(a, { role: 'client', keepAlive: false });
      const server = createSession(b, { role: 'server', keepAlive: false });
      server.incoming$.subscribe((req) => {
        seen.reqMeta = req.meta.slice();
        seen.acceptedMeta = req.accept({ meta: replyMeta }).meta.slice();
      });
      client.open({ meta: openMeta }).subscribe((ch) => {
        seen.replyMeta = ch.replyMeta.slice();
        seen.openerMeta = ch.meta.slice();
      });
      flush();
    });
    expect(seen.reqMeta).toEqual(openMeta);
    expect(seen.acceptedMeta).toEqual(openMeta);
    expect(seen.replyMeta).toEqual(replyMeta);
    expect(seen.openerMeta).toEqual(openMeta);
  });

  it('with a receive window above 256 KiB, the open and the accept carry their metadata, then grant the extra window', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAlive: false, openTimeout: 0, receiveWindow: 1024 * 1024 });
      session.incoming$.subscribe((req) => req.accept({ meta: 'r' }));
      session.open({ meta: 'm' }).subscribe();
      peer.feed(hot('-----o', { o: f.open(2, 'x') }));
      expectObservable(peer.written$).toBe('(ab) -(cd)', {
        a: f.open(1, 'm'),
        b: f.credit(1, 768 * 1024),
        c: f.accept(2, 'r'),
        d: f.credit(2, 768 * 1024),
      });
    });
  });
});

describe('answering an open later (async accept)', () => {
  it('bytes the peer sent right after its SYN wait, intact and in order, and reach the reader once we accept', () => {
    const ts = testScheduler();
    const events: string[] = [];
    const buffered: number[] = [];
    ts.run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false });
      let req: IncomingChannel | undefined;
      session.incoming$.subscribe((r) => {
        req = r;
        events.push(`${ts.now()} open ${r.id} ${text(r.meta)}`);
      });
      peer.feed(hot('-odeg', { o: f.open(1, 'job'), d: f.data(1, 'first '), e: f.data(1, 'second '), g: f.data(1, 'third') }));
      at(hot, 5, () => buffered.push(session.stats().bufferedIn));
      at(hot, 8, () => {
        const ch = req!.accept({ meta: 'later' });
        ch.incoming$.subscribe((d) => events.push(`${ts.now()} data ${text(d)}`));
        buffered.push(session.stats().bufferedIn);
      });
      expectObservable(peer.written$).toBe('--------a', { a: f.accept(1, 'later') });
    });
    // A byte stream: buffered chunks may be delivered joined, but every byte arrives, in order, at the accept.
    expect(events[0]).toBe('1 open 1 job');
    expect(events.slice(1).every((e) => e.startsWith('8 data '))).toBe(true);
    expect(
      events
        .slice(1)
        .map((e) => e.slice('8 data '.length))
        .join(''),
    ).toBe('first second third');
    expect(buffered).toEqual(['first second third'.length, 0]);
  });

  it('the opener gets its channel only when the late answer arrives; bytes the acceptor writes right away follow it', () => {
    const ts = testScheduler();
    const events: string[] = [];
    ts.run(({ hot, flush }) => {
      const [a, b] = memoryPair({ latency: 5 });
      const client = createSession(a, { role: 'client', keepAlive: false });
      const server = createSession(b, { role: 'server', keepAlive: false });
      let req: IncomingChannel | undefined;
      server.incoming$.subscribe((r) => {
        req = r;
        events.push(`${ts.now()} server sees open ${r.id}`);
      });
      client.open({ meta: 'q' }).subscribe((ch) => {
        events.push(`${ts.now()} client channel ${ch.id} ready, reply ${text(ch.replyMeta)}`);
        ch.incoming$.subscribe((d) => events.push(`${ts.now()} client reads ${text(d)}`));
      });
      at(hot, 20, () => {
        const ch = req!.accept({ meta: 'ok' });
        void ch.write('right after accept');
        events.push(`${ts.now()} server accepts`);
      });
      flush();
    });
    expect(events).toEqual([
      '5 server sees open 1',
      '20 server accepts',
      '25 client channel 1 ready, reply ok',
      '25 client reads right after accept',
    ]);
  });
});

describe('rejecting an open', () => {
  it('a reject with a reason and code fails the open with ERR_MUX_REJECTED carrying both; nothing is left registered', () => {
    const errors: unknown[] = [];
    let stats: ReturnType<Session['stats']> | undefined;
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAlive: false });
      session.open({ meta: 'files/x' }).subscribe({ next: () => errors.push('unexpected channel'), error: (e) => errors.push(e) });
      peer.feed(hot('---r', { r: f.reset(1, 404, 'not found') }));
      at(hot, 4, () => (stats = session.stats()));
      expectObservable(peer.written$).toBe('o', { o: f.open(1, 'files/x') });
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(MuxError);
    expect(errors[0]).toMatchObject({ code: 'ERR_MUX_REJECTED', reason: 'not found', wireCode: 404, remote: true });
    expect(stats).toMatchObject({ openChannels: 0, openedLocal: 1 });
  });

  it('the acceptor rejecting later sends Data|RST with its code and reason, drops what the peer sent meanwhile, and keeps no channel', () => {
    let before: ReturnType<Session['stats']> | undefined;
    let after: ReturnType<Session['stats']> | undefined;
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false });
      let req: IncomingChannel | undefined;
      session.incoming$.subscribe((r) => (req = r));
      peer.feed(hot('-od---l', { o: f.open(1, 'upload'), d: f.data(1, 'early bytes'), l: f.data(1, 'late bytes') }));
      at(hot, 3, () => (before = session.stats()));
      at(hot, 5, () => req!.reject('busy', 503));
      at(hot, 7, () => (after = session.stats()));
      expectObservable(peer.written$).toBe('-----r', { r: f.reset(1, 503, 'busy') });
    });
    expect(before).toMatchObject({ openChannels: 1, bufferedIn: 11 });
    expect(after).toMatchObject({ openChannels: 0, bufferedIn: 0, refusedOpens: 1, droppedFrames: 1 });
  });

  it('yamux profile: a reject is a plain WindowUpdate|RST carrying the code, and the opener sees ERR_MUX_REJECTED without a reason', () => {
    const errors: unknown[] = [];
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', profile: 'yamux', keepAlive: false });
      session.incoming$.subscribe((r) => r.reject('busy', 7));
      session.open({ waitForAccept: true }).subscribe({ error: (e) => errors.push(e) });
      peer.feed(hot('-or', { o: f.syn(2), r: f.rst(1) }));
      expectObservable(peer.written$).toBe('ox', { o: f.syn(1), x: f.rst(2, 7) });
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'ERR_MUX_REJECTED', wireCode: 0, reason: undefined, remote: true });
  });

  it('both ends: the opener errors with the reason and code, and neither session keeps a channel', () => {
    const errors: unknown[] = [];
    const rejected: string[] = [];
    let clientStats: ReturnType<Session['stats']> | undefined;
    let serverStats: ReturnType<Session['stats']> | undefined;
    testScheduler().run(({ flush }) => {
      const [a, b] = memoryPair({ latency: 3 });
      const client = createSession(a, { role: 'client', keepAlive: false });
      const server = createSession(b, { role: 'server', keepAlive: false });
      server.incoming$.subscribe((req) => {
        rejected.push(text(req.meta));
        req.reject('quota exceeded', 429);
      });
      client.open({ meta: 'big-upload' }).subscribe({ error: (e) => errors.push(e) });
      flush();
      clientStats = client.stats();
      serverStats = server.stats();
    });
    expect(rejected).toEqual(['big-upload']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'ERR_MUX_REJECTED', reason: 'quota exceeded', wireCode: 429, remote: true });
    expect(clientStats).toMatchObject({ openChannels: 0, openedLocal: 1 });
    expect(serverStats).toMatchObject({ openChannels: 0, openedRemote: 1, refusedOpens: 1 });
  });
});

describe('stream ids', () => {
  describe.each(PROFILES)('%s profile', (profile) => {
    it.each([
      ['client', 1],
      ['server', 2],
    ] as const)('a %s numbers its opens %i, +2, +2', (role, first) => {
      testScheduler().run(({ hot, expectObservable }) => {
        const peer = virtualPeer();
        const session = createSession(peer.carrier, { role, profile, keepAlive: false, openTimeout: 0 });
        at(hot, [0, 1, 2], () => session.open().subscribe());
        expectObservable(peer.written$).toBe('abc', {
          a: wire[profile].open(first),
          b: wire[profile].open(first + 2),
          c: wire[profile].open(first + 4),
        });
      });
    });
  });

  it('opens from both ends pair up: client-opened ids are 1, 3, 5 on both sides, server-opened ids 2, 4, 6', () => {
    const ids = { clientOpened: [] as number[], serverSaw: [] as number[], serverOpened: [] as number[], clientSaw: [] as number[] };
    testScheduler().run(({ hot, flush }) => {
      const [a, b] = memoryPair({ latency: 1 });
      const client = createSession(a, { role: 'client', keepAlive: false });
      const server = createSession(b, { role: 'server', keepAlive: false });
      client.incoming$.subscribe((r) => ids.clientSaw.push(r.accept().id));
      server.incoming$.subscribe((r) => ids.serverSaw.push(r.accept().id));
      at(hot, [0, 2, 4], () => {
        client.open().subscribe((ch) => ids.clientOpened.push(ch.id));
        server.open().subscribe((ch) => ids.serverOpened.push(ch.id));
      });
      flush();
    });
    expect(ids).toEqual({ clientOpened: [1, 3, 5], serverSaw: [1, 3, 5], serverOpened: [2, 4, 6], clientSaw: [2, 4, 6] });
  });

  describe.each(PROFILES)(
    'a peer breaking the id rules (%s profile) gets GoAway(1) and the session ends with ERR_MUX_PROTOCOL',
    (profile) => {
      const w = wire[profile];

      /** Feeds the peer's frames to a client session; expects the frames written, a protocol-error end, and how each accepted channel ended. */
      function expectProtocolEnd(
        peerMarble: string,
        peerValues: Record<string, Frame>,
        writtenMarble: string,
        writtenValues: Record<string, Frame>,
        channelEnds: string[],
      ): void {
        let end: SessionEnd | undefined;
        const channelErrors: unknown[] = [];
        let peer: VirtualPeer | undefined;
        testScheduler().run(({ hot, expectObservable }) => {
          peer = virtualPeer();
          const session = createSession(peer.carrier, { role: 'client', profile, keepAlive: false });
          session.incoming$.subscribe({
            next: (r) => r.accept().closed$.subscribe(({ error }) => channelErrors.push(error)),
            error: ignore,
          });
          session.closed$.subscribe((e) => (end = e));
          peer.feed(hot(peerMarble, peerValues));
          expectObservable(peer.written$).toBe(writtenMarble, writtenValues);
        });
        expect(end?.error).toBeInstanceOf(MuxError);
        expect(end?.error).toMatchObject({ code: 'ERR_MUX_PROTOCOL', wireCode: 1, remote: false });
        expect(peer!.released).toBe('end');
        expect(peer!.writesAfterRelease).toBe(0);
        expect(channelErrors.map((e) => (e as MuxError | undefined)?.code)).toEqual(channelEnds);
      }

      it('an open with our own (client, odd) id parity', () => {
        expectProtocolEnd('-o', { o: w.open(1) }, '-(g|)', { g: f.goAway(1) }, []);
      });

      it('an open on id 0', () => {
        expectProtocolEnd('-o', { o: w.open(0) }, '-(g|)', { g: f.goAway(1) }, []);
      });

      it('an open reusing the id of a channel that is still open', () => {
        expectProtocolEnd('-ab', { a: w.open(2), b: w.open(2) }, '-a(g|)', { a: w.accept(2), g: f.goAway(1) }, ['ERR_MUX_PROTOCOL']);
      });

      it('an open reusing the id of a channel that was already reset', () => {
        const reset = profile === 'rxmux' ? f.reset(2, 0, 'done') : f.rst(2);
        expectProtocolEnd('-arb', { a: w.open(2), r: reset, b: w.open(2) }, '-a-(g|)', { a: w.accept(2), g: f.goAway(1) }, [
          'ERR_MUX_RESET',
        ]);
      });

      it('an open with an id lower than the previous one', () => {
        expectProtocolEnd('-ab', { a: w.open(4), b: w.open(2) }, '-a(g|)', { a: w.accept(4), g: f.goAway(1) }, ['ERR_MUX_PROTOCOL']);
      });
    },
  );
});

describe('both ends with the same role', () => {
  it.each(['client', 'server'] as const)(
    'two %ss: the first open fails with ERR_MUX_PROTOCOL and both sessions end with ERR_MUX_PROTOCOL',
    (role) => {
      const ts = testScheduler();
      const events: string[] = [];
      const errors: Record<string, unknown> = {};
      ts.run(({ flush }) => {
        const [a, b] = memoryPair({ latency: 1 });
        const opener = createSession(a, { role, keepAlive: false });
        const other = createSession(b, { role, keepAlive: false });
        other.incoming$.subscribe({ next: () => events.push('unexpected accept'), error: ignore });
        opener.incoming$.subscribe({ error: ignore });
        opener.open({ meta: 'hello' }).subscribe({
          next: () => events.push('unexpected channel'),
          error: (e) => {
            events.push(`${ts.now()} open failed`);
            errors.open = e;
          },
        });
        opener.closed$.subscribe(({ error }) => {
          events.push(`${ts.now()} opener ended`);
          errors.opener = error;
        });
        other.closed$.subscribe(({ error }) => {
          events.push(`${ts.now()} other ended`);
          errors.other = error;
        });
        flush();
      });
      expect(events).toEqual(['1 other ended', '2 open failed', '2 opener ended']);
      // The peer that got an open with its own parity detects it and says why.
      expect(errors.other).toMatchObject({ code: 'ERR_MUX_PROTOCOL', remote: false, wireCode: 1 });
      expect((errors.other as MuxError).message).toMatch(/both ends/);
      // The opener learns it from GoAway(1); its pending open fails with the same error.
      expect(errors.opener).toMatchObject({ code: 'ERR_MUX_PROTOCOL', remote: true, wireCode: 1 });
      expect(errors.open).toMatchObject({ code: 'ERR_MUX_PROTOCOL', remote: true, wireCode: 1 });
    },
  );

  it('two clients opening at the same moment both detect it and both end with ERR_MUX_PROTOCOL', () => {
    const ends: (MuxError | undefined)[] = [];
    const openErrors: unknown[] = [];
    testScheduler().run(({ flush }) => {
      const [a, b] = memoryPair({ latency: 1 });
      for (const carrier of [a, b]) {
        const s = createSession(carrier, { role: 'client', keepAlive: false });
        s.incoming$.subscribe({ error: ignore });
        s.closed$.subscribe(({ error }) => ends.push(error));
        s.open().subscribe({ error: (e) => openErrors.push(e) });
      }
      flush();
    });
    expect(ends).toHaveLength(2);
    for (const e of ends) expect(e).toMatchObject({ code: 'ERR_MUX_PROTOCOL', remote: false });
    expect(openErrors).toHaveLength(2);
    for (const e of openErrors) expect(e).toMatchObject({ code: 'ERR_MUX_PROTOCOL' });
  });
});

describe('cancelling a pending open', () => {
  describe.each(PROFILES)('%s profile', (profile) => {
    it('unsubscribing before the answer sends RST and frees the channel; a late ACK is dropped and counted, and answered with nothing', () => {
      const w = wire[profile];
      const checks: ReturnType<Session['stats']>[] = [];
      let closed = true;
      testScheduler().run(({ hot, expectObservable }) => {
        const peer = virtualPeer();
        const session = createSession(peer.carrier, { role: 'client', profile, keepAlive: false, openTimeout: 0 });
        const sub = session.open({ waitForAccept: true }).subscribe({ error: ignore });
        at(hot, 2, () => sub.unsubscribe());
        at(hot, 5, () => {
          checks.push(session.stats());
          closed = session.isClosed;
        });
        at(hot, 7, () => session.open().subscribe({ error: ignore }));
        at(hot, 3, () => checks.push(session.stats()));
        peer.feed(hot('----a', { a: profile === 'rxmux' ? f.accept(1, 'late reply') : f.ack(1, 4096) }));
        expectObservable(peer.written$).toBe('o-r----n', {
          o: w.open(1),
          r: profile === 'rxmux' ? f.reset(1, 0, 'open cancelled') : f.rst(1),
          n: w.open(3),
        });
      });
      expect(checks[0]).toMatchObject({ openChannels: 0, droppedFrames: 0 });
      expect(checks[1]).toMatchObject({ openChannels: 0, droppedFrames: 1, bufferedIn: 0 });
      expect(closed).toBe(false);
    });

    it('open() subscribed at 0 and unsubscribed at 2, before the ACK at 4: the subscription window, then SYN at 0 and RST at 2', () => {
      const w = wire[profile];
      testScheduler().run(({ hot, expectObservable }) => {
        const peer = virtualPeer();
        const session = createSession(peer.carrier, { role: 'client', profile, keepAlive: false, openTimeout: 0 });
        const openSub = '  ^-!';
        const opened = '   ---';
        const written = '  o-r';
        const ack = hot('  ----a', { a: profile === 'rxmux' ? f.accept(1, 'late reply') : f.ack(1, 4096) });
        peer.feed(ack);
        expectObservable(session.open({ waitForAccept: true }), openSub).toBe(opened);
        expectObservable(peer.written$).toBe(written, {
          o: w.open(1),
          r: profile === 'rxmux' ? f.reset(1, 0, 'open cancelled') : f.rst(1),
        });
      });
    });

    it('open() cut by takeUntil at 2: the notifier is subscribed 0..2 like the open, which completes empty, and the RST goes at 2', () => {
      const w = wire[profile];
      testScheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
        const peer = virtualPeer();
        const session = createSession(peer.carrier, { role: 'client', profile, keepAlive: false, openTimeout: 0 });
        const cancel = hot('  --x');
        const cancelSub = '   ^-!';
        const opened = '      --|';
        const written = '     o-r';
        peer.feed(hot('       ----a', { a: profile === 'rxmux' ? f.accept(1, 'late reply') : f.ack(1, 4096) }));
        expectObservable(session.open({ waitForAccept: true }).pipe(takeUntil(cancel))).toBe(opened);
        expectSubscriptions(cancel.subscriptions).toBe(cancelSub);
        expectObservable(peer.written$).toBe(written, {
          o: w.open(1),
          r: profile === 'rxmux' ? f.reset(1, 0, 'open cancelled') : f.rst(1),
        });
      });
    });
  });
});

describe('open on a session that has ended', () => {
  // [when, how the session ends, frames written, the session's own end (carried as the open error's cause)]
  const endings: [string, (peer: VirtualPeer, session: Session) => void, string, Record<string, Frame>, string | undefined][] = [
    ['after close()', (_peer, session) => void session.close(), '-(g|)', { g: f.goAway(0) }, undefined],
    ['after the carrier ended', (peer) => peer.end(), '-|', {}, 'ERR_MUX_CARRIER'],
    ['after a carrier error', (peer) => peer.fail(new Error('connection reset')), '-|', {}, 'ERR_MUX_CARRIER'],
  ];

  it.each(endings)(
    '%s, open() fails at once with ERR_MUX_SESSION_CLOSED and writes nothing',
    (_name, end, writtenMarble, writtenValues, causeCode) => {
      const errors: unknown[] = [];
      let syncErrors = -1;
      const writeCalls: number[] = [];
      let peer: VirtualPeer | undefined;
      testScheduler().run(({ hot, expectObservable }) => {
        peer = virtualPeer();
        const session = createSession(peer.carrier, { role: 'client', keepAlive: false });
        session.incoming$.subscribe({ error: ignore });
        at(hot, 1, () => end(peer!, session));
        at(hot, 3, () => {
          writeCalls.push(peer!.writeCalls);
          session.open({ meta: 'too late' }).subscribe({ next: () => errors.push('unexpected channel'), error: (e) => errors.push(e) });
          syncErrors = errors.length;
          writeCalls.push(peer!.writeCalls);
        });
        expectObservable(peer.written$).toBe(writtenMarble, writtenValues);
      });
      expect(syncErrors).toBe(1);
      expect(errors).toHaveLength(1);
      expect(errors[0]).toBeInstanceOf(MuxError);
      expect(errors[0]).toMatchObject({ code: 'ERR_MUX_SESSION_CLOSED' });
      expect(((errors[0] as Error).cause as MuxError | undefined)?.code).toBe(causeCode);
      expect(writeCalls[1]).toBe(writeCalls[0]);
      expect(peer!.writesAfterRelease).toBe(0);
    },
  );
});

describe('yamux profile frames', () => {
  it.each([
    [256 * 1024, 0],
    [1024 * 1024, 768 * 1024],
  ])(
    'with receiveWindow %i, open writes WindowUpdate|SYN and accept writes WindowUpdate|ACK, each with delta %i',
    (receiveWindow, delta) => {
      const opened: number[] = [];
      testScheduler().run(({ hot, expectObservable }) => {
        const peer = virtualPeer();
        const session = createSession(peer.carrier, { role: 'client', profile: 'yamux', keepAlive: false, receiveWindow });
        session.incoming$.subscribe((r) => {
          expect(r.meta.byteLength).toBe(0);
          r.accept();
        });
        session.open().subscribe((ch) => opened.push(ch.id));
        peer.feed(hot('-oa', { o: f.syn(2), a: f.ack(1) }));
        expectObservable(peer.written$).toBe('sk', { s: f.syn(1, delta), k: f.ack(2, delta) });
      });
      expect(opened).toEqual([1]);
    },
  );

  it('an ACK with a window delta adds to the opener’s credit', () => {
    const credit: number[] = [];
    testScheduler().run(({ hot }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', profile: 'yamux', keepAlive: false });
      session.open().subscribe((ch) => ch.credit$.subscribe((c) => credit.push(c)));
      peer.feed(hot('-a', { a: f.ack(1, 1000) }));
    });
    // The yamux profile hands the channel over at once: first the initial window, then the ACK's delta on top.
    expect(credit).toEqual([256 * 1024, 256 * 1024 + 1000]);
  });

  it('open() hands the channel over at once; it may send before the ACK, and a refusal fails the channel with ERR_MUX_REJECTED', () => {
    const events: string[] = [];
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', profile: 'yamux', keepAlive: false });
      session.open().subscribe((ch) => {
        events.push(`open ${ch.id} ${ch.state}`);
        void ch.write('early');
        ch.incoming$.subscribe({ error: (e) => events.push(`error ${(e as { code: string }).code}`) });
        void ch.write('late').catch((e: { code: string }) => events.push(`write ${e.code}`));
      });
      session.open().subscribe((ch) => ch.incoming$.subscribe({ next: (d) => events.push(`data ${ch.id} ${utf8(d)}`) }));
      peer.feed(hot('--ra', { r: f.rst(1), a: f.data(3, 'hi', 2) }));
      // Frames made in one turn leave together: control frames (both SYNs) first, then the channel's bytes as one frame.
      expectObservable(peer.written$).toBe('(abc)', {
        a: f.syn(1),
        b: f.syn(3),
        c: f.data(1, 'earlylate'),
      });
    });
    expect(events).toEqual(['open 1 opening', 'error ERR_MUX_REJECTED', 'data 3 hi']);
  });

  it('open({ waitForAccept: false }) in the rxmux profile hands the channel over before the reply metadata', () => {
    const replies: string[] = [];
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAlive: false });
      let channel: Channel | undefined;
      session.open({ meta: 'm', waitForAccept: false }).subscribe((ch) => {
        channel = ch;
        replies.push(`at open: '${utf8(ch.replyMeta)}' ${ch.state}`);
        void ch.write('x');
      });
      peer.feed(hot('-a', { a: f.accept(1, 'r') }));
      at(hot, 2, () => replies.push(`after ACK: '${utf8(channel!.replyMeta)}' ${channel!.state}`));
      expectObservable(peer.written$).toBe('(ox)', { o: f.open(1, 'm'), x: f.data(1, 'x') });
    });
    expect(replies).toEqual(["at open: '' opening", "after ACK: 'r' open"]);
  });

  it('open metadata fails with ERR_MUX_UNSUPPORTED and writes nothing; empty metadata is fine', () => {
    const errors: unknown[] = [];
    let writeCallsAfterRefusal = -1;
    testScheduler().run(({ expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', profile: 'yamux', keepAlive: false, openTimeout: 0 });
      session.open({ meta: 'x' }).subscribe({ error: (e) => errors.push(e) });
      writeCallsAfterRefusal = peer.writeCalls;
      session.open({ meta: '' }).subscribe({ error: (e) => errors.push(e) });
      expectObservable(peer.written$).toBe('s', { s: f.syn(1) });
    });
    expect(writeCallsAfterRefusal).toBe(0);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'ERR_MUX_UNSUPPORTED' });
  });

  it('accepting with reply metadata refuses the open with WindowUpdate|RST and fails the channel with ERR_MUX_UNSUPPORTED', () => {
    const ends: (MuxError | undefined)[] = [];
    let openChannels = -1;
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', profile: 'yamux', keepAlive: false });
      session.incoming$.subscribe((r) => r.accept({ meta: 'hello' }).closed$.subscribe(({ error }) => ends.push(error)));
      peer.feed(hot('-o', { o: f.syn(1) }));
      at(hot, 2, () => (openChannels = session.stats().openChannels));
      expectObservable(peer.written$).toBe('-r', { r: f.rst(1) });
    });
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({ code: 'ERR_MUX_UNSUPPORTED' });
    expect(openChannels).toBe(0);
  });
});
