import { catchError, map, of, type Observable } from 'rxjs';
import type { RunHelpers, TestScheduler } from 'rxjs/testing';
import { createSession, type Channel, type Frame, type MuxError } from '../../src/index.js';
import { f, virtualPeer } from '../../src/testing.js';
import { at, testScheduler } from '../support/marbles.js';

/**
 * Runs a marble test with a safety net: flushing stops at `limit` virtual ms instead of spinning forever
 * when a periodic timer is left behind. Returns the scheduler so a test can check what was left.
 */
function runBounded(body: (helpers: RunHelpers, ts: TestScheduler) => void, limit = 10_000_000): TestScheduler {
  const ts = testScheduler();
  ts.run((helpers) => {
    ts.maxFrames = limit;
    body(helpers, ts);
  });
  return ts;
}

/** Turns an error into a value (`error:<code>`) so marbles can assert the exact code at the exact time. */
function outcome<T, R>(source: Observable<T>, project: (value: T) => R): Observable<R | string> {
  return source.pipe(
    map(project),
    catchError((e: unknown) => of(`error:${(e as MuxError).code}`)),
  );
}

const codeOf = (e: { error: MuxError | undefined }): string => e.error?.code ?? 'clean';

/** 16 full-size (16 KiB) data frames fill the peer's 256 KiB initial window exactly. */
const WINDOW = 256 * 1024;
const FULL_FRAME = new Uint8Array(16 * 1024).fill(7);
const sixteen = (letter: string): string => `(${letter.repeat(16)})`;

describe('keep-alive', () => {
  it('writes a Ping(SYN) every 30000 ms by default and goes on while the peer answers with the same opaque', () => {
    const ts = runBounded(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client' });
      peer.feed(hot('30010ms a 29999ms b', { a: f.pong(1), b: f.pong(2) }));
      at(hot, 70000, () => void session.close());
      expectObservable(peer.written$).toBe('30000ms p 29999ms q 9999ms (g|)', { p: f.ping(1), q: f.ping(2), g: f.goAway(0) });
      expectObservable(session.closed$.pipe(map(codeOf))).toBe('70000ms (c|)', { c: 'clean' });
      at(hot, [45000, 69999], () => {
        // Past the 10 s keep-alive timeout after the first ping: the answer kept the session alive.
        expect(session.isClosed).toBe(false);
        expect(session.stats().rtt).toBe(10);
      });
    });
    expect(ts.frame).toBe(70000);
  });

  it('writes Ping(SYN) on a custom keepAliveInterval', () => {
    runBounded(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAliveInterval: 5000, keepAliveTimeout: 1000 });
      peer.feed(hot('5003ms a 4999ms b 4999ms c', { a: f.pong(1), b: f.pong(2), c: f.pong(3) }));
      at(hot, 16000, () => void session.close());
      expectObservable(peer.written$).toBe('5000ms a 4999ms b 4999ms c 999ms (g|)', {
        a: f.ping(1),
        b: f.ping(2),
        c: f.ping(3),
        g: f.goAway(0),
      });
      expectObservable(session.closed$.pipe(map(codeOf))).toBe('16000ms (c|)', { c: 'clean' });
    });
  });

  it('writes no Ping at all with keepAlive: false', () => {
    runBounded(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAlive: false });
      at(hot, 1000000, () => void session.close());
      expectObservable(peer.written$).toBe('1000000ms (g|)', { g: f.goAway(0) });
    });
  });

  it('answers a Ping(SYN) from the peer at once with Ping(ACK) carrying the same opaque', () => {
    runBounded(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      createSession(peer.carrier, { role: 'client', keepAlive: false });
      peer.feed(hot('--a 96ms b', { a: f.ping(7), b: f.ping(0xffff_ffff) }));
      expectObservable(peer.written$).toBe('--a 96ms b', { a: f.pong(7), b: f.pong(0xffff_ffff) });
    });
  });

  it('answers a peer Ping(SYN) while its own keep-alive pings run, without mixing up the opaques', () => {
    runBounded(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAliveInterval: 1000, keepAliveTimeout: 500 });
      // The peer pings with opaque 1 (the value of our own first ping) and answers our ping 1 at 1010.
      peer.feed(hot('500ms s 509ms a', { s: f.ping(1), a: f.pong(1) }));
      at(hot, 1500, () => void session.close());
      expectObservable(peer.written$).toBe('500ms s 499ms p 499ms (g|)', { s: f.pong(1), p: f.ping(1), g: f.goAway(0) });
      expectObservable(session.closed$.pipe(map(codeOf))).toBe('1500ms (c|)', { c: 'clean' });
      at(hot, 1011, () => expect(session.stats().rtt).toBe(10));
    });
  });
});

describe('keep-alive timeout', () => {
  it('ends the session with ERR_MUX_TIMEOUT when the peer stays silent past keepAliveTimeout after a ping; channels fail with it; the carrier is released', () => {
    let peer!: ReturnType<typeof virtualPeer>;
    const events: string[] = [];
    const ts = runBounded(({ hot, expectObservable }, ts) => {
      peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client' });
      session.open().subscribe((ch) => {
        ch.incoming$.subscribe({ error: (e: MuxError) => events.push(`${ts.now()} read ${e.code}`) });
        ch.closed$.subscribe((end) => events.push(`${ts.now()} closed ${codeOf(end)}`));
        ch.write('late').catch((e: MuxError) => events.push(`${ts.now()} write ${e.code}`));
      });
      peer.feed(hot('-a', { a: f.accept(1) }));
      at(hot, 40001, () => {
        // Calls on the ended session fail with ERR_MUX_SESSION_CLOSED, the keep-alive timeout as their cause.
        session.open().subscribe({ error: (e: MuxError) => events.push(`${ts.now()} open ${e.code} (${(e.cause as MuxError).code})`) });
      });
      expectObservable(peer.written$).toBe('o d 29998ms p 9999ms |', { o: f.open(1), d: f.data(1, 'late'), p: f.ping(1) });
      expectObservable(session.closed$.pipe(map(codeOf))).toBe('40000ms (c|)', { c: 'ERR_MUX_TIMEOUT' });
    });
    expect(events).toEqual([
      '40000 read ERR_MUX_TIMEOUT',
      '40000 closed ERR_MUX_TIMEOUT',
      '40001 open ERR_MUX_SESSION_CLOSED (ERR_MUX_TIMEOUT)',
    ]);
    expect(peer.released).toBe('destroy');
    expect(peer.writesAfterRelease).toBe(0);
    expect(ts.frame).toBe(40001);
  });

  it('a keepAliveTimeout longer than keepAliveInterval still ends a silent session, timed from the first unanswered ping', () => {
    runBounded(({ expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAliveInterval: 1000, keepAliveTimeout: 2500 });
      // Pings at 1000, 2000 and 3000 get no answer: the first one's deadline (3500) ends the session.
      expectObservable(peer.written$).toBe('1000ms a 999ms b 999ms c 499ms |', { a: f.ping(1), b: f.ping(2), c: f.ping(3) });
      expectObservable(session.closed$.pipe(map(codeOf))).toBe('3500ms (c|)', { c: 'ERR_MUX_TIMEOUT' });
    });
  });

  it('any bytes from the peer within keepAliveTimeout keep the session alive', () => {
    runBounded(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client' });
      const read: string[] = [];
      session
        .open()
        .subscribe((ch) => ch.incoming$.subscribe({ next: (b) => read.push(new TextDecoder().decode(b)), error: () => undefined }));
      // Data (not a Ping answer) 1 ms before the deadline of the first keep-alive ping.
      peer.feed(hot('-a 39997ms d', { a: f.accept(1), d: f.data(1, 'still here') }));
      expectObservable(peer.written$).toBe('o 29999ms p 29999ms q 9999ms |', { o: f.open(1), p: f.ping(1), q: f.ping(2) });
      expectObservable(session.closed$.pipe(map(codeOf))).toBe('70000ms (c|)', { c: 'ERR_MUX_TIMEOUT' });
      at(hot, 50000, () => {
        expect(session.isClosed).toBe(false);
        expect(read).toEqual(['still here']);
      });
    });
  });
});

describe('ping()', () => {
  it('reports the round-trip time in virtual time and updates stats().rtt', () => {
    runBounded(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAlive: false });
      expect(session.stats().rtt).toBe(-1);
      peer.feed(hot('25ms a', { a: f.pong(1) }));
      expectObservable(session.ping()).toBe('25ms (r|)', { r: 25 });
      expectObservable(peer.written$).toBe('p', { p: f.ping(1) });
      at(hot, 26, () => expect(session.stats().rtt).toBe(25));
    });
  });

  it('a ping with no answer errors with ERR_MUX_TIMEOUT after the timeout, a late answer is ignored, and the next ping works', () => {
    runBounded(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAlive: false });
      const rtt = (v: number): number => v;
      // Default timeout: keepAliveTimeout (10000 ms).
      expectObservable(outcome(session.ping(), rtt)).toBe('10000ms (e|)', { e: 'error:ERR_MUX_TIMEOUT' });
      expectObservable(outcome(session.ping(), rtt), '20000ms ^').toBe('20040ms (r|)', { r: 40 });
      // Explicit timeout.
      expectObservable(outcome(session.ping(50), rtt), '30000ms ^').toBe('30050ms (e|)', { e: 'error:ERR_MUX_TIMEOUT' });
      peer.feed(hot('12000ms l 8039ms a', { l: f.pong(1), a: f.pong(2) }));
      expectObservable(peer.written$).toBe('a 19999ms b 9999ms c', { a: f.ping(1), b: f.ping(2), c: f.ping(3) });
      // The late answer to ping 1 gives no RTT sample; ping 2's answer does.
      at(hot, 12001, () => {
        expect(session.stats().rtt).toBe(-1);
        expect(session.isClosed).toBe(false);
      });
      at(hot, 20041, () => {
        expect(session.stats().rtt).toBe(40);
        expect(session.isClosed).toBe(false);
      });
    });
  });

  it('concurrent pings get distinct opaque values and each gets its own round-trip time', () => {
    runBounded(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAlive: false });
      expectObservable(session.ping()).toBe('30ms (r|)', { r: 30 });
      expectObservable(session.ping()).toBe('10ms (r|)', { r: 10 });
      peer.feed(hot('10ms b 19ms a', { a: f.pong(1), b: f.pong(2) }));
      expectObservable(peer.written$).toBe('(ab)', { a: f.ping(1), b: f.ping(2) });
      // Smoothed: first sample 10, then (10 * 7 + 30) / 8 = 12.5, rounded.
      at(hot, 31, () => expect(session.stats().rtt).toBe(13));
    });
  });
});

describe('open timeout', () => {
  const id = (ch: Channel): number => ch.id;

  it('open({ timeout }) with no ACK errors with ERR_MUX_TIMEOUT at exactly that time and writes an RST; a late ACK is dropped', () => {
    runBounded(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAlive: false });
      expectObservable(outcome(session.open({ timeout: 1000 }), id)).toBe('1000ms (e|)', { e: 'error:ERR_MUX_TIMEOUT' });
      // Two late answers (with and without reply metadata), then a fresh open that works.
      peer.feed(hot('1500ms a 99ms b 400ms c', { a: f.accept(1, 'late'), b: f.accept(1), c: f.accept(3) }));
      expectObservable(outcome(session.open(), id), '2000ms ^').toBe('2001ms (c|)', { c: 3 });
      expectObservable(peer.written$).toBe('o 999ms r 999ms p', { o: f.open(1), r: f.reset(1, 0, 'open timeout'), p: f.open(3) });
      at(hot, 1700, () => {
        expect(session.stats().droppedFrames).toBe(2);
        expect(session.stats().openChannels).toBe(0);
        expect(session.channels()).toEqual([]);
        expect(session.isClosed).toBe(false);
      });
    });
  });

  it('the session openTimeout applies to open() without a timeout', () => {
    runBounded(({ expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAlive: false, openTimeout: 5000 });
      expectObservable(outcome(session.open(), id)).toBe('5000ms (e|)', { e: 'error:ERR_MUX_TIMEOUT' });
      expectObservable(peer.written$).toBe('o 4999ms r', { o: f.open(1), r: f.reset(1, 0, 'open timeout') });
    });
  });

  it('the default open timeout is 75000 ms', () => {
    runBounded(({ expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAlive: false });
      expectObservable(outcome(session.open(), id)).toBe('75000ms (e|)', { e: 'error:ERR_MUX_TIMEOUT' });
      expectObservable(peer.written$).toBe('o 74999ms r', { o: f.open(1), r: f.reset(1, 0, 'open timeout') });
    });
  });

  it('an ACK just before the open timeout opens the channel and no RST follows', () => {
    runBounded(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAlive: false });
      expectObservable(outcome(session.open({ timeout: 1000 }), id)).toBe('999ms (c|)', { c: 1 });
      peer.feed(hot('999ms a', { a: f.accept(1) }));
      expectObservable(peer.written$).toBe('o', { o: f.open(1) });
    });
  });

  it('open({ timeout: 0 }) waits forever even when the session has an openTimeout', () => {
    runBounded(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAlive: false, openTimeout: 5000 });
      expectObservable(outcome(session.open({ timeout: 0 }), id)).toBe('1000000ms (c|)', { c: 1 });
      peer.feed(hot('1000000ms a', { a: f.accept(1) }));
      expectObservable(peer.written$).toBe('o', { o: f.open(1) });
    });
  });
});

describe('per-channel read timeout', () => {
  it('a channel that receives nothing for readTimeout errors with ERR_MUX_TIMEOUT and is reset; another channel is unaffected', () => {
    const events: string[] = [];
    runBounded(({ hot, expectObservable }, ts) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAlive: false, readTimeout: 1000 });
      let b: Channel | undefined;
      session.open().subscribe((ch) => {
        ch.incoming$.subscribe({ error: (e: MuxError) => events.push(`${ts.now()} A ${e.code}`) });
      });
      session.open({ readTimeout: 0 }).subscribe((ch) => {
        b = ch;
        ch.incoming$.subscribe({
          next: (d) => events.push(`${ts.now()} B ${new TextDecoder().decode(d)}`),
          error: (e: MuxError) => events.push(`${ts.now()} B ${e.code}`),
        });
      });
      peer.feed(hot('-(ab) 2995ms d', { a: f.accept(1), b: f.accept(3), d: f.data(3, 'hello B') }));
      at(hot, 2000, () => void b!.write('still here'));
      expectObservable(peer.written$).toBe('(xy) 997ms r 998ms d', {
        x: f.open(1),
        y: f.open(3),
        r: f.reset(1, 0, 'timeout'),
        d: f.data(3, 'still here'),
      });
      at(hot, 5000, () => {
        expect(b!.state).toBe('open');
        expect(session.channels().map((c) => c.id)).toEqual([3]);
      });
    });
    expect(events).toEqual(['1001 A ERR_MUX_TIMEOUT', '3000 B hello B']);
  });

  it('inbound bytes postpone the read deadline', () => {
    const events: string[] = [];
    runBounded(({ hot, expectObservable }, ts) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAlive: false });
      session.open({ readTimeout: 1000 }).subscribe((ch) => {
        ch.incoming$.subscribe({
          next: (d) => events.push(`${ts.now()} ${new TextDecoder().decode(d)}`),
          error: (e: MuxError) => events.push(`${ts.now()} ${e.code}`),
        });
      });
      peer.feed(hot('-a 798ms d 899ms e', { a: f.accept(1), d: f.data(1, 'one'), e: f.data(1, 'two') }));
      expectObservable(peer.written$).toBe('o 2699ms r', { o: f.open(1), r: f.reset(1, 0, 'timeout') });
    });
    expect(events).toEqual(['800 one', '1700 two', '2700 ERR_MUX_TIMEOUT']);
  });

  it('accept() options set the read timeout per channel, overriding the session default', () => {
    const events: string[] = [];
    runBounded(({ hot, expectObservable }, ts) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false, readTimeout: 300 });
      const opts: Record<number, { readTimeout?: number }> = { 1: { readTimeout: 500 }, 3: { readTimeout: 0 }, 5: {} };
      session.incoming$.subscribe((req) => {
        const ch = req.accept(opts[req.id]);
        ch.closed$.subscribe((end) => events.push(`${ts.now()} ${ch.id} ${codeOf(end)}`));
      });
      peer.feed(hot('-(abc)', { a: f.open(1), b: f.open(3), c: f.open(5) }));
      expectObservable(peer.written$).toBe('-(abc) 295ms x 199ms y', {
        a: f.accept(1),
        b: f.accept(3),
        c: f.accept(5),
        x: f.reset(5, 0, 'timeout'),
        y: f.reset(1, 0, 'timeout'),
      });
      at(hot, 100000, () => expect(session.channels().map((c) => c.id)).toEqual([3]));
    });
    expect(events).toEqual(['301 5 ERR_MUX_TIMEOUT', '501 1 ERR_MUX_TIMEOUT']);
  });
});

describe('per-channel write timeout', () => {
  it('queued bytes without credit for writeTimeout fail that channel with ERR_MUX_TIMEOUT; a channel making progress is unaffected', () => {
    const events: string[] = [];
    runBounded(({ hot, expectObservable }, ts) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, {
        role: 'client',
        keepAlive: false,
        maxFrameSize: FULL_FRAME.byteLength,
        writeTimeout: 1000,
      });
      let a: Channel | undefined;
      let b: Channel | undefined;
      session.open().subscribe((ch) => {
        a = ch;
        ch.closed$.subscribe((end) => events.push(`${ts.now()} A ${codeOf(end)}`));
        // The peer's whole 256 KiB window plus 10 bytes that have no credit.
        void ch.write(new Uint8Array(WINDOW + 10).fill(7));
      });
      session.open().subscribe((ch) => {
        b = ch;
        ch.closed$.subscribe((end) => events.push(`${ts.now()} B ${codeOf(end)}`));
      });
      peer.feed(hot('10ms (ab)', { a: f.accept(1), b: f.accept(3) }));
      at(hot, 500, () => void b!.write('b1'));
      at(hot, 1500, () => void b!.write('b2'));
      at(hot, 1009, () => expect(a!.stats().queuedOut).toBe(10));
      at(hot, 3000, () => {
        expect(b!.state).toBe('open');
        session.destroy();
      });
      expectObservable(peer.written$).toBe(`(xy) 6ms ${sixteen('d')} 472ms b 509ms r 489ms c 1499ms (g|)`, {
        x: f.open(1),
        y: f.open(3),
        d: f.data(1, FULL_FRAME),
        b: f.data(3, 'b1'),
        // No credit is left for the rxmux RST payload (it counts against the peer's window): a plain WindowUpdate|RST.
        r: f.rst(1),
        c: f.data(3, 'b2'),
        g: f.goAway(0),
      });
    });
    expect(events).toEqual(['1010 A ERR_MUX_TIMEOUT', '3000 B ERR_MUX_SESSION_CLOSED']);
  });

  it('credit arriving in time postpones the write deadline', () => {
    const events: string[] = [];
    runBounded(({ hot, expectObservable }, ts) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAlive: false, maxFrameSize: FULL_FRAME.byteLength });
      session.open({ writeTimeout: 1000 }).subscribe((ch) => {
        ch.closed$.subscribe((end) => events.push(`${ts.now()} ${codeOf(end)}`));
        void ch.write(new Uint8Array(WINDOW + 10).fill(7));
      });
      // 4 bytes of credit at 900: progress, so the deadline moves to 1900; the last 6 bytes never get credit.
      peer.feed(hot('10ms a 889ms c', { a: f.accept(1), c: f.credit(1, 4) }));
      expectObservable(peer.written$).toBe(`o 9ms ${sixteen('d')} 872ms p 999ms r`, {
        o: f.open(1),
        d: f.data(1, FULL_FRAME),
        p: f.data(1, new Uint8Array(4).fill(7)),
        r: f.rst(1),
      });
    });
    expect(events).toEqual(['1900 ERR_MUX_TIMEOUT']);
  });

  it('credit for every queued byte before the deadline prevents the write timeout', () => {
    const events: string[] = [];
    runBounded(({ hot, expectObservable }, ts) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAlive: false, maxFrameSize: FULL_FRAME.byteLength });
      let a: Channel | undefined;
      session.open({ writeTimeout: 1000 }).subscribe((ch) => {
        a = ch;
        ch.closed$.subscribe((end) => events.push(`${ts.now()} ${codeOf(end)}`));
        void ch.write(new Uint8Array(WINDOW + 10).fill(7));
      });
      peer.feed(hot('10ms a 998ms c', { a: f.accept(1), c: f.credit(1, 10) }));
      at(hot, 5000, () => {
        expect(a!.state).toBe('open');
        expect(a!.stats().queuedOut).toBe(0);
        session.destroy();
      });
      expectObservable(peer.written$).toBe(`o 9ms ${sixteen('d')} 981ms p 3990ms (g|)`, {
        o: f.open(1),
        d: f.data(1, FULL_FRAME),
        p: f.data(1, new Uint8Array(10).fill(7)),
        g: f.goAway(0),
      });
    });
    expect(events).toEqual(['5000 ERR_MUX_SESSION_CLOSED']);
  });
});

describe('close timeout', () => {
  it('a channel the peer half-closed and this side leaves idle is reset after closeTimeout', () => {
    const events: string[] = [];
    runBounded(({ hot, expectObservable }, ts) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAlive: false, closeTimeout: 5000 });
      session.open().subscribe((ch) => {
        ch.incoming$.subscribe({ complete: () => events.push(`${ts.now()} read done`) });
        ch.closed$.subscribe((end) => events.push(`${ts.now()} ${codeOf(end)}`));
      });
      peer.feed(hot('-a 98ms e', { a: f.accept(1), e: f.fin(1) }));
      expectObservable(peer.written$).toBe('o 5099ms r', { o: f.open(1), r: f.reset(1, 0, 'timeout') });
    });
    expect(events).toEqual(['100 read done', '5100 ERR_MUX_TIMEOUT']);
  });
});

describe('cleanup', () => {
  it('closing a session with every timeout armed and keep-alive on leaves no timer behind', () => {
    const events: string[] = [];
    let peer!: ReturnType<typeof virtualPeer>;
    const written: [number, Frame | 'end'][] = [];
    const atClose: Frame[] = [];
    const ts = runBounded(({ hot }, ts) => {
      peer = virtualPeer();
      const session = createSession(peer.carrier, {
        role: 'client',
        readTimeout: 10_000,
        writeTimeout: 10_000,
        closeTimeout: 20_000,
        openTimeout: 40_000,
      });
      const log = (name: string) => (end: { error: MuxError | undefined }) => events.push(`${ts.now()} ${name} ${codeOf(end)}`);
      session.open().subscribe((ch) => ch.closed$.subscribe(log('A')));
      session.open().subscribe((ch) => ch.closed$.subscribe(log('B')));
      session.open().subscribe({ error: (e: MuxError) => events.push(`${ts.now()} C open ${e.code}`) });
      at(hot, 10, () => session.ping().subscribe({ error: (e: MuxError) => events.push(`${ts.now()} ping ${e.code}`) }));
      // A and B are accepted; the peer half-closes B (close timeout armed); C never gets an answer (open timeout armed).
      peer.feed(hot('-(ab)e', { a: f.accept(1), b: f.accept(3), e: f.fin(3) }));
      at(hot, 1000, () => void session.close());
      session.closed$.subscribe(log('session'));
      peer.written$.subscribe({
        next: (frame) => (ts.now() === 1000 ? atClose.push(frame) : written.push([ts.now(), frame])),
        complete: () => written.push([ts.now(), 'end']),
      });
    });
    expect(written).toEqual([
      [0, f.open(1)],
      [0, f.open(3)],
      [0, f.open(5)],
      [10, f.ping(1)],
      [1000, 'end'],
    ]);
    // Graceful close: each open channel's FIN, an RST for the pending open and the GoAway (their order is the close spec's business).
    expect(atClose).toHaveLength(4);
    expect(atClose).toEqual(expect.arrayContaining([f.fin(1), f.fin(3), f.reset(5, 0, 'session closing'), f.goAway(0)]));
    // flush() got to the end: nothing was scheduled past the moment the session ended, and nothing is left.
    expect(ts.frame).toBe(1000);
    expect(ts.actions).toHaveLength(0);
    expect(peer.released).toBe('end');
    // C fails inside close(); B (half-closed by the peer) ends cleanly once its FIN is written, later in the frame.
    expect(events).toEqual([
      '1000 C open ERR_MUX_SESSION_CLOSED',
      '1000 B clean',
      '1000 A ERR_MUX_SESSION_CLOSED',
      '1000 ping ERR_MUX_SESSION_CLOSED',
      '1000 session clean',
    ]);
  });
});
