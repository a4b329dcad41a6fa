import { map } from 'rxjs';
import { createSession, memoryPair, type Channel, type ChannelEnd, type Frame, type MuxError, type Session } from '../../src/index.js';
import { f, virtualPeer } from '../../src/testing.js';
import { at, testScheduler } from '../support/marbles.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A Data frame's payload replaced by its length and FNV-1a hash: large payloads stay exact yet give short failure diffs. */
function digest(fr: Frame): unknown {
  if (fr.type !== 'data') return fr;
  let h = 0x811c9dc5;
  for (const b of fr.data) h = Math.imul(h ^ b, 0x01000193) >>> 0;
  return { ...fr, data: `${fr.data.byteLength} bytes, fnv1a ${h.toString(16)}` };
}

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };
/** Captures a promise's outcome at once (no unhandled rejection), to be awaited after the virtual run. */
function settle(p: Promise<unknown>): Promise<Settled> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** Accepts every inbound open and hands the channel to `onChannel`. */
function acceptAll(session: Session, onChannel: (ch: Channel) => void): void {
  session.incoming$.subscribe((req) => onChannel(req.accept()));
}

describe('half-close with end()', () => {
  it('end() writes a WindowUpdate|FIN after the data; the other direction keeps flowing; a later write fails with ERR_MUX_WRITE_CLOSED', async () => {
    let late: Promise<Settled> | undefined;
    const got: string[] = [];
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false });
      let ch!: Channel;
      acceptAll(session, (c) => {
        ch = c;
        ch.incoming$.subscribe({ next: (d) => got.push(text(d)), complete: () => got.push('complete') });
      });
      peer.feed(hot('-o---d-f', { o: f.open(1), d: f.data(1, 'still flowing'), f: f.fin(1) }));
      at(hot, 2, () => {
        void ch.write('abc');
        ch.end();
        late = settle(ch.write('late'));
      });
      at(hot, 6, () => {
        expect(got).toEqual(['still flowing']);
        expect(ch.stats()).toMatchObject({ writeClosed: true, readClosed: false, state: 'open' });
      });
      expectObservable(peer.written$).toBe('-a(df)', { a: f.accept(1), d: f.data(1, 'abc'), f: f.fin(1) });
    });
    expect(got).toEqual(['still flowing', 'complete']);
    const r = await late!;
    expect(r.ok).toBe(false);
    expect((r as { error: MuxError }).error).toMatchObject({ code: 'ERR_MUX_WRITE_CLOSED' });
  });

  it("two sessions: our FIN completes the peer's inbound after the bytes, and both ends still send the other way", () => {
    const ts = testScheduler();
    const log: string[] = [];
    const ends: string[] = [];
    ts.run(({ hot }) => {
      const [ca, cb] = memoryPair({ latency: 5 });
      const a = createSession(ca, { role: 'client', keepAlive: false });
      const b = createSession(cb, { role: 'server', keepAlive: false });
      let chA!: Channel;
      let chB!: Channel;
      const watch = (name: string, ch: Channel): void => {
        ch.incoming$.subscribe({
          next: (d) => log.push(`${ts.now()} ${name} got ${text(d)}`),
          complete: () => log.push(`${ts.now()} ${name} complete`),
          error: (e: MuxError) => log.push(`${ts.now()} ${name} error ${e.code}`),
        });
        ch.closed$.subscribe(({ error }) => ends.push(`${ts.now()} ${name} closed ${error ? error.code : 'clean'}`));
      };
      acceptAll(b, (c) => {
        chB = c;
        watch('B', chB);
      });
      at(hot, 1, () =>
        a.open().subscribe((c) => {
          chA = c;
          watch('A', chA);
          void chA.write('hello');
          chA.end();
        }),
      );
      // SYN at 1 reaches B at 6, ACK reaches A at 11, 'hello' + FIN reach B at 16.
      at(hot, 30, () => void chB.write('world'));
      at(hot, 40, () => chB.end());
      at(hot, 20, () => {
        // A's write side is closed, B's is not: the channel stays registered on both ends.
        expect(a.stats().openChannels).toBe(1);
        expect(b.stats().openChannels).toBe(1);
        expect(chB.stats()).toMatchObject({ readClosed: true, writeClosed: false });
      });
      at(hot, 60, () => {
        expect(a.stats().openChannels).toBe(0);
        expect(b.stats().openChannels).toBe(0);
        expect(a.isClosed).toBe(false);
        expect(b.isClosed).toBe(false);
      });
    });
    expect(log).toEqual(['16 B got hello', '16 B complete', '35 A got world', '45 A complete']);
    expect(ends).toEqual(['40 B closed clean', '45 A closed clean']);
  });
});

describe('when a channel leaves the session', () => {
  it('stays registered after our FIN alone and is removed when the peer FIN arrives; closed$ emits then', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false });
      let ch!: Channel;
      const ended: ChannelEnd[] = [];
      acceptAll(session, (c) => {
        ch = c;
        ch.closed$.subscribe((e) => ended.push(e));
      });
      peer.feed(hot('-o---f', { o: f.open(1), f: f.fin(1) }));
      at(hot, 3, () => ch.end());
      at(hot, [2, 4], () => {
        expect(session.stats().openChannels).toBe(1);
        expect(session.channels().map((c) => c.id)).toEqual([1]);
        expect(ended).toEqual([]);
        expect(ch.state).toBe('open');
      });
      at(hot, 6, () => {
        expect(session.stats().openChannels).toBe(0);
        expect(session.channels()).toEqual([]);
        expect(ended).toEqual([{ error: undefined }]);
        expect(ch.state).toBe('closed');
      });
      expectObservable(peer.written$).toBe('-a-f', { a: f.accept(1), f: f.fin(1) });
    });
  });

  it('stays registered after the peer FIN alone and is removed when our FIN goes out', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false });
      let ch!: Channel;
      const ended: ChannelEnd[] = [];
      acceptAll(session, (c) => {
        ch = c;
        ch.incoming$.subscribe();
        ch.closed$.subscribe((e) => ended.push(e));
      });
      peer.feed(hot('-o-f', { o: f.open(1), f: f.fin(1) }));
      at(hot, 5, () => ch.end());
      at(hot, 4, () => {
        expect(session.stats().openChannels).toBe(1);
        expect(session.channels().map((c) => c.id)).toEqual([1]);
        expect(ended).toEqual([]);
      });
      at(hot, 6, () => {
        expect(session.stats().openChannels).toBe(0);
        expect(session.channels()).toEqual([]);
        expect(ended).toEqual([{ error: undefined }]);
      });
      expectObservable(peer.written$).toBe('-a---f', { a: f.accept(1), f: f.fin(1) });
    });
  });

  it('is removed at once when reset, locally or by the peer', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false });
      const chs = new Map<number, Channel>();
      const ended = new Map<number, ChannelEnd>();
      acceptAll(session, (c) => {
        chs.set(c.id, c);
        c.incoming$.subscribe({ error: () => undefined });
        c.closed$.subscribe((e) => ended.set(c.id, e));
      });
      peer.feed(hot('-(ab)', { a: f.open(1), b: f.open(3) }));
      peer.feed(hot('--------r', { r: f.reset(3, 4, 'gone') }));
      at(hot, 6, () => chs.get(1)!.reset(9, 'local'));
      at(hot, 7, () => {
        expect(session.channels().map((c) => c.id)).toEqual([3]);
        expect(ended.get(1)?.error).toMatchObject({ code: 'ERR_MUX_RESET', wireCode: 9, reason: 'local', remote: false });
        expect(ended.has(3)).toBe(false);
      });
      at(hot, 9, () => {
        expect(session.stats().openChannels).toBe(0);
        expect(ended.get(3)?.error).toMatchObject({ code: 'ERR_MUX_RESET', wireCode: 4, reason: 'gone', remote: true });
      });
      expectObservable(peer.written$).toBe('-(ab)-r', { a: f.accept(1), b: f.accept(3), r: f.reset(1, 9, 'local') });
    });
  });
});

describe('end() with bytes still queued', () => {
  it('delivers every queued byte before the FIN when the bytes wait for credit', () => {
    const WINDOW = 256 * 1024;
    const FRAME = 64 * 1024; // alone on the carrier, the channel sends frames of maxFrameSize (default 64 KiB)
    const payload = new Uint8Array(WINDOW + 5).map((_, i) => (i * 7) & 0xff);
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false, closeTimeout: 0 });
      let ch!: Channel;
      acceptAll(session, (c) => {
        ch = c;
        void ch.write(payload);
        ch.end();
      });
      peer.feed(hot('-o 28ms c', { o: f.open(1), c: f.credit(1, 5) }));
      at(hot, 20, () => {
        // The peer's window is used up: 5 bytes and the FIN wait.
        expect(ch.stats()).toMatchObject({ queuedOut: 5, credit: 0, writeClosed: true });
      });

      const values: Record<string, unknown> = { a: digest(f.accept(1)) };
      let group = 'a';
      for (let i = 0; i < WINDOW / FRAME; i++) {
        const key = String.fromCharCode('b'.charCodeAt(0) + i);
        values[key] = digest(f.data(1, payload.subarray(i * FRAME, (i + 1) * FRAME)));
        group += key;
      }
      values.X = digest(f.data(1, payload.subarray(WINDOW)));
      values.F = digest(f.fin(1));
      // The group opens at frame 1 and spans its characters plus the parentheses.
      const groupEnd = 1 + group.length + 2;
      expectObservable(peer.written$.pipe(map(digest))).toBe(`-(${group}) ${30 - groupEnd}ms (XF)`, values);
    });
  });

  it('delivers bytes queued behind a saturated carrier before the FIN', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false, closeTimeout: 0 });
      let ch!: Channel;
      acceptAll(session, (c) => (ch = c));
      peer.feed(hot('-o', { o: f.open(1) }));
      at(hot, 3, () => {
        peer.saturate();
        void ch.write('one'); // written at the end of this frame; the carrier is then saturated
      });
      at(hot, 4, () => {
        void ch.write('two');
        void ch.write('three');
        ch.end();
      });
      at(hot, 6, () => peer.drain());
      expectObservable(peer.written$).toBe('-a-b--(cF)', {
        a: f.accept(1),
        b: f.data(1, 'one'),
        c: f.data(1, 'twothree'),
        F: f.fin(1),
      });
    });
  });
});

describe('reset(code, reason)', () => {
  it('writes Data|RST with the code and reason, drops queued bytes, sends no FIN, and errors the local reader with ERR_MUX_RESET', async () => {
    const errors: unknown[] = [];
    const ended: ChannelEnd[] = [];
    let afterReset: Promise<Settled> | undefined;
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false });
      let ch!: Channel;
      acceptAll(session, (c) => {
        ch = c;
        ch.incoming$.subscribe({ error: (e) => errors.push(e) });
        ch.closed$.subscribe((e) => ended.push(e));
      });
      peer.feed(hot('-o', { o: f.open(1) }));
      at(hot, 2, () => {
        peer.saturate();
        void ch.write('abc'); // handed to the carrier at the end of this frame; the carrier is then saturated
      });
      at(hot, 3, () => {
        void ch.write('queued'); // waits in the channel queue
        ch.reset(7, 'bye');
        afterReset = settle(ch.write('more'));
        ch.end(); // no FIN after a reset
        expect(session.stats().openChannels).toBe(0);
      });
      at(hot, 4, () => peer.drain());
      expectObservable(peer.written$).toBe('-ab-r', { a: f.accept(1), b: f.data(1, 'abc'), r: f.reset(1, 7, 'bye') });
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'ERR_MUX_RESET', wireCode: 7, reason: 'bye', remote: false });
    expect(ended).toEqual([{ error: errors[0] }]);
    const r = await afterReset!;
    expect(r).toMatchObject({ ok: false, error: { code: 'ERR_MUX_RESET' } });
  });

  it('writes WindowUpdate|RST with the code as its length in the yamux profile and drops queued bytes', () => {
    const errors: unknown[] = [];
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', profile: 'yamux', keepAlive: false });
      let ch!: Channel;
      acceptAll(session, (c) => {
        ch = c;
        ch.incoming$.subscribe({ error: (e) => errors.push(e) });
      });
      peer.feed(hot('-o', { o: f.syn(1) }));
      at(hot, 2, () => {
        peer.saturate();
        void ch.write('abc');
      });
      at(hot, 3, () => {
        void ch.write('queued');
        ch.reset(7);
        ch.end();
      });
      at(hot, 4, () => peer.drain());
      expectObservable(peer.written$).toBe('-ab-r', { a: f.ack(1), b: f.data(1, 'abc'), r: f.rst(1, 7) });
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'ERR_MUX_RESET', wireCode: 7 });
  });

  it("two sessions: the peer's channel errors with ERR_MUX_RESET carrying the code and reason, remote: true", async () => {
    const ts = testScheduler();
    const log: string[] = [];
    let errA: MuxError | undefined;
    let writeAfter: Promise<Settled> | undefined;
    let endA: ChannelEnd | undefined;
    ts.run(({ hot }) => {
      const [ca, cb] = memoryPair({ latency: 5 });
      const a = createSession(ca, { role: 'client', keepAlive: false });
      const b = createSession(cb, { role: 'server', keepAlive: false });
      let chA!: Channel;
      let chB!: Channel;
      acceptAll(b, (c) => (chB = c));
      at(hot, 1, () =>
        a.open().subscribe((c) => {
          chA = c;
          chA.incoming$.subscribe({
            next: (d) => log.push(`${ts.now()} ${text(d)}`),
            error: (e: MuxError) => {
              errA = e;
              log.push(`${ts.now()} error`);
            },
          });
          chA.closed$.subscribe((e) => (endA = e));
        }),
      );
      at(hot, 20, () => void chB.write('before'));
      at(hot, 30, () => chB.reset(5, 'stop'));
      at(hot, 40, () => {
        expect(a.stats().openChannels).toBe(0);
        expect(b.stats().openChannels).toBe(0);
        writeAfter = settle(chA.write('x'));
      });
    });
    expect(log).toEqual(['25 before', '35 error']);
    expect(errA).toMatchObject({ code: 'ERR_MUX_RESET', wireCode: 5, reason: 'stop', remote: true });
    expect(endA).toEqual({ error: errA });
    expect(await writeAfter!).toMatchObject({ ok: false, error: { code: 'ERR_MUX_RESET' } });
  });
});

describe('close timeout of a half-closed channel', () => {
  it('resets a channel the peer half-closed and we never closed, after closeTimeout of idleness', async () => {
    const ended: ChannelEnd[] = [];
    let late: Promise<Settled> | undefined;
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false, closeTimeout: 100 });
      let ch!: Channel;
      acceptAll(session, (c) => {
        ch = c;
        ch.incoming$.subscribe();
        ch.closed$.subscribe((e) => ended.push(e));
      });
      peer.feed(hot('-o-f', { o: f.open(1), f: f.fin(1) }));
      at(hot, 102, () => {
        expect(ended).toEqual([]);
        expect(session.stats().openChannels).toBe(1);
      });
      at(hot, 104, () => {
        expect(session.stats().openChannels).toBe(0);
        late = settle(ch.write('late'));
      });
      // FIN at 3 + 100 ms idle = RST at 103.
      expectObservable(peer.written$).toBe('-a 101ms r', { a: f.accept(1), r: f.reset(1, 0, 'timeout') });
    });
    expect(ended).toHaveLength(1);
    expect(ended[0]!.error).toMatchObject({ code: 'ERR_MUX_TIMEOUT' });
    expect(await late!).toMatchObject({ ok: false, error: { code: 'ERR_MUX_WRITE_CLOSED' } });
  });

  it('bytes we send on the open direction postpone the close timeout', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false, closeTimeout: 100 });
      let ch!: Channel;
      acceptAll(session, (c) => {
        ch = c;
        ch.incoming$.subscribe();
      });
      peer.feed(hot('-o-f', { o: f.open(1), f: f.fin(1) }));
      at(hot, 50, () => void ch.write('alive'));
      // Last activity at 50: RST at 150, not 103.
      expectObservable(peer.written$).toBe('-a 48ms b 99ms r', { a: f.accept(1), b: f.data(1, 'alive'), r: f.reset(1, 0, 'timeout') });
    });
  });

  it('bytes the peer sends after our FIN postpone the close timeout', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false, closeTimeout: 100 });
      let ch!: Channel;
      acceptAll(session, (c) => {
        ch = c;
        ch.end();
      });
      peer.feed(hot('-o 48ms d', { o: f.open(1), d: f.data(1, 'late bytes') }));
      // Our FIN at 1, the peer's bytes at 50: RST at 150.
      expectObservable(peer.written$).toBe('-(af) 145ms r', { a: f.accept(1), f: f.fin(1), r: f.reset(1, 0, 'timeout') });
    });
  });

  it('two sessions: the idle half-closed channel is reset on both ends', () => {
    const ts = testScheduler();
    const log: string[] = [];
    ts.run(({ hot }) => {
      const [ca, cb] = memoryPair({ latency: 5 });
      const a = createSession(ca, { role: 'client', keepAlive: false, closeTimeout: 0 });
      const b = createSession(cb, { role: 'server', keepAlive: false, closeTimeout: 100 });
      acceptAll(b, (chB) => {
        chB.incoming$.subscribe({ complete: () => log.push(`${ts.now()} B read complete`) });
        chB.closed$.subscribe(({ error }) => log.push(`${ts.now()} B ${error?.code}`));
      });
      at(hot, 1, () =>
        a.open().subscribe((chA) => {
          chA.incoming$.subscribe({ error: (e: MuxError) => log.push(`${ts.now()} A read ${e.code} ${e.reason} remote=${e.remote}`) });
          chA.end();
        }),
      );
      // ACK reaches A at 11, its FIN reaches B at 16: B resets at 116, A hears it at 121.
      at(hot, 200, () => {
        expect(a.stats().openChannels).toBe(0);
        expect(b.stats().openChannels).toBe(0);
      });
    });
    expect(log).toEqual(['16 B read complete', '116 B ERR_MUX_TIMEOUT', '121 A read ERR_MUX_RESET timeout remote=true']);
  });
});

describe('GoAway from the peer', () => {
  it('GoAway(0): our new opens fail with ERR_MUX_GOAWAY, the existing channel runs to completion', () => {
    const openErrors: unknown[] = [];
    const got: string[] = [];
    const sessionEnds: unknown[] = [];
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAlive: false });
      session.closed$.subscribe((e) => sessionEnds.push(e));
      let ch!: Channel;
      const ended: ChannelEnd[] = [];
      at(hot, 1, () =>
        session.open().subscribe((c) => {
          ch = c;
          ch.incoming$.subscribe({ next: (d) => got.push(text(d)), complete: () => got.push('complete') });
          ch.closed$.subscribe((e) => ended.push(e));
        }),
      );
      peer.feed(hot('--ag-dF---|', { a: f.accept(1), g: f.goAway(0), d: f.data(1, 'pong'), F: f.fin(1) }));
      at(hot, 4, () => session.open().subscribe({ error: (e) => openErrors.push(e) }));
      at(hot, 5, () => void ch.write('ping'));
      at(hot, 8, () => ch.end());
      at(hot, 9, () => {
        expect(ended).toEqual([{ error: undefined }]);
        expect(session.stats().openChannels).toBe(0);
        expect(session.isClosed).toBe(false);
      });
      expectObservable(peer.written$).toBe('-o---d--F-|', { o: f.open(1), d: f.data(1, 'ping'), F: f.fin(1) });
    });
    expect(openErrors).toHaveLength(1);
    expect(openErrors[0]).toMatchObject({ code: 'ERR_MUX_GOAWAY' });
    expect(got).toEqual(['pong', 'complete']);
    // The carrier ended after the peer's GoAway(0): a clean end.
    expect(sessionEnds).toEqual([{ error: undefined }]);
  });

  for (const [code, errCode] of [
    [1, 'ERR_MUX_PROTOCOL'],
    [2, 'ERR_MUX_INTERNAL'],
  ] as const) {
    it(`GoAway(${code}) ends the session with ${errCode}, and open channels error with the same error`, () => {
      const sessionEnds: { error: MuxError | undefined }[] = [];
      const chErrors: unknown[] = [];
      testScheduler().run(({ hot, expectObservable }) => {
        const peer = virtualPeer();
        const session = createSession(peer.carrier, { role: 'client', keepAlive: false });
        session.closed$.subscribe((e) => sessionEnds.push(e));
        at(hot, 1, () => session.open().subscribe((ch) => ch.incoming$.subscribe({ error: (e) => chErrors.push(e) })));
        peer.feed(hot('--a-g', { a: f.accept(1), g: f.goAway(code) }));
        // No GoAway in answer: the session just releases the carrier.
        expectObservable(peer.written$).toBe('-o--|', { o: f.open(1) });
      });
      expect(sessionEnds).toHaveLength(1);
      expect(sessionEnds[0]!.error).toMatchObject({ code: errCode, wireCode: code, remote: true });
      expect(chErrors).toEqual([sessionEnds[0]!.error]);
      expect(chErrors[0]).toBe(sessionEnds[0]!.error);
    });
  }
});

describe('graceful session close', () => {
  it('close(): queued bytes then FIN on every channel, then GoAway(0), then the carrier ends; close() resolves', async () => {
    let closing: Promise<Settled> | undefined;
    const sessionEnds: unknown[] = [];
    let released: string | undefined;
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false });
      session.closed$.subscribe((e) => sessionEnds.push(e));
      const chs = new Map<number, Channel>();
      acceptAll(session, (c) => chs.set(c.id, c));
      peer.feed(hot('-(ab)', { a: f.open(1), b: f.open(3) }));
      at(hot, 10, () => {
        peer.saturate();
        void chs.get(1)!.write('one'); // written at the end of this frame, the carrier is then saturated
      });
      at(hot, 11, () => {
        void chs.get(1)!.write('more');
        void chs.get(3)!.write('three');
        closing = settle(session.close());
        expect(session.isClosed).toBe(false);
      });
      at(hot, 20, () => peer.drain());
      at(hot, 21, () => (released = peer.released));
      expectObservable(peer.written$).toBe('-(AB) 5ms c 9ms (mFtGg|)', {
        A: f.accept(1),
        B: f.accept(3),
        c: f.data(1, 'one'),
        m: f.data(1, 'more'),
        F: f.fin(1),
        t: f.data(3, 'three'),
        G: f.fin(3),
        g: f.goAway(0),
      });
    });
    expect(released).toBe('end');
    expect(sessionEnds).toEqual([{ error: undefined }]);
    expect(await closing!).toEqual({ ok: true, value: undefined });
  });

  it('goAway(): the session refuses peer opens with RST and keeps its existing channels', () => {
    let refused = -1;
    const offered: number[] = [];
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false });
      let ch!: Channel;
      session.incoming$.subscribe((req) => {
        offered.push(req.id);
        ch = req.accept();
      });
      peer.feed(hot('-o--O-d', { o: f.open(1), O: f.open(3), d: f.data(1, 'still here') }));
      const got: string[] = [];
      at(hot, 2, () => {
        ch.incoming$.subscribe((d) => got.push(text(d)));
        session.goAway();
      });
      at(hot, 7, () => {
        refused = session.stats().refusedOpens;
        expect(got).toEqual(['still here']);
        expect(session.isClosed).toBe(false);
      });
      expectObservable(peer.written$).toBe('-ag-r', { a: f.accept(1), g: f.goAway(0), r: f.reset(3, 0, 'session going away') });
    });
    expect(offered).toEqual([1]);
    expect(refused).toBe(1);
  });
});
