/**
 * Two protocol edges the channel's own frame intake settles (docs/PROTOCOL.md): a repeated ACK, and a frame whose
 * bytes trickle in for longer than `frameTimeout`.
 */
import { createSession, encodeFrame, MuxError, utf8, type Channel, type SessionEnd } from '../../src/index.js';
import { f, virtualPeer } from '../../src/testing.js';
import { at, testScheduler } from '../support/marbles.js';

describe('a repeated ACK (rxmux profile)', () => {
  it('the first Data|ACK payload is the accept reply; a second Data|ACK on the open channel is plain stream data', () => {
    testScheduler().run(({ flush }) => {
      const peer = virtualPeer();
      const session = createSession(peer.carrier, { role: 'client', keepAlive: false });
      let ch!: Channel;
      const got: string[] = [];
      session.open({ meta: 'hi', timeout: 0 }).subscribe((c) => {
        ch = c;
        c.incoming$.subscribe((b) => got.push(utf8(b)));
      });
      peer.send(f.accept(1, 'reply'), f.data(1, 'again', 2 /* ACK */), f.data(1, 'data'));
      flush();
      expect(utf8(ch.replyMeta)).toBe('reply');
      expect(got).toEqual(['again', 'data']);
      expect(session.isClosed).toBe(false);
    });
  });
});

describe('frameTimeout', () => {
  /** A session whose peer opens channel 1 and then declares a Data frame of `size` bytes. */
  function dripSetup(options: { frameTimeout?: number; keepAliveTimeout?: number; readTimeout?: number }, size = 100) {
    const peer = virtualPeer();
    const session = createSession(peer.carrier, { role: 'server', keepAlive: false, ...options });
    const ends: SessionEnd[] = [];
    session.closed$.subscribe((e) => ends.push(e));
    const got: number[] = [];
    const channelErrors: string[] = [];
    session.incoming$.subscribe({
      next: (req) =>
        req.accept().incoming$.subscribe({ next: (b) => got.push(b.byteLength), error: (e: Error) => channelErrors.push(e.message) }),
      error: () => undefined,
    });
    peer.send(f.open(1));
    const frame = encodeFrame(f.data(1, new Uint8Array(size)));
    return { peer, session, ends, got, frame, channelErrors };
  }

  it('a peer that trickles a 16 KiB frame a byte every 900 ms (each byte beating readTimeout 1000) is ended with ERR_MUX_TIMEOUT once the frame took frameTimeout', () => {
    testScheduler().run(({ hot, flush }) => {
      const { peer, session, ends, frame, got, channelErrors } = dripSetup({ frameTimeout: 5000, readTimeout: 1000 }, 16 * 1024);
      // The header at once, then the payload a byte at a time.
      peer.send(frame.subarray(0, 12));
      for (let i = 1; i <= 20; i++) at(hot, i * 900, () => peer.send(frame.subarray(11 + i, 12 + i)));
      flush();
      // Each payload byte reached the reader (and reset its idle clock) until the session ended.
      expect(got.length).toBeGreaterThan(0);
      expect(channelErrors).toHaveLength(1);
      expect(channelErrors[0]).toContain('frameTimeout');
      expect(ends).toHaveLength(1);
      expect(ends[0]!.error).toBeInstanceOf(MuxError);
      expect(ends[0]!.error).toMatchObject({ code: 'ERR_MUX_TIMEOUT' });
      expect(ends[0]!.error!.message).toContain('frameTimeout 5000 ms');
      expect(session.isClosed).toBe(true);
      expect(peer.released).toBe('destroy');
    });
  });

  it('a peer that starts a frame and then goes silent is ended at frameTimeout even with keep-alive off', () => {
    testScheduler().run(({ hot, flush }) => {
      const { peer, ends, frame } = dripSetup({ frameTimeout: 3000 });
      let endedAt = -1;
      at(hot, 0, () => peer.send(frame.subarray(0, 20)));
      at(hot, 2999, () => expect(ends).toHaveLength(0));
      at(hot, 3001, () => (endedAt = ends.length));
      flush();
      expect(endedAt).toBe(1);
      expect(ends[0]!.error).toMatchObject({ code: 'ERR_MUX_TIMEOUT' });
    });
  });

  it('an honest slow link that delivers each frame within the bound is not ended', () => {
    testScheduler().run(({ hot, flush }) => {
      const { peer, session, ends, got, frame } = dripSetup({ frameTimeout: 5000 });
      // Ten frames, each arriving in 10-byte pieces over 4.5 s, back to back (45 s in all).
      for (let n = 0; n < 10; n++) {
        for (let i = 0; i < frame.byteLength; i += 10) {
          const t = n * 5000 + (i / 10) * 400;
          at(hot, t, () => peer.send(frame.subarray(i, i + 10)));
        }
      }
      flush();
      expect(ends).toHaveLength(0);
      expect(got.reduce((a, b) => a + b, 0)).toBe(1000);
      expect(session.isClosed).toBe(false);
    });
  });

  it('defaults to keepAliveTimeout, and 0 turns the bound off', () => {
    testScheduler().run(({ hot, flush }) => {
      const byDefault = dripSetup({ keepAliveTimeout: 2000 });
      const off = dripSetup({ frameTimeout: 0, keepAliveTimeout: 2000 });
      at(hot, 0, () => {
        byDefault.peer.send(byDefault.frame.subarray(0, 20));
        off.peer.send(off.frame.subarray(0, 20));
      });
      flush();
      expect(byDefault.ends[0]?.error).toMatchObject({ code: 'ERR_MUX_TIMEOUT' });
      expect(off.ends).toHaveLength(0);
    });
  });

  it('rejects a bad value with ERR_MUX_INVALID_OPTION', () => {
    expect(() => createSession(virtualPeer().carrier, { role: 'client', frameTimeout: -1 })).toThrow(
      expect.objectContaining({ code: 'ERR_MUX_INVALID_OPTION' }),
    );
  });
});
