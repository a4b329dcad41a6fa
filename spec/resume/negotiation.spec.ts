// Resumption is negotiated: a yamux-profile session never sends any of it, and a peer without it makes a session
// with it on behave exactly as without (no suspension, no store, no stall).
import type { TestScheduler } from 'rxjs/testing';
import {
  type Channel,
  createSession,
  memoryPair,
  type MuxError,
  ResumeRegistry,
  type Session,
  type SessionOptions,
  utf8,
} from '../../src/index.js';
import { decodeAll } from '../../src/frame.js';
import { concatBytes, seededBytes } from '../support/bytes.js';
import { at, testScheduler } from '../support/marbles.js';
import { type Connection, Net } from './net.js';
import { Record } from './harness.js';

const ignore = (p: Promise<unknown>): void => void p.catch(() => undefined);

function run(
  ts: TestScheduler,
  clientOptions: Omit<SessionOptions, 'role'>,
  serverOptions: Omit<SessionOptions, 'role'>,
  cutAt: number | undefined,
) {
  const got = new Record();
  const data = seededBytes(600_000, 9);
  let client!: Session;
  let server!: Session;
  let conn!: Connection;
  const states: string[] = [];
  const ends: (MuxError | undefined)[] = [];
  ts.run(({ hot }) => {
    // A bare connection: no registry routing, both sessions made here.
    const net = new Net({ scheduler: ts, latency: 2 }, {}, () => undefined);
    conn = net.dialBare();
    client = createSession(conn.client, { role: 'client', scheduler: ts, keepAlive: false, ...clientOptions });
    server = createSession(conn.server, { role: 'server', scheduler: ts, keepAlive: false, ...serverOptions });
    client.state$.subscribe((s) => states.push(s));
    client.closed$.subscribe((e) => ends.push(e.error));
    server.incoming$.subscribe({ next: (req) => got.track(req.accept()), error: () => undefined });
    at(hot, 10, () =>
      client.open().subscribe({
        next: (ch: Channel) => {
          ignore(ch.write(data));
          ch.end();
        },
        error: () => undefined,
      }),
    );
    if (cutAt !== undefined) at(hot, cutAt, () => conn.cut('rst'));
  });
  return { got, data, client, server, conn, states, ends };
}

describe('resumption: negotiation', () => {
  let ts: TestScheduler;
  beforeEach(() => {
    ts = testScheduler();
  });

  it('a yamux-profile session with resume on never sends a Hello or a Resume frame, and a cut fails it as without', () => {
    const r = run(ts, { profile: 'yamux', resume: true }, { profile: 'yamux', resume: true }, 30);
    for (const side of [r.conn.client, r.conn.server]) {
      const frames = decodeAll(concatBytes(side.log), { maxFrameSize: 1 << 20 });
      expect(frames.length).toBeGreaterThan(3);
      // decodeAll throws on a frame of type 4; a Hello is a Ping with flag 0x10.
      expect(frames.filter((f) => f.type === 'ping' && f.flags & 0x10)).toEqual([]);
    }
    expect(r.states).toEqual(['connected', 'closed']);
    expect(r.ends[0]).toMatchObject({ code: 'ERR_MUX_CARRIER' });
  });

  it.each([
    ['the client', { resume: { bufferLimit: 2097152 } }, {}],
    ['the server', {}, { resume: { bufferLimit: 2097152 } }],
  ] as const)('with resume on %s only: 600 kB cross (no store, no stall), and a cut fails the session as without', (_, c, s) => {
    const r = run(ts, c, s, undefined);
    expect(r.got.bytes(1)).toEqual(r.data);
    expect(r.got.completes.get(1)).toBe(1);
    expect(r.client.stats().replayBuffered + r.server.stats().replayBuffered).toBe(0);
    expect(r.client.stats().replayPeak + r.server.stats().replayPeak).toBeLessThanOrEqual(2097152 + 600_000);
    const cut = run(testScheduler(), c, s, 30);
    expect(cut.states).toEqual(['connected', 'closed']);
    expect(cut.ends[0]).toMatchObject({ code: 'ERR_MUX_CARRIER' });
  });

  it('resume() on a session without resumption errors with ERR_MUX_UNSUPPORTED; state$ is connected then closed', () => {
    const errors: string[] = [];
    const states: string[] = [];
    ts.run(() => {
      const net = new Net({ scheduler: ts, latency: 2 }, {}, () => undefined);
      const conn = net.dialBare();
      const s = createSession(conn.client, { role: 'client', scheduler: ts, keepAlive: false });
      s.state$.subscribe((x) => states.push(x));
      s.resume(net.dialBare().client).subscribe({ error: (e: MuxError) => errors.push(e.code) });
      s.destroy();
      s.state$.subscribe((x) => states.push(x));
    });
    expect(errors).toEqual(['ERR_MUX_UNSUPPORTED']);
    expect(states).toEqual(['connected', 'closed', 'closed']);
  });

  it('a server with resumption serves a client without it that waits for the server to speak: after 1 s of silence', () => {
    const ts = testScheduler();
    const routes: [number, string][] = [];
    let got = '';
    ts.run(({ flush }) => {
      const [a, b] = memoryPair({ scheduler: ts, latency: 1 });
      const registry = new ResumeRegistry(10_000, ts);
      // The client opens nothing and sends nothing: its protocol waits for the server's channel.
      const client = createSession(a, { role: 'client', scheduler: ts, keepAlive: false });
      client.incoming$.subscribe((req) => {
        const ch = req.accept();
        ch.incoming$.subscribe({ next: (bytes) => (got += utf8(bytes)), error: () => undefined });
      });
      registry.route(b).subscribe((r) => {
        routes.push([ts.now(), r.kind]);
        if (r.kind !== 'new') return;
        const server = createSession(r.carrier, { role: 'server', scheduler: ts, keepAlive: false, resume: { registry } });
        server.open().subscribe((ch) => {
          void ch.write('hello from the server');
          ch.end();
        });
      });
      flush();
    });
    expect(routes).toEqual([[1000, 'new']]);
    expect(got).toBe('hello from the server');
  });

  it('the resume option is validated', () => {
    for (const bad of [
      { timeout: 0 },
      { bufferLimit: 1000 },
      { maxAttempts: 0 },
      { reconnect: 5 },
      { retryDelay: -1 },
      { registry: {} },
      { nope: 1 },
      'yes',
    ]) {
      const net = new Net({ scheduler: testScheduler() }, {}, () => undefined);
      expect(() => createSession(net.dialBare().client, { role: 'client', resume: bad as never })).toThrow(
        expect.objectContaining({ code: 'ERR_MUX_INVALID_OPTION' }),
      );
    }
  });
});
