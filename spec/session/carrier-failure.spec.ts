import { createSession, multiplex, type Channel, type ChannelEnd, type MuxError, type Session, type SessionEnd } from '../../src/index.js';
import { f, virtualPeer } from '../../src/testing.js';
import { at, testScheduler } from '../support/marbles.js';

const text = (b: Uint8Array): string => new TextDecoder().decode(b);

type Settled = { ok: true; value: unknown } | { ok: false; error: unknown };
/** Captures a promise's outcome at once (no unhandled rejection), to be awaited after the virtual run. */
function settle(p: Promise<unknown>): Promise<Settled> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

describe('carrier error', () => {
  it('every open channel errors once with ERR_MUX_CARRIER carrying the cause; pending writes and reads reject; closed$ and multiplex() error once', async () => {
    const boom = new Error('boom');
    const chErrors = new Map<number, unknown[]>();
    const chEnds = new Map<number, ChannelEnd[]>();
    const sessionEnds: SessionEnd[] = [];
    const muxErrors: unknown[] = [];
    let muxCompletes = 0;
    const acceptorErrors: unknown[] = [];
    let pendingWrite: Promise<Settled> | undefined;
    let pendingRead: Promise<Settled> | undefined;
    let released: string | undefined;
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      let session!: Session;
      multiplex(peer.carrier, { role: 'server', keepAlive: false, highWaterMark: 4 }).subscribe({
        next: (s) => (session = s),
        error: (e) => muxErrors.push(e),
        complete: () => muxCompletes++,
      });
      session.closed$.subscribe((e) => sessionEnds.push(e));
      const chs = new Map<number, Channel>();
      session.incoming$.subscribe({
        next: (req) => {
          const ch = req.accept();
          chs.set(ch.id, ch);
          chErrors.set(ch.id, []);
          chEnds.set(ch.id, []);
          // Channel 5 is read by pulling (read()), the others by incoming$.
          if (ch.id !== 5) ch.incoming$.subscribe({ error: (e) => chErrors.get(ch.id)!.push(e) });
          ch.closed$.subscribe((e) => chEnds.get(ch.id)!.push(e));
        },
        error: (e) => acceptorErrors.push(e),
      });
      peer.feed(hot('-(abc)', { a: f.open(1), b: f.open(3), c: f.open(5) }));
      at(hot, 6, () => {
        peer.saturate();
        void chs.get(1)!.write('abcd'); // handed to the carrier at the end of this frame; it is then saturated
      });
      at(hot, 7, () => {
        pendingWrite = settle(chs.get(1)!.write('efghij')); // over the 4-byte high-water mark: waits
        pendingRead = settle(chs.get(5)!.read());
      });
      at(hot, 10, () => peer.fail(boom));
      at(hot, 11, () => (released = peer.released));
      expectObservable(peer.written$).toBe('-(ABC)d 3ms |', {
        A: f.accept(1),
        B: f.accept(3),
        C: f.accept(5),
        d: f.data(1, 'abcd'),
      });
    });
    expect(released).toBe('destroy');

    expect(sessionEnds).toHaveLength(1);
    const error = sessionEnds[0]!.error as MuxError;
    expect(error).toMatchObject({ code: 'ERR_MUX_CARRIER' });
    expect(error.cause).toBe(boom);

    for (const id of [1, 3]) {
      expect(chErrors.get(id)).toHaveLength(1);
      expect(chErrors.get(id)![0]).toMatchObject({ code: 'ERR_MUX_CARRIER' });
      expect((chErrors.get(id)![0] as MuxError).cause).toBe(boom);
    }
    for (const id of [1, 3, 5]) expect(chEnds.get(id)).toEqual([{ error }]);

    expect(muxErrors).toEqual([error]);
    expect(muxCompletes).toBe(0);
    expect(acceptorErrors).toEqual([error]);

    const w = await pendingWrite!;
    expect(w).toMatchObject({ ok: false, error: { code: 'ERR_MUX_CARRIER' } });
    expect((w as { error: MuxError }).error.cause).toBe(boom);
    const r = await pendingRead!;
    expect(r).toMatchObject({ ok: false, error: { code: 'ERR_MUX_CARRIER' } });
  });
});

describe('carrier end', () => {
  it('channels still open error once with ERR_MUX_CARRIER; a channel the peer already half-closed delivers its buffered bytes and completes', () => {
    const ts = testScheduler();
    const log: string[] = [];
    const sessionEnds: SessionEnd[] = [];
    let released: string | undefined;
    ts.run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false });
      session.closed$.subscribe((e) => sessionEnds.push(e));
      const chs = new Map<number, Channel>();
      session.incoming$.subscribe({
        next: (req) => {
          const ch = req.accept();
          chs.set(ch.id, ch);
          // Channel 3 gets no reader until after the carrier ended: its bytes wait in the buffer.
          if (ch.id === 1) {
            ch.incoming$.subscribe({
              next: (d) => log.push(`${ts.now()} ch1 ${text(d)}`),
              error: (e: MuxError) => log.push(`${ts.now()} ch1 error ${e.code}`),
              complete: () => log.push(`${ts.now()} ch1 complete`),
            });
          }
        },
        error: () => undefined,
      });
      peer.feed(hot('-(ab)-(cde)', { a: f.open(1), b: f.open(3), c: f.data(1, 'one'), d: f.data(3, 'tail'), e: f.fin(3) }));
      at(hot, 20, () => peer.end());
      at(hot, 30, () => {
        released = peer.released;
        chs.get(3)!.incoming$.subscribe({
          next: (d) => log.push(`${ts.now()} ch3 ${text(d)}`),
          error: (e: MuxError) => log.push(`${ts.now()} ch3 error ${e.code}`),
          complete: () => log.push(`${ts.now()} ch3 complete`),
        });
      });
      expectObservable(peer.written$).toBe('-(ab) 15ms |', { a: f.accept(1), b: f.accept(3) });
    });
    expect(log).toEqual(['6 ch1 one', '20 ch1 error ERR_MUX_CARRIER', '30 ch3 tail', '30 ch3 complete']);
    expect(released).toBe('end');
    expect(sessionEnds).toHaveLength(1);
    expect(sessionEnds[0]!.error).toMatchObject({ code: 'ERR_MUX_CARRIER' });
    expect(sessionEnds[0]!.error!.message).toMatch(/ended before/);
  });
});

describe('after the carrier is gone', () => {
  for (const how of ['end', 'error'] as const) {
    it(`after the carrier ${how === 'end' ? 'ended' : 'failed'}, no frame is written, and write/end/reset/open/ping fail cleanly with typed errors`, async () => {
      let write: Promise<Settled> | undefined;
      const openErrors: unknown[] = [];
      const pingErrors: unknown[] = [];
      let close: Promise<Settled> | undefined;
      let writeCallsAtRelease = -1;
      let writeCallsAfter = -1;
      let writesAfterRelease = -1;
      testScheduler().run(({ hot, expectObservable }) => {
        const peer = virtualPeer();
        const session = createSession(peer.carrier, { role: 'server', keepAlive: false });
        session.closed$.subscribe(); // the end is observed by other tests
        let ch!: Channel;
        session.incoming$.subscribe({ next: (req) => (ch = req.accept()), error: () => undefined });
        peer.feed(hot('-o', { o: f.open(1) }));
        at(hot, 3, () => {
          if (how === 'end') peer.end();
          else peer.fail(new Error('boom'));
          writeCallsAtRelease = peer.writeCalls;
        });
        at(hot, 5, () => {
          write = settle(ch.write('after'));
          expect(() => ch.end()).not.toThrow();
          expect(() => ch.reset(3, 'after')).not.toThrow();
          session.open().subscribe({ error: (e) => openErrors.push(e) });
          session.ping().subscribe({ error: (e) => pingErrors.push(e) });
          expect(() => session.goAway()).not.toThrow();
          close = settle(session.close());
          writeCallsAfter = peer.writeCalls;
          writesAfterRelease = peer.writesAfterRelease;
        });
        // Nothing after the release, and written$ completes then.
        expectObservable(peer.written$).toBe('-a-|', { a: f.accept(1) });
      });
      expect(writesAfterRelease).toBe(0);
      expect(writeCallsAfter).toBe(writeCallsAtRelease);
      expect(await write!).toMatchObject({ ok: false, error: { code: 'ERR_MUX_WRITE_CLOSED' } });
      expect(openErrors).toHaveLength(1);
      expect(openErrors[0]).toMatchObject({ code: 'ERR_MUX_SESSION_CLOSED' });
      expect((openErrors[0] as MuxError).cause).toMatchObject({ code: 'ERR_MUX_CARRIER' });
      expect(pingErrors).toHaveLength(1);
      expect(pingErrors[0]).toMatchObject({ code: 'ERR_MUX_SESSION_CLOSED' });
      expect(await close!).toEqual({ ok: true, value: undefined });
    });
  }
});

describe('multiplex() lifetime', () => {
  it('unsubscribing from multiplex() closes the session gracefully: FIN, then GoAway(0), then the carrier ends', () => {
    const ends: SessionEnd[] = [];
    let closedAfter = false;
    testScheduler().run(({ hot, expectObservable }) => {
      const peer = virtualPeer();
      let session!: Session;
      const sub = multiplex(peer.carrier, { role: 'server', keepAlive: false }).subscribe((s) => {
        session = s;
        s.closed$.subscribe((e) => ends.push(e));
        s.incoming$.subscribe((req) => req.accept());
      });
      peer.feed(hot('-o', { o: f.open(1) }));
      at(hot, 3, () => sub.unsubscribe());
      at(hot, 4, () => (closedAfter = session.isClosed));
      expectObservable(peer.written$).toBe('-a-(fg|)', { a: f.accept(1), f: f.fin(1), g: f.goAway(0) });
    });
    expect(closedAfter).toBe(true);
    expect(ends).toEqual([{ error: undefined }]);
  });
});
