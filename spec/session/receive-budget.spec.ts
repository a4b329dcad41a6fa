/**
 * The session-wide receive budget is one count, released exactly once whenever bytes leave a channel: consumed,
 * dropped with a failed channel, or handed to the application with a channel that left the session. A peer can
 * never make the session stall for good by leaving bytes behind on channels that are gone.
 */
import { createSession, type Channel, type Session } from '../../src/index.js';
import { f, virtualPeer, type VirtualPeer } from '../../src/testing.js';
import { testScheduler } from '../support/marbles.js';

const WINDOW = 256 * 1024;
/** One more stream than the default 64 MiB budget holds at 256 KiB each. */
const STREAMS = 257;

interface Server {
  peer: VirtualPeer;
  session: Session;
  accepted: Map<number, Channel>;
}

/** The channel the tests keep alive after the flood. */
const LIVE = 2 * STREAMS + 1;

/** A server whose application accepts every open; `onAccept` decides what it does with each flooded one. */
function server(onAccept: (ch: Channel) => void): Server {
  const peer = virtualPeer();
  // Tuning off: the test counts WindowUpdates to the byte.
  const session = createSession(peer.carrier, { role: 'server', keepAlive: false, maxReceiveWindow: WINDOW });
  const accepted = new Map<number, Channel>();
  session.incoming$.subscribe((req) => {
    const ch = req.accept();
    accepted.set(ch.id, ch);
    if (ch.id !== LIVE) onAccept(ch);
  });
  return { peer, session, accepted };
}

/** Opens STREAMS channels from the peer, each SYN + a full window + FIN. */
function floodWithFullStreams(peer: VirtualPeer): void {
  const payload = new Uint8Array(WINDOW);
  for (let i = 0; i < STREAMS; i++) {
    const id = 2 * i + 1;
    peer.send(f.open(id), f.data(id, payload), f.fin(id));
  }
}

/** A live channel (id `id`) gets a full window, and the application reads it all. */
function liveChannelGetsCredit(s: Server, id: number): void {
  const got: number[] = [];
  s.peer.send(f.open(id), f.data(id, new Uint8Array(WINDOW)));
  const live = s.accepted.get(id)!;
  live.incoming$.subscribe((b) => got.push(b.byteLength));
  expect(got.reduce((a, b) => a + b, 0)).toBe(WINDOW);
}

describe('the receive budget', () => {
  it('peer sends 257 streams of SYN + 256 KiB + FIN, then resets them: no byte stays counted, and a live channel still gets its credit', () => {
    testScheduler().run(({ flush }) => {
      const s = server((ch) => ch.incoming$.subscribe({ error: () => undefined }) && ch.pause());
      floodWithFullStreams(s.peer);
      expect(s.session.stats().bufferedIn).toBe(STREAMS * WINDOW);
      for (let i = 0; i < STREAMS; i++) s.peer.send(f.rst(2 * i + 1)); // WindowUpdate|RST: a Data|RST reason would not fit the full window
      flush();
      expect(s.session.stats()).toMatchObject({ openChannels: 0, bufferedIn: 0 });
      liveChannelGetsCredit(s, LIVE);
      flush();
      expect(s.peer.written.filter((fr) => fr.streamId === LIVE && fr.type === 'window-update')).toEqual([f.credit(LIVE, WINDOW)]);
      expect(s.session.stats()).toMatchObject({ openChannels: 1, bufferedIn: 0 });
    });
  });

  it('the application writes a reply and ends each of 257 full streams without reading the request: the budget is released as each channel leaves', () => {
    testScheduler().run(({ flush }) => {
      const s = server((ch) => {
        void ch.write('reply');
        ch.end();
      });
      floodWithFullStreams(s.peer);
      flush();
      // Every channel closed both ways (their FINs went out): none is registered, none is counted.
      expect(s.session.stats()).toMatchObject({ openChannels: 0, bufferedIn: 0 });
      // The bytes are still the application's to read.
      const first = s.accepted.get(1)!;
      expect(first.stats()).toMatchObject({ state: 'closed', bufferedIn: WINDOW });
      let read = 0;
      first.incoming$.subscribe((b) => (read += b.byteLength));
      expect(read).toBe(WINDOW);
      expect(s.session.stats().bufferedIn).toBe(0);
      liveChannelGetsCredit(s, LIVE);
      flush();
      expect(s.peer.written.filter((fr) => fr.streamId === LIVE && fr.type === 'window-update')).toEqual([f.credit(LIVE, WINDOW)]);
    });
  });

  it("a budget that is really full holds a reading channel's credit back until another channel's bytes are consumed", () => {
    testScheduler().run(({ flush }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'server', keepAlive: false, maxReceiveWindow: WINDOW, receiveBudget: WINDOW });
      const accepted = new Map<number, Channel>();
      session.incoming$.subscribe((req) => {
        const ch = req.accept();
        if (ch.id === 1) ch.pause();
        ch.incoming$.subscribe();
        accepted.set(ch.id, ch);
      });
      const credits = (): unknown[] => peer.written.filter((fr) => fr.type === 'window-update' && fr.flags === 0);
      peer.send(f.open(1), f.data(1, new Uint8Array(WINDOW)), f.open(3), f.data(3, new Uint8Array(WINDOW)));
      flush();
      // Channel 1 holds the whole budget: channel 3 read its window, but its grant waits.
      expect(session.stats().bufferedIn).toBe(WINDOW);
      expect(credits()).toEqual([]);
      accepted.get(1)!.resume();
      flush();
      expect(session.stats().bufferedIn).toBe(0);
      expect(credits()).toEqual(expect.arrayContaining([f.credit(3, WINDOW), f.credit(1, WINDOW)]));
      expect(credits()).toHaveLength(2);
    });
  });
});
