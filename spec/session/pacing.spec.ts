/**
 * The in-flight bound and the express lane: once the carrier has pushed back, data waits in the channel queues while
 * the bytes the peer has not read yet (Ping probes tell) reach the bound, and is released as the peer reads; a
 * small message of another channel overtakes the queued bulk data.
 */
import { createSession, type Channel, type Frame, type Session } from '../../src/index.js';
import { f, virtualPeer, type VirtualPeer } from '../../src/testing.js';
import { at, type Hot, testScheduler } from '../support/marbles.js';

const KiB = 1024;
const FRAME = 16 * KiB;
const BOUND = 64 * KiB;

/** A short summary of a frame, for order assertions. */
function label(fr: Frame): string {
  if (fr.type === 'data') return `D${fr.streamId}:${fr.data.byteLength}`;
  if (fr.type === 'ping') return `${fr.flags & 1 ? 'ping' : 'pong'}:${fr.opaque}`;
  if (fr.type === 'window-update') return `W${fr.streamId}:${fr.flags}:${fr.delta}`;
  return fr.type;
}

interface Rig {
  peer: VirtualPeer;
  session: Session;
  channels: Map<number, Channel>;
  /** Labels of the frames written since the last call. */
  since(): string[];
}

/**
 * A client with channels 1 (bulk) and 3 (interactive) accepted, a large peer window, and the carrier saturated once
 * at 10. With `interactive`, channel 3 sends a 64-byte message at 2: the bound engages only while there is such traffic.
 */
function rig(hot: Hot, inFlightMin = BOUND, interactive = true): Rig {
  const peer = virtualPeer();
  const session = createSession(peer.carrier, { role: 'client', keepAlive: false, openTimeout: 0, maxFrameSize: FRAME, inFlightMin });
  const channels = new Map<number, Channel>();
  at(hot, 0, () => {
    for (let i = 0; i < 2; i++) session.open().subscribe((ch) => channels.set(ch.id, ch));
  });
  at(hot, 1, () => peer.send(f.accept(1), f.credit(1, 4 * 1024 * KiB), f.accept(3)));
  if (interactive) at(hot, 2, () => void channels.get(3)!.write(new Uint8Array(64)));
  at(hot, 10, () => {
    peer.saturate();
    peer.send(f.ping(99)); // our answer is the write that finds the carrier full
  });
  let seen = 0;
  const since = (): string[] => {
    const out = peer.written.slice(seen).map(label);
    seen = peer.written.length;
    return out;
  };
  return { peer, session, channels, since };
}

describe('the in-flight bound', () => {
  it('holds data back once BOUND bytes are unread by the peer, and releases it as the probes are answered', () => {
    testScheduler().run(({ hot, flush }) => {
      const r = rig(hot);
      const log: Record<number, string[]> = {};
      // Before any probe is answered nothing is held: the first 64 KiB go at the drain, then a probe.
      at(hot, 11, () => void r.channels.get(1)!.write(new Uint8Array(4 * FRAME)));
      at(hot, 19, () => r.since());
      at(hot, 20, () => r.peer.drain());
      at(hot, 21, () => (log[20] = r.since()));
      // The peer reads past the probe: the bound is active and 64 KiB are allowed again.
      at(hot, 30, () => r.peer.send(f.pong(1)));
      at(hot, 31, () => (log[30] = r.since()));
      at(hot, 40, () => void r.channels.get(1)!.write(new Uint8Array(16 * FRAME)));
      at(hot, 41, () => (log[40] = r.since()));
      // Nothing more until the peer has read past the probe sent after those bytes.
      at(hot, 50, () => (log[50] = r.since()));
      at(hot, 60, () => r.peer.send(f.pong(2)));
      let queued = -1;
      at(hot, 61, () => {
        log[60] = r.since();
        queued = r.channels.get(1)!.stats().queuedOut;
      });
      flush();
      expect(log[20]).toEqual(['D1:16384', 'D1:16384', 'D1:16384', 'D1:16384', 'ping:1']);
      expect(log[30]).toEqual([]);
      // 64 KiB allowed: four 16 KiB frames (the last one reaches the bound), then the next probe.
      expect(log[40]).toEqual(['D1:16384', 'D1:16384', 'D1:16384', 'D1:16384', 'ping:2']);
      expect(log[50]).toEqual([]);
      expect(log[60]).toEqual(['D1:16384', 'D1:16384', 'D1:16384', 'D1:16384', 'ping:3']);
      expect(queued).toBe(8 * FRAME);
    });
  });

  it('a probe rides in the same carrier write as the data it follows: no write of its own', () => {
    testScheduler().run(({ hot, flush }) => {
      const r = rig(hot);
      let calls = -1;
      let frames: string[] = [];
      at(hot, 11, () => void r.channels.get(1)!.write(new Uint8Array(4 * FRAME)));
      at(hot, 19, () => {
        r.since();
        calls = r.peer.writeCalls;
      });
      at(hot, 20, () => r.peer.drain());
      at(hot, 21, () => {
        frames = r.since();
        calls = r.peer.writeCalls - calls;
      });
      flush();
      expect(frames).toEqual(['D1:16384', 'D1:16384', 'D1:16384', 'D1:16384', 'ping:1']);
      expect(calls).toBe(1);
    });
  });

  it('a 64-byte message on another channel overtakes the held bulk data at once', () => {
    testScheduler().run(({ hot, flush }) => {
      const r = rig(hot);
      let held: string[] = [];
      let express: string[] = [];
      at(hot, 11, () => void r.channels.get(1)!.write(new Uint8Array(4 * FRAME)));
      at(hot, 20, () => r.peer.drain());
      at(hot, 30, () => r.peer.send(f.pong(1)));
      at(hot, 40, () => void r.channels.get(1)!.write(new Uint8Array(16 * FRAME)));
      at(hot, 41, () => r.since());
      at(hot, 50, () => {
        held = r.since();
        void r.channels.get(3)!.write(new Uint8Array(64));
      });
      let queued = -1;
      at(hot, 51, () => {
        express = r.since();
        queued = r.channels.get(1)!.stats().queuedOut;
      });
      flush();
      expect(held).toEqual([]);
      expect(express).toEqual(['D3:64']);
      expect(queued).toBe(12 * FRAME);
    });
  });

  it('a probe that is never answered lets the bound lapse: the data flows as without it', () => {
    testScheduler().run(({ hot, flush }) => {
      const r = rig(hot);
      at(hot, 11, () => void r.channels.get(1)!.write(new Uint8Array(4 * FRAME)));
      at(hot, 20, () => r.peer.drain());
      at(hot, 30, () => r.peer.send(f.pong(1)));
      at(hot, 40, () => void r.channels.get(1)!.write(new Uint8Array(16 * FRAME)));
      flush();
      // Probe 2 goes unanswered: after the probe timeout (1000 ms) everything queued leaves.
      expect(r.channels.get(1)!.stats().queuedOut).toBe(0);
      expect(r.session.isClosed).toBe(false);
    });
  });

  it('bulk transfers alone are neither held nor probed: with no small message in the last second the bound stays off', () => {
    testScheduler().run(({ hot, flush }) => {
      const r = rig(hot, BOUND, false);
      let queued = -1;
      at(hot, 11, () => void r.channels.get(1)!.write(new Uint8Array(20 * FRAME)));
      at(hot, 20, () => r.peer.drain());
      at(hot, 21, () => (queued = r.channels.get(1)!.stats().queuedOut));
      flush();
      expect(r.peer.written.filter((fr) => fr.type === 'ping' && fr.flags & 1)).toEqual([]);
      expect(queued).toBe(0);
    });
  });

  it('the bound lets go once no small message was written for a second, and engages again with the next one', () => {
    testScheduler().run(({ hot, flush }) => {
      const r = rig(hot);
      at(hot, 11, () => void r.channels.get(1)!.write(new Uint8Array(4 * FRAME)));
      at(hot, 20, () => r.peer.drain());
      at(hot, 30, () => r.peer.send(f.pong(1)));
      // The last small message went at 2: at 1100 the bound is off and a large write leaves whole.
      let late: string[] = [];
      at(hot, 1099, () => r.since());
      at(hot, 1100, () => void r.channels.get(1)!.write(new Uint8Array(16 * FRAME)));
      at(hot, 1101, () => (late = r.since()));
      // A small message at 1200 engages it again: the bytes still unread by the peer hold the next bulk write back.
      let again: string[] = [];
      at(hot, 1200, () => void r.channels.get(3)!.write(new Uint8Array(64)));
      at(hot, 1300, () => void r.channels.get(1)!.write(new Uint8Array(4 * FRAME)));
      at(hot, 1301, () => (again = r.since()));
      flush();
      expect(late.filter((l) => l.startsWith('D1:'))).toHaveLength(16);
      expect(late.filter((l) => l.startsWith('ping:'))).toEqual([]);
      expect(again.filter((l) => l.startsWith('D1:'))).toEqual([]);
      expect(again).toContain('D3:64');
    });
  });

  it('inFlightMin: 0 turns it off: no probes, nothing held', () => {
    testScheduler().run(({ hot, flush }) => {
      const r = rig(hot, 0);
      at(hot, 11, () => void r.channels.get(1)!.write(new Uint8Array(20 * FRAME)));
      at(hot, 20, () => r.peer.drain());
      flush();
      expect(r.peer.written.filter((fr) => fr.type === 'ping' && fr.flags & 1)).toEqual([]);
      expect(r.channels.get(1)!.stats().queuedOut).toBe(0);
    });
  });
});
