// Drop and resume at every interesting point, in virtual time: the connection is cut (at a byte offset, or with the
// bytes in flight lost) and the client's reconnect resumes the session; every channel ends as if nothing happened.
import { createHash } from 'node:crypto';
import { firstValueFrom } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import type { Channel, MuxError } from '../../src/index.js';
import { HEADER_LENGTH } from '../../src/frame/constants.js';
import { concatBytes, seededBytes } from '../support/bytes.js';
import { at, testScheduler } from '../support/marbles.js';
import { world } from './harness.js';

const ignore = (p: Promise<unknown>): void => void p.catch(() => undefined);
/** SHA-256 of bytes, for comparing large payloads (jest's deep equality on megabytes is slow). */
const sha = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/** Where offset `k` of a written stream falls: inside a frame header, inside a payload, or between frames. */
function classify(stream: Uint8Array, k: number): 'header' | 'payload' | 'boundary' {
  let at = 0;
  while (at < stream.byteLength) {
    if (k === at) return 'boundary';
    if (k < at + HEADER_LENGTH) return 'header';
    const type = stream[at + 1];
    const length = new DataView(stream.buffer, stream.byteOffset + at + 8, 4).getUint32(0);
    const payload = type === 0 || type === 4 ? length : 0;
    if (k < at + HEADER_LENGTH + payload) return 'payload';
    at += HEADER_LENGTH + payload;
  }
  return 'boundary';
}

describe('resumption: drop points (virtual time)', () => {
  let ts: TestScheduler;
  beforeEach(() => {
    ts = testScheduler();
  });

  it.each(['client', 'server'] as const)(
    'a cut at every byte offset of the %s stream (headers and payloads split) resumes byte-exact, FIN once',
    (side) => {
      const up = seededBytes(700, 1);
      const down = seededBytes(900, 2);
      const seen = new Set<string>();
      for (let k = 1; k <= 160; k++) {
        const ts = testScheduler();
        let w!: ReturnType<typeof world>;
        let start = 0;
        ts.run(({ hot }) => {
          w = world(ts, {
            chunkSize: { min: 1, max: 64 },
            seed: k,
            onOpen: (req, server) => {
              const ch = server.track(req.accept());
              ignore(ch.write(down));
              ch.end();
            },
          });
          at(hot, 10, () => {
            const carrier = side === 'client' ? w.conn.client : w.conn.server;
            start = carrier.written;
            carrier.cutAfter = start + k;
            w.session.open({ meta: 'm' }).subscribe((ch: Channel) => {
              w.client.track(ch);
              ignore(ch.write(up.subarray(0, 300)));
              ignore(ch.write(up.subarray(300)));
              ch.end();
            });
          });
        });
        const carrier = side === 'client' ? w.conn.client : w.conn.server;
        const stream = concatBytes(carrier.log);
        const cutHappened = carrier.isCut;
        if (cutHappened) seen.add(classify(stream.subarray(0), start + k));
        expect({ k, up: w.server.bytes(1), down: w.client.bytes(1) }).toEqual({ k, up, down });
        expect({ k, fins: [w.server.completes.get(1), w.client.completes.get(1)] }).toEqual({ k, fins: [1, 1] });
        expect({ k, errors: [...w.server.errors.get(1)!, ...w.client.errors.get(1)!] }).toEqual({ k, errors: [] });
        expect({ k, resumptions: w.session.stats().resumptions }).toEqual({ k, resumptions: cutHappened ? 1 : 0 });
      }
      // The sweep did split headers and payloads (and cut between frames).
      expect([...seen].sort()).toEqual(['boundary', 'header', 'payload']);
    },
  );

  it('between SYN and ACK: the lost ACK is replayed, open() emits once, the channel works', () => {
    let w!: ReturnType<typeof world>;
    let opened = 0;
    ts.run(({ hot }) => {
      w = world(ts, { latency: 5 });
      at(hot, 10, () =>
        w.session.open().subscribe((ch) => {
          opened++;
          w.client.track(ch);
          ignore(ch.write('hello'));
          ch.end();
        }),
      );
      // The SYN reached the server at 15 and its ACK is on the wire until 20: lose it.
      at(hot, 17, () => w.conn.cut('rst'));
    });
    expect(opened).toBe(1);
    expect(w.server.channels.size).toBe(1);
    expect(new TextDecoder().decode(w.server.bytes(1))).toBe('hello');
    expect(w.server.completes.get(1)).toBe(1);
    expect(w.states).toEqual(['connected', 'suspended', 'resumed']);
    expect(w.serverStates[0]).toEqual(['connected', 'suspended', 'resumed']);
  });

  it('during a reject: the lost refusal is replayed and open() fails once with its code and reason', () => {
    const errors: MuxError[] = [];
    let w!: ReturnType<typeof world>;
    ts.run(({ hot }) => {
      w = world(ts, { latency: 5, onOpen: (req) => req.reject('nope', 7) });
      at(hot, 10, () => w.session.open({ meta: 'x' }).subscribe({ error: (e: MuxError) => errors.push(e) }));
      at(hot, 17, () => w.conn.cut('rst'));
    });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'ERR_MUX_REJECTED', reason: 'nope', wireCode: 7, remote: true });
    expect(w.session.stats().resumptions).toBe(1);
  });

  it('after a FIN one way: the other way still flows after the resume, each FIN delivered once', () => {
    let w!: ReturnType<typeof world>;
    let serverCh!: Channel;
    ts.run(({ hot }) => {
      w = world(ts, { latency: 5, onOpen: (req, server) => (serverCh = server.track(req.accept())) });
      at(hot, 10, () =>
        w.session.open().subscribe((ch) => {
          w.client.track(ch);
          ignore(ch.write('ping'));
          ch.end();
        }),
      );
      at(hot, 30, () => w.conn.cut('fin'));
      // Written while both sides are suspended: it waits in the server's queue and store.
      at(hot, 38, () => {
        ignore(serverCh.write('pong'));
        serverCh.end();
      });
    });
    expect(new TextDecoder().decode(w.server.bytes(1))).toBe('ping');
    expect(new TextDecoder().decode(w.client.bytes(1))).toBe('pong');
    expect([w.server.completes.get(1), w.client.completes.get(1)]).toEqual([1, 1]);
    expect(w.session.stats().resumptions).toBe(1);
    expect(w.session.stats().openChannels).toBe(0);
  });

  it('during a RST: the lost reset reaches the peer once, with its code and reason', () => {
    let w!: ReturnType<typeof world>;
    let ch!: Channel;
    ts.run(({ hot }) => {
      w = world(ts, { latency: 5 });
      at(hot, 10, () => w.session.open().subscribe((c) => (ch = w.client.track(c))));
      at(hot, 30, () => ch.reset(9, 'bye'));
      at(hot, 32, () => w.conn.cut('rst'));
    });
    expect(w.server.errors.get(1)).toHaveLength(1);
    expect(w.server.errors.get(1)![0]).toMatchObject({ code: 'ERR_MUX_RESET', wireCode: 9, reason: 'bye', remote: true });
    expect(w.session.stats().resumptions).toBe(1);
  });

  it('during a GoAway drain: the lost GoAway is replayed (opens fail), the existing channel goes on', () => {
    let w!: ReturnType<typeof world>;
    let ch!: Channel;
    const openErrors: string[] = [];
    const data = seededBytes(50_000, 3);
    ts.run(({ hot }) => {
      w = world(ts, { latency: 5 });
      at(hot, 10, () => w.session.open().subscribe((c) => (ch = w.client.track(c))));
      at(hot, 30, () => w.net.servers[0]!.goAway());
      at(hot, 32, () => w.conn.cut('rst'));
      at(hot, 100, () => {
        w.session.open().subscribe({ error: (e: MuxError) => openErrors.push(e.code) });
        ignore(ch.write(data));
        ch.end();
      });
    });
    expect(openErrors).toEqual(['ERR_MUX_GOAWAY']);
    expect(sha(w.server.bytes(1))).toBe(sha(data));
    expect(w.server.completes.get(1)).toBe(1);
    expect(w.session.stats().resumptions).toBe(1);
  });

  it('during close(): the queued bytes, FINs and GoAway cross after the resume and both ends close cleanly', async () => {
    let w!: ReturnType<typeof world>;
    let closed: Promise<void> | undefined;
    let closedAt = -1;
    const data = seededBytes(200_000, 4);
    const serverEnds: (MuxError | undefined)[] = [];
    ts.run(({ hot }) => {
      w = world(ts, { latency: 3, chunkSize: 4096 });
      at(hot, 10, () =>
        w.session.open().subscribe((c) => {
          w.client.track(c);
          ignore(c.write(data));
          w.conn.client.cutAfter = w.conn.client.written + 50_001;
          closed = w.session.close().then(() => {
            closedAt = ts.now();
          });
        }),
      );
      at(hot, 20, () => w.net.servers[0]!.closed$.subscribe((e) => serverEnds.push(e.error)));
    });
    await closed;
    expect(closedAt).toBeGreaterThan(0);
    expect(w.conn.client.isCut).toBe(true);
    expect(sha(w.server.bytes(1))).toBe(sha(data));
    expect(w.server.completes.get(1)).toBe(1);
    expect(w.ends).toEqual([undefined]);
    expect(serverEnds).toEqual([undefined]);
    expect(w.session.stats().resumptions).toBe(1);
    expect(w.states).toEqual(['connected', 'suspended', 'resumed', 'closed']);
  });

  it('while the replay store is full: channels wait (never above the bound), nothing is evicted, all bytes arrive', () => {
    let w!: ReturnType<typeof world>;
    const data = seededBytes(4_000_000, 5);
    const limit = 2 * 1024 * 1024;
    const batch = 65536;
    let peakBeforeCut = 0;
    ts.run(({ hot }) => {
      w = world(ts, {
        latency: 20,
        client: { writeBatchSize: batch, maxFrameSize: batch, highWaterMark: 16_000_000 },
        server: { keepAlive: false, receiveWindow: 8 * 1024 * 1024, resume: { timeout: 1000 } },
        clientResume: { bufferLimit: limit },
      });
      at(hot, 10, () =>
        w.session.open().subscribe((c) => {
          w.client.track(c);
          ignore(c.write(data));
          c.end();
        }),
      );
      // Cut while the store is full (bytes in flight are lost and must come from it).
      let cut = false;
      at(
        hot,
        Array.from({ length: 400 }, (_, i) => 11 + i),
        () => {
          if (cut || w.session.stats().replayBuffered < limit) return;
          cut = true;
          peakBeforeCut = w.session.stats().replayPeak;
          w.conn.cut('rst');
        },
      );
    });
    expect(peakBeforeCut).toBeGreaterThanOrEqual(limit);
    // The bound: the limit, plus what one write of the writer may add (a batch and one frame past it).
    expect(w.session.stats().replayPeak).toBeLessThanOrEqual(limit + batch + batch + 1024);
    expect(sha(w.server.bytes(1))).toBe(sha(data));
    expect(w.server.completes.get(1)).toBe(1);
    expect(w.session.stats().resumptions).toBe(1);
    expect(w.session.stats().replayedBytes).toBeGreaterThan(0);
  });

  it('twice in a row, and with a second drop during the replay: every byte once, in order', () => {
    let w!: ReturnType<typeof world>;
    const up = seededBytes(1_000_000, 6);
    const down = seededBytes(800_000, 7);
    ts.run(({ hot }) => {
      w = world(ts, {
        latency: 2,
        capacity: 20_000,
        chunkSize: { min: 100, max: 5000 },
        onOpen: (req, server) => {
          const ch = server.track(req.accept());
          ignore(ch.write(down));
          ch.end();
        },
      });
      at(hot, 10, () =>
        w.session.open().subscribe((c) => {
          w.client.track(c);
          ignore(c.write(up));
          c.end();
        }),
      );
      at(hot, 12, () => w.conn.cut('rst'));
      // Once a third of the upload arrived: cut again, and the next connection breaks after the Resume frame and
      // 1000 bytes of the replay.
      let again = false;
      at(
        hot,
        Array.from({ length: 2000 }, (_, i) => 13 + i),
        () => {
          if (again || (w.server.counts.get(1) ?? 0) < 300_000) return;
          again = true;
          w.net.cutNextAfter = 44 + 1000;
          w.net.current.cut('fin');
        },
      );
    });
    expect(sha(w.server.bytes(1))).toBe(sha(up));
    expect(sha(w.client.bytes(1))).toBe(sha(down));
    expect([w.server.completes.get(1), w.client.completes.get(1)]).toEqual([1, 1]);
    expect(w.session.stats().resumptions).toBeGreaterThanOrEqual(3);
    expect(w.net.connections.length).toBeGreaterThanOrEqual(4);
    expect(w.net.connections[2]!.client.isCut).toBe(true);
  });

  it('resume timeout: with no new carrier, every channel fails once with ERR_MUX_CARRIER, on both ends', () => {
    let w!: ReturnType<typeof world>;
    let failedAt = -1;
    ts.run(({ hot }) => {
      w = world(ts, { latency: 5, clientResume: { maxAttempts: 1000 } });
      at(hot, 10, () => {
        w.session.open().subscribe((c) => w.client.track(c));
        w.session.open().subscribe((c) => w.client.track(c));
      });
      at(hot, 50, () => {
        w.net.downUntil = Number.POSITIVE_INFINITY;
        w.conn.cut('rst');
      });
      w.session.closed$.subscribe(() => (failedAt = ts.now()));
    });
    // The client saw the loss at once (50); the resume timeout is 1000 ms.
    expect(failedAt).toBe(1050);
    expect(w.ends).toHaveLength(1);
    expect(w.ends[0]).toMatchObject({ code: 'ERR_MUX_CARRIER' });
    for (const id of [1, 3]) {
      expect(w.client.errors.get(id)!.map((e) => e.code)).toEqual(['ERR_MUX_CARRIER']);
      expect(w.server.errors.get(id)!.map((e) => e.code)).toEqual(['ERR_MUX_CARRIER']);
    }
    expect(w.states).toEqual(['connected', 'suspended', 'closed']);
    expect(w.serverStates[0]).toEqual(['connected', 'suspended', 'closed']);
  });

  it('session.resume(carrier) by hand: refused while connected, then resumes a suspended session', async () => {
    let w!: ReturnType<typeof world>;
    const results: string[] = [];
    ts.run(({ hot }) => {
      w = world(ts, { latency: 5, clientResume: { timeout: 1000, reconnect: undefined } });
      at(hot, 20, () => {
        w.session
          .resume(w.net.dial().client)
          .subscribe({ complete: () => results.push('done'), error: (e: MuxError) => results.push(e.code) });
        w.session.open().subscribe((c) => {
          w.client.track(c);
          ignore(c.write('before'));
        });
      });
      at(hot, 40, () => {
        w.net.downUntil = Number.POSITIVE_INFINITY;
        w.conn.cut('rst');
      });
      at(hot, 200, () =>
        w.session
          .resume(w.net.dial().client)
          .subscribe({ complete: () => results.push('resumed'), error: (e: MuxError) => results.push(e.code) }),
      );
      at(hot, 300, () => {
        const ch = w.client.channels.get(1)!;
        ignore(ch.write(' after'));
        ch.end();
      });
    });
    expect(results).toEqual(['ERR_MUX_RESUME_IN_USE', 'resumed']);
    expect(new TextDecoder().decode(w.server.bytes(1))).toBe('before after');
    expect(w.server.completes.get(1)).toBe(1);
    await firstValueFrom(w.session.state$).then((s) => expect(s).toBe('resumed'));
  });

  it('pings waiting on a lost carrier fail; keep-alive does not end a suspended session and runs again after the resume', () => {
    let w!: ReturnType<typeof world>;
    const pings: string[] = [];
    let alive = false;
    let states: string[] = [];
    ts.run(({ hot }) => {
      w = world(ts, {
        latency: 5,
        client: { keepAlive: true, keepAliveInterval: 100, keepAliveTimeout: 50 },
        server: { keepAlive: true, keepAliveInterval: 100, keepAliveTimeout: 50, resume: { timeout: 5000 } },
        clientResume: { timeout: 5000, maxAttempts: 1000 },
      });
      at(hot, 20, () => w.session.ping().subscribe({ next: () => pings.push('answered'), error: (e: MuxError) => pings.push(e.code) }));
      at(hot, 22, () => {
        w.net.downUntil = 2000;
        w.conn.cut('rst');
      });
      at(hot, 3000, () => w.session.ping().subscribe({ next: () => pings.push('answered'), error: (e: MuxError) => pings.push(e.code) }));
      at(hot, 3500, () => {
        alive = !w.session.isClosed;
        states = [...w.states];
        w.session.destroy();
        for (const s of w.net.servers) s.destroy();
      });
    });
    expect(pings).toEqual(['ERR_MUX_CARRIER', 'answered']);
    expect(alive).toBe(true);
    expect(states).toEqual(['connected', 'suspended', 'resumed']);
  });
});
