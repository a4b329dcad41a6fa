/**
 * Interop with hashicorp/yamux (Go, Debian golang-github-hashicorp-yamux-dev, upstream df201c7) through
 * the yamuxpeer program (spec/interop/go). Real loopback TCP, real time, no sleeps: every wait is on a
 * stdout line of the peer, a frame seen on the wire, or a promise of the rxmux API.
 *
 * Every case runs in both directions: rxmux client with a Go server (Go listens, rxmux connects) and
 * Go client with an rxmux server (rxmux listens, Go connects). rxmux uses the strict `yamux` profile
 * and every frame it writes is checked to be plain yamux.
 */
import { firstValueFrom } from 'rxjs';
import type { Channel } from '../../src/channel/types.js';
import { isMuxError, type MuxError } from '../../src/errors.js';
import type { IncomingChannel, Session } from '../../src/session/types.js';
import type { SessionOptions } from '../../src/options.js';
import { goPeerPath, goPeerPattern, requireGoPeer, startGoPeer, type GoPeer } from './go-peer.js';
import {
  acceptAndEcho,
  channelEnds,
  connectTcp,
  countFrames,
  written,
  creditRange,
  echoChannel,
  expectPlainYamux,
  goPattern,
  goPatternSha,
  KiB,
  listenOnce,
  MiB,
  onIncoming,
  readChannel,
  Resources,
  seededBytes,
  sha256Hex,
  stallingReader,
  waitForFrames,
  writeAll,
  yamuxSession,
  type Recorder,
} from './harness.js';

type Role = 'client' | 'server';
const PEER_TIMEOUT_MS = 40_000;
const WINDOW = 256 * KiB;

const res = new Resources();
afterEach(() => res.dispose());

async function start(args: string[]): Promise<GoPeer> {
  const peer = await startGoPeer(args, { timeoutMs: PEER_TIMEOUT_MS });
  res.defer(async () => {
    peer.kill();
    await peer.exited;
  });
  return peer;
}

interface Link {
  peer: GoPeer;
  session: Session;
  rec: Recorder;
}

/**
 * Starts the Go peer in the opposite role and connects an rxmux session to it over loopback TCP:
 * an rxmux client dials a listening Go server; a Go client dials a listening rxmux server.
 */
async function link(rxRole: Role, goArgs: string[], options: Partial<Omit<SessionOptions, 'role' | 'profile'>> = {}): Promise<Link> {
  if (rxRole === 'client') {
    const peer = await start(['-role', 'server', '-listen', '127.0.0.1:0', ...goArgs]);
    const { host, port } = await peer.listening;
    const socket = await connectTcp(res, host, port);
    return { peer, ...yamuxSession(res, socket, { role: 'client', ...options }) };
  }
  const { port, accepted } = await listenOnce(res);
  const peer = await start(['-role', 'client', '-connect', `127.0.0.1:${port}`, ...goArgs]);
  const socket = await Promise.race([
    accepted,
    peer.exited.then((e) => {
      throw new Error(`go peer exited (${String(e.code)}) before connecting:\n${e.stderr}`);
    }),
  ]);
  return { peer, ...yamuxSession(res, socket, { role: 'server', ...options }) };
}

// Most cases wait for the peer's ACK (so credit and refusals are settled when the channel arrives); the
// yamux-style eager open (the profile's default) has its own case.
const open = (session: Session): Promise<Channel> => firstValueFrom(session.open({ waitForAccept: true }));
const nextIncoming = (session: Session): Promise<IncomingChannel> => firstValueFrom(session.incoming$);
const ended = (session: Session): Promise<MuxError | undefined> => firstValueFrom(session.closed$).then((e) => e.error);

const ECHO_ROWS: { streams: number; bytes: number; label: string }[] = [
  { streams: 1, bytes: 1, label: '1 byte' },
  { streams: 1, bytes: 64 * KiB, label: '64 KiB' },
  { streams: 1, bytes: 8 * MiB, label: '8 MiB' },
  { streams: 10, bytes: 64 * KiB, label: '64 KiB' },
  { streams: 100, bytes: 64 * KiB, label: '64 KiB' },
  { streams: 10, bytes: 1 * MiB, label: '1 MiB' },
];

const GO_AVAILABLE = goPeerPath() !== undefined;

describe('interop with Go hashicorp/yamux (yamux profile)', () => {
  let peerBin: string | undefined;
  beforeAll(() => {
    // Prints "SKIPPED: Go yamux interop (run: npm run setup:interop)" when the peer is missing; throws under CI=true.
    peerBin = requireGoPeer();
  });

  if (!GO_AVAILABLE && process.env.CI !== 'true') {
    it('SKIPPED: the Go yamux peer is not installed (run: npm run setup:interop)', () => {
      expect(peerBin).toBeUndefined();
    });
    return;
  }

  it("computes the Go peer's data pattern exactly (go-peer.ts and the README's 1,000,000-byte SHA-256)", () => {
    for (let k = 0; k < 3; k++) expect(goPattern(k, 4096, 12_345)).toEqual(goPeerPattern(k, 4096, 12_345));
    expect(goPatternSha(0, 1_000_000)).toBe('720875c71138e974da5bb2d9013c11784bb46523debb9f5b5c13364e223bef3c');
  });

  for (const rxRole of ['client', 'server'] as const) {
    const goRole: Role = rxRole === 'client' ? 'server' : 'client';
    const ours = (id: number): boolean => id % 2 === (rxRole === 'client' ? 1 : 0);

    describe(`rxmux ${rxRole} <-> Go ${goRole}`, () => {
      describe('data', () => {
        it.each(ECHO_ROWS)(
          'Go echoes $label on each of $streams concurrent channel(s) rxmux opens, SHA-256 equal',
          async ({ streams, bytes }) => {
            const { peer, session, rec } = await link(rxRole, ['-mode', 'echo', '-streams', String(streams)]);
            const payloads = Array.from({ length: streams }, (_, k) => seededBytes(bytes, k + 1));
            const results = await Promise.all(
              payloads.map(async (data) => {
                const ch = await open(session);
                const reading = readChannel(ch);
                await writeAll(ch, data);
                ch.end();
                const got = await reading;
                const end = await firstValueFrom(ch.closed$);
                return { id: ch.id, ...got, end };
              }),
            );
            results.forEach((r, k) => {
              expect(ours(r.id)).toBe(true);
              expect(r.bytes).toBe(bytes);
              expect(r.sha).toBe(sha256Hex(payloads[k]!));
              expect(r.end.error).toBeUndefined();
            });
            expect(new Set(results.map((r) => r.id)).size).toBe(streams);
            if (bytes === 8 * MiB) expect(results[0]!.chunks).toBeGreaterThan(1);
            await peer.waitForLine('DONE');
            for (const r of results) expect(peer.stdoutLines).toContain(`ECHO ${r.id} ${bytes}`);
            await session.close();
            expect((await peer.exited).code).toBe(0);
            expect(session.stats().openChannels).toBe(0);
            expectPlainYamux(rec);
          },
        );

        it.each(ECHO_ROWS)(
          'rxmux echoes $label on each of $streams concurrent channel(s) Go opens, SHA-256 equal',
          async ({ streams, bytes }) => {
            const { peer, session, rec } = await link(rxRole, ['-mode', 'open-echo', '-streams', String(streams), '-bytes', String(bytes)]);
            const results = acceptAndEcho(session);
            const exit = await peer.exited;
            expect(peer.stdoutLines.filter((l) => l.startsWith('STREAM'))).toHaveLength(streams);
            for (let k = 0; k < streams; k++) {
              expect(peer.stdoutLines).toContain(`STREAM ${k} OK ${goPatternSha(k, bytes)}`);
            }
            expect(exit.code).toBe(0);
            const ids = [...results.keys()].sort((a, b) => a - b);
            expect(ids).toHaveLength(streams);
            for (const [k, id] of ids.entries()) {
              expect(ours(id)).toBe(false);
              await expect(results.get(id)!).resolves.toEqual({ bytes, sha: goPatternSha(k, bytes) });
            }
            // hashicorp/yamux's Session.Close() sends no GoAway: rxmux sees the carrier end before a close.
            await expect(ended(session)).resolves.toMatchObject({ code: 'ERR_MUX_CARRIER' });
            expectPlainYamux(rec);
          },
        );
      });

      describe('flow control', () => {
        it('a 2.5 MiB transfer to a slow Go reader is held by the 256 KiB window and arrives intact', async () => {
          const { peer, session, rec } = await link(rxRole, ['-mode', 'slow-sink', '-streams', '1', '-chunk', '16384', '-delay-ms', '1']);
          const data = seededBytes(10 * WINDOW, 7);
          const ch = await open(session);
          const credit = creditRange(ch);
          const reply = readChannel(ch, 200);
          await writeAll(ch, data, 32 * KiB);
          ch.end();
          const got = await reply;
          expect(new TextDecoder().decode(got.head)).toBe(`${data.byteLength} ${sha256Hex(data)}\n`);
          expect(credit.max()).toBe(WINDOW);
          expect(credit.min()).toBe(0);
          // Go granted the window back at least nine times (credit arrives only as its reader consumes).
          expect(countFrames(rec.in, { type: 1, flags: 0, streamId: ch.id })).toBeGreaterThanOrEqual(9);
          await peer.waitForLine(`SLOW-SINK ${ch.id} ${data.byteLength} ${sha256Hex(data)}`);
          await session.close();
          expect((await peer.exited).code).toBe(0);
          expectPlainYamux(rec);
        });

        it('a 2.5 MiB transfer from Go to a reader that stalls until its window is full never buffers more than 256 KiB', async () => {
          const bytes = 10 * WINDOW;
          const { peer, session, rec } = await link(rxRole, ['-mode', 'source', '-streams', '1', '-bytes', String(bytes)], {
            maxReceiveWindow: WINDOW,
          }); // tuning off: the bound under test is the 256 KiB window
          const ch = (await nextIncoming(session)).accept();
          const { result } = stallingReader(ch, rec);
          const got = await result;
          expect(got.bytes).toBe(bytes);
          expect(got.sha).toBe(goPatternSha(0, bytes));
          expect(got.maxBuffered).toBe(WINDOW);
          expect(got.fills).toBeGreaterThanOrEqual(9);
          ch.end();
          await peer.waitForLine('STREAM 0 READ 0');
          expect((await peer.exited).code).toBe(0);
          expectPlainYamux(rec);
        });

        it('a Go peer with a 16 MiB window grants it in its ACK: the credit of the channel rxmux opened is 16 MiB', async () => {
          const { peer, session, rec } = await link(rxRole, ['-mode', 'echo', '-streams', '1', '-window', String(16 * MiB)]);
          const ch = await open(session);
          expect(ch.stats().credit).toBe(16 * MiB);
          expect(await firstValueFrom(ch.credit$)).toBe(16 * MiB);
          const data = seededBytes(8 * MiB, 3);
          const reading = readChannel(ch);
          await writeAll(ch, data);
          ch.end();
          expect((await reading).sha).toBe(sha256Hex(data));
          await peer.waitForLine(`ECHO ${ch.id} ${data.byteLength}`);
          await session.close();
          expect((await peer.exited).code).toBe(0);
          expectPlainYamux(rec);
        });

        it('a Go peer with a 16 MiB window grants it in its SYN: the credit of the channel rxmux accepts is 16 MiB at accept', async () => {
          const bytes = 1 * MiB;
          const { peer, session, rec } = await link(rxRole, [
            '-mode',
            'open-echo',
            '-streams',
            '1',
            '-bytes',
            String(bytes),
            '-window',
            String(16 * MiB),
          ]);
          // Accepted synchronously, inside the delivery of the SYN: the SYN's delta is already counted.
          const accepted = new Promise<{ ch: Channel; credit: number }>((resolve) =>
            onIncoming(session, (req) => {
              const ch = req.accept();
              resolve({ ch, credit: ch.stats().credit });
            }),
          );
          const { ch, credit } = await accepted;
          expect(credit).toBe(16 * MiB);
          expect(await echoChannel(ch)).toBe(bytes);
          await peer.waitForLine(`STREAM 0 OK ${goPatternSha(0, bytes)}`);
          expect((await peer.exited).code).toBe(0);
          expectPlainYamux(rec);
        });

        it('Go uses the larger receive window rxmux announces in its ACK (1 MiB buffered before any grant)', async () => {
          const bytes = 4 * MiB;
          const { peer, session, rec } = await link(rxRole, ['-mode', 'source', '-streams', '1', '-bytes', String(bytes)], {
            receiveWindow: 1 * MiB,
            maxReceiveWindow: 1 * MiB,
          });
          const ch = (await nextIncoming(session)).accept();
          await written();
          expect(countFrames(rec.out, { type: 1, flags: 2, streamId: ch.id, length: 1 * MiB - WINDOW })).toBe(1);
          const got = await stallingReader(ch, rec).result;
          expect(got.maxBuffered).toBe(1 * MiB);
          expect(got.sha).toBe(goPatternSha(0, bytes));
          ch.end();
          expect((await peer.exited).code).toBe(0);
          expectPlainYamux(rec);
        });

        it('Go uses the larger receive window rxmux announces in its SYN (1 MiB buffered before any grant)', async () => {
          const bytes = 4 * MiB;
          const { peer, session, rec } = await link(rxRole, ['-mode', 'echo', '-streams', '1'], {
            receiveWindow: 1 * MiB,
            maxReceiveWindow: 1 * MiB,
          });
          const ch = await open(session);
          expect(countFrames(rec.out, { type: 1, flags: 1, streamId: ch.id, length: 1 * MiB - WINDOW })).toBe(1);
          const data = seededBytes(bytes, 11);
          const reading = stallingReader(ch, rec).result;
          await writeAll(ch, data);
          ch.end();
          const got = await reading;
          expect(got.maxBuffered).toBe(1 * MiB);
          expect(got.sha).toBe(sha256Hex(data));
          await peer.waitForLine(`ECHO ${ch.id} ${bytes}`);
          await session.close();
          expect((await peer.exited).code).toBe(0);
          expectPlainYamux(rec);
        });
      });

      describe('half-close', () => {
        it('rxmux half-closes (FIN) and still reads the reply Go writes after it', async () => {
          const { peer, session, rec } = await link(rxRole, ['-mode', 'halfclose']);
          const ch = await open(session);
          const data = seededBytes(100_000, 5);
          const reading = readChannel(ch, 100);
          await writeAll(ch, data);
          ch.end();
          const got = await reading;
          expect(new TextDecoder().decode(got.head)).toBe('got 100000\n');
          expect(await firstValueFrom(ch.closed$)).toEqual({ error: undefined });
          await peer.waitForLine(`HALFCLOSE ${ch.id} 100000`);
          await session.close();
          expect((await peer.exited).code).toBe(0);
          expectPlainYamux(rec);
        });

        it('Go half-closes (FIN) and still reads the reply rxmux writes after it', async () => {
          const bytes = 100_000;
          const { peer, session, rec } = await link(rxRole, ['-mode', 'source', '-streams', '1', '-bytes', String(bytes)]);
          const ch = (await nextIncoming(session)).accept();
          const got = await readChannel(ch);
          expect(got.sha).toBe(goPatternSha(0, bytes));
          expect(ch.stats().readClosed).toBe(true);
          await ch.write(`got ${got.bytes}\n`);
          ch.end();
          expect(await firstValueFrom(ch.closed$)).toEqual({ error: undefined });
          await peer.waitForLine('STREAM 0 READ 11');
          expect((await peer.exited).code).toBe(0);
          expectPlainYamux(rec);
        });
      });

      describe('reset', () => {
        it('rxmux reset() reaches Go as a stream reset in the middle of its 8 MiB write', async () => {
          const bytes = 8 * MiB;
          const { peer, session, rec } = await link(rxRole, ['-mode', 'source', '-streams', '1', '-bytes', String(bytes)]);
          const ch = (await nextIncoming(session)).accept();
          const { ends } = channelEnds(ch);
          let read = 0;
          while (read < 64 * KiB) read += (await ch.read())!.byteLength;
          ch.reset();
          expect(ends).toHaveLength(1);
          expect(ends[0]).toMatchObject({ code: 'ERR_MUX_RESET', remote: false });
          await written();
          expect(countFrames(rec.out, { type: 1, flags: 8, streamId: ch.id, length: 0 })).toBe(1);
          const line = await peer.waitForLine(/^STREAM 0 READ \d+/);
          expect(line).toMatch(/^STREAM 0 READ 0 ERROR .*reset/);
          const wrote = peer.stdoutLines.find((l) => l.startsWith('STREAM 0 WRITE'));
          expect(wrote).toMatch(/^STREAM 0 WRITE \d+ ERROR .*reset/);
          expect(Number(wrote!.split(' ')[3])).toBeLessThan(bytes);
          await peer.exited;
          expectPlainYamux(rec);
        });

        it('a reset from Go errors rxmux channel with ERR_MUX_RESET on reads and writes', async () => {
          const { peer, session, rec } = await link(rxRole, ['-mode', 'reset', '-bytes', String(64 * KiB)]);
          const ch = await open(session);
          const { ends, done } = channelEnds(ch);
          const reading = readChannel(ch);
          await ch.write(seededBytes(64 * KiB, 9));
          await expect(reading).rejects.toMatchObject({ code: 'ERR_MUX_RESET', remote: true });
          expect(await done).toMatchObject({ code: 'ERR_MUX_RESET', remote: true });
          await expect(ch.write('more')).rejects.toMatchObject({ code: 'ERR_MUX_RESET' });
          expect(ends).toHaveLength(1);
          expect(ch.state).toBe('closed');
          await peer.waitForLine(`RESET ${ch.id} AFTER ${64 * KiB}`);
          // The session survives the reset: a ping still answers.
          expect(await firstValueFrom(session.ping())).toBeGreaterThanOrEqual(0);
          await session.close();
          expect((await peer.exited).code).toBe(0);
          expectPlainYamux(rec);
        });
      });

      describe('GoAway', () => {
        it('GoAway(0) from Go: new opens fail with ERR_MUX_GOAWAY while the channel in flight completes', async () => {
          const { peer, session, rec } = await link(rxRole, ['-mode', 'goaway']);
          const firstIncoming = nextIncoming(session);
          const ch = await open(session);
          const data = seededBytes(1 * MiB, 13);
          const reading = readChannel(ch);
          await ch.write(data.subarray(0, 256 * KiB));
          await peer.waitForLine('GOAWAY SENT');
          // Go wrote its GoAway before printing; a ping round trip orders it before our next open.
          await firstValueFrom(session.ping());
          expect(countFrames(rec.in, { type: 3, length: 0 })).toBe(1);
          await expect(open(session)).rejects.toMatchObject({ code: 'ERR_MUX_GOAWAY' });
          await writeAll(ch, data.subarray(256 * KiB));
          ch.end();
          const got = await reading;
          expect(got.sha).toBe(sha256Hex(data));
          await peer.waitForLine(`ECHO ${ch.id} ${data.byteLength}`);
          // A local GoAway does not stop hashicorp/yamux from opening: its stream arrives, then its FIN.
          const line = await peer.waitForLine('OPEN AFTER GOAWAY');
          const m = /^OPEN AFTER GOAWAY: <nil> \(stream (\d+)\)$/.exec(line);
          expect(m).not.toBeNull();
          const req = await firstIncoming;
          expect(req.id).toBe(Number(m![1]));
          const late = req.accept();
          expect((await readChannel(late)).bytes).toBe(0);
          late.end();
          expect(session.isClosed).toBe(false);
          await session.close();
          expect((await peer.exited).code).toBe(0);
          expectPlainYamux(rec);
        });

        it('after rxmux sends GoAway(0), Go can open nothing more while the channel in flight completes', async () => {
          const { peer, session, rec } = await link(rxRole, ['-mode', 'goaway']);
          const ch = await open(session);
          const data = seededBytes(1 * MiB, 17);
          const reading = readChannel(ch);
          await ch.write(data.subarray(0, 128 * KiB));
          session.goAway();
          // Control frames go first, but only once the socket takes more bytes.
          await waitForFrames(rec.out, rec.out$, (f) => f.type === 3 && f.length === 0);
          await writeAll(ch, data.subarray(128 * KiB));
          ch.end();
          expect((await reading).sha).toBe(sha256Hex(data));
          await peer.waitForLine(`ECHO ${ch.id} ${data.byteLength}`);
          expect(await peer.waitForLine('OPEN AFTER GOAWAY')).toBe('OPEN AFTER GOAWAY: remote end is not accepting connections');
          await session.close();
          expect((await peer.exited).code).toBe(0);
          expectPlainYamux(rec);
        });

        it('rxmux GoAway(0) while Go streams are in flight: they run to completion', async () => {
          const bytes = 4 * MiB;
          const { peer, session, rec } = await link(rxRole, ['-mode', 'open-echo', '-streams', '3', '-bytes', String(bytes)]);
          const echoes: Promise<number>[] = [];
          onIncoming(session, (req) => {
            echoes.push(echoChannel(req.accept()));
            // All three are in flight (accepted, bytes flowing): now say no more.
            if (echoes.length === 3) session.goAway();
          });
          const exit = await peer.exited;
          // The three streams in flight when our GoAway went out all run to completion.
          for (let k = 0; k < 3; k++) expect(peer.stdoutLines).toContain(`STREAM ${k} OK ${goPatternSha(k, bytes)}`);
          expect(exit.code).toBe(0);
          expect(await Promise.all(echoes)).toEqual([bytes, bytes, bytes]);
          expect(countFrames(rec.out, { type: 3, length: 0 })).toBe(1);
          expect(session.stats().refusedOpens).toBe(0);
          expectPlainYamux(rec);
        });
      });

      describe('ping and keep-alive', () => {
        it('session.ping() to Go returns the round-trip time', async () => {
          const { peer, session, rec } = await link(rxRole, ['-mode', 'echo']);
          const rtts: number[] = [];
          for (let i = 0; i < 3; i++) rtts.push(await firstValueFrom(session.ping()));
          for (const rtt of rtts) {
            expect(Number.isFinite(rtt)).toBe(true);
            expect(rtt).toBeGreaterThanOrEqual(0);
          }
          expect(session.stats().rtt).toBeGreaterThanOrEqual(0);
          expect(countFrames(rec.out, { type: 2, flags: 1 })).toBe(3);
          expect(countFrames(rec.in, { type: 2, flags: 2 })).toBe(3);
          await session.close();
          expect((await peer.exited).code).toBe(0);
          expectPlainYamux(rec);
        });

        it('Go pings rxmux and prints the round-trip times', async () => {
          const { peer, session, rec } = await link(rxRole, ['-mode', 'ping', '-count', '5']);
          const exit = await peer.exited;
          const rtts = peer.stdoutLines.filter((l) => l.startsWith('RTT ')).map((l) => Number(l.slice(4)));
          expect(rtts).toHaveLength(5);
          for (const ns of rtts) expect(ns).toBeGreaterThan(0);
          expect(exit.code).toBe(0);
          expect(countFrames(rec.out, { type: 2, flags: 2 })).toBe(5);
          await ended(session);
          expectPlainYamux(rec);
        });

        it('rxmux keep-alive pings every 50 ms and Go answers each one', async () => {
          const { peer, session, rec } = await link(rxRole, ['-mode', 'echo'], {
            keepAlive: true,
            keepAliveInterval: 50,
            keepAliveTimeout: 5_000,
          });
          const pongs = await waitForFrames(rec.in, rec.in$, (f) => f.type === 2 && f.flags === 2, 4);
          const pings = rec.out.filter((f) => f.type === 2 && f.flags === 1);
          expect(pings.length).toBeGreaterThanOrEqual(4);
          for (const p of pongs.slice(0, 4)) expect(pings.map((x) => x.length)).toContain(p.length);
          expect(session.isClosed).toBe(false);
          await session.close();
          expect((await peer.exited).code).toBe(0);
          expectPlainYamux(rec);
        });

        it('Go keep-alive pings every 50 ms are answered by rxmux', async () => {
          const { peer, session, rec } = await link(rxRole, ['-mode', 'echo', '-keepalive-ms', '50', '-write-timeout-ms', '2000']);
          const pings = await waitForFrames(rec.in, rec.in$, (f) => f.type === 2 && f.flags === 1, 4);
          await waitForFrames(rec.out, rec.out$, (f) => f.type === 2 && f.flags === 2, 4);
          const acks = rec.out.filter((f) => f.type === 2 && f.flags === 2).map((f) => f.length);
          for (const p of pings.slice(0, 4)) expect(acks).toContain(p.length);
          expect(session.isClosed).toBe(false);
          await session.close();
          const exit = await peer.exited;
          expect(exit.code).toBe(0);
          expect(peer.stdoutLines.some((l) => l.includes('keepalive timeout'))).toBe(false);
          expectPlainYamux(rec);
        });
      });

      describe('peer disconnect', () => {
        for (const how of ['TCP FIN', 'TCP RST'] as const) {
          it(`Go dropping the connection (${how}) mid-transfer errors every rxmux channel once with ERR_MUX_CARRIER`, async () => {
            const args = ['-mode', 'disconnect', '-bytes', String(256 * KiB), '-backlog', '8'];
            if (how === 'TCP RST') args.push('-tcp-rst');
            const { peer, session, rec } = await link(rxRole, args);
            const sessionEnds: unknown[] = [];
            session.closed$.subscribe((e) => sessionEnds.push(e.error));
            const a = await open(session);
            const aEnds = channelEnds(a);
            const readErrors: unknown[] = [];
            a.incoming$.subscribe({ error: (e) => readErrors.push(e) });
            // Two more opens Go never accepts (hashicorp/yamux ACKs only in AcceptStream).
            const pendingOpens = [open(session), open(session)];
            // One 8 MiB write: it waits (past the high-water mark) until the connection drops.
            const writing = a.write(seededBytes(8 * MiB, 19));
            await expect(writing).rejects.toMatchObject({ code: 'ERR_MUX_CARRIER' });
            for (const p of pendingOpens) await expect(p).rejects.toMatchObject({ code: 'ERR_MUX_CARRIER' });
            expect(await aEnds.done).toMatchObject({ code: 'ERR_MUX_CARRIER' });
            await peer.waitForLine('DISCONNECT AFTER');
            expect(aEnds.ends).toHaveLength(1);
            expect(readErrors).toHaveLength(1);
            expect(readErrors[0]).toMatchObject({ code: 'ERR_MUX_CARRIER' });
            expect(sessionEnds).toHaveLength(1);
            expect(isMuxError(sessionEnds[0], 'ERR_MUX_CARRIER')).toBe(true);
            expect(session.stats().openChannels).toBe(0);
            // Later opens fail at once, as after any session end.
            const framesBefore = rec.out.length;
            await expect(open(session)).rejects.toMatchObject({ code: 'ERR_MUX_SESSION_CLOSED' });
            expect(rec.out).toHaveLength(framesBefore);
            await peer.exited;
            expectPlainYamux(rec);
          });
        }
      });

      describe('strict yamux profile on the wire', () => {
        it('a full scenario (open, accept, reject, data, half-close, reset, ping, keep-alive, GoAway, close) writes only plain yamux', async () => {
          const bytes = 300 * KiB;
          const { peer, session, rec } = await link(
            rxRole,
            ['-mode', 'open-echo', '-streams', '4', '-bytes', String(bytes), '-keepalive-ms', '20'],
            {
              keepAlive: true,
              keepAliveInterval: 20,
              receiveWindow: 512 * KiB,
            },
          );
          const seen: string[] = [];
          let n = 0;
          const done: Promise<unknown>[] = [];
          let allArrived!: () => void;
          const arrived = new Promise<void>((r) => (allArrived = r));
          onIncoming(session, (req) => {
            const k = n++;
            if (n === 4) allArrived();
            if (k === 0) {
              req.reject('not this one', 7);
              seen.push('rejected');
            } else if (k === 1) {
              const ch = req.accept();
              done.push(
                (async () => {
                  await ch.read();
                  ch.reset(3, 'enough');
                  seen.push('reset');
                })(),
              );
            } else if (k === 2) {
              done.push(echoChannel(req.accept()).then(() => seen.push('echoed')));
            } else {
              // Async accept: hold the last stream (and so Go's DONE) until three of our pings went out
              // and a keep-alive ping of Go's was answered.
              done.push(
                Promise.all([
                  waitForFrames(rec.out, rec.out$, (f) => f.type === 2 && f.flags === 1, 3),
                  waitForFrames(rec.out, rec.out$, (f) => f.type === 2 && f.flags === 2),
                ])
                  .then(() => echoChannel(req.accept()))
                  .then(() => seen.push('echoed')),
              );
            }
          });
          // And a channel rxmux opens, which the active Go peer accepts and closes at once.
          const mine = await open(session);
          await mine.write('hello');
          mine.end();
          await readChannel(mine);
          expect(await firstValueFrom(session.ping())).toBeGreaterThanOrEqual(0);
          await arrived;
          session.goAway();
          await Promise.all(done);
          await peer.waitForLine('DONE');
          expect(seen.sort()).toEqual(['echoed', 'echoed', 'rejected', 'reset']);
          expect(peer.stdoutLines).toContain(`UNEXPECTED STREAM ${mine.id}`);
          expect(peer.stdoutLines).toContain(`STREAM 2 OK ${goPatternSha(2, bytes)}`);
          expect(peer.stdoutLines).toContain(`STREAM 3 OK ${goPatternSha(3, bytes)}`);
          expect(peer.stdoutLines.find((l) => l.startsWith('STREAM 0 '))).toMatch(/FAIL/);
          expect(peer.stdoutLines.find((l) => l.startsWith('STREAM 1 '))).toMatch(/FAIL/);
          // Go closes its session after DONE (without a GoAway of its own).
          await peer.exited;
          await ended(session);
          // Every kind of frame rxmux writes showed up.
          expect(countFrames(rec.out, { type: 1, flags: 1, streamId: mine.id, length: 256 * KiB })).toBe(1); // SYN + 256 KiB extra window
          expect(rec.out.some((f) => f.type === 1 && f.flags === 2 && f.length === 256 * KiB)).toBe(true); // ACK + extra window
          // reject + reset, their codes 7 and 3 in the length field (go-yamux v5); hashicorp/yamux ignores it
          expect(rec.out.filter((f) => f.type === 1 && f.flags === 8).map((f) => f.length)).toEqual([7, 3]);
          expect(rec.out.some((f) => f.type === 1 && f.flags === 4)).toBe(true); // FIN
          expect(rec.out.some((f) => f.type === 0 && f.flags === 0)).toBe(true); // data
          expect(rec.out.some((f) => f.type === 1 && f.flags === 0)).toBe(true); // window update
          expect(rec.out.some((f) => f.type === 2 && f.flags === 2)).toBe(true); // pong
          expect(countFrames(rec.out, { type: 3, flags: 0, length: 0 })).toBe(1); // GoAway(0)
          expectPlainYamux(rec);
          expect(rec.out.filter((f) => f.type === 0).every((f) => f.flags === 0 && f.length > 0 && f.length <= 64 * KiB)).toBe(true);
        });
      });
    });
  }
});
