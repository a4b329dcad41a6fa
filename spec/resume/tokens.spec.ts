// Resume tokens: refused attempts (wrong, stale, unknown, in use, position not held, too many) get a clear
// ERR_MUX_RESUME_* answer and leave the suspended session as it was; the genuine client then resumes.
import type { TestScheduler } from 'rxjs/testing';
import { encodeResume, parseResumeFrame, ResumeKind, readU64 } from '../../src/frame/resume.js';
import type { Channel, MuxError } from '../../src/index.js';
import { readU32 } from '../../src/util/bytes.js';
import { toHex } from '../../src/testing.js';
import { concatBytes } from '../support/bytes.js';
import { at, testScheduler } from '../support/marbles.js';
import { world } from './harness.js';
import type { Net } from './net.js';

/** Every Resume frame in a written stream, in order. */
function resumeFrames(stream: Uint8Array): { kind: number; payload: Uint8Array }[] {
  const out: { kind: number; payload: Uint8Array }[] = [];
  let i = 0;
  while (i + 12 <= stream.byteLength) {
    const type = stream[i + 1];
    const length = readU32(stream, i + 8);
    if (type === 4) out.push(parseResumeFrame(stream.subarray(i))!.frame);
    i += 12 + (type === 0 || type === 4 ? length : 0);
  }
  return out;
}

/** The token the server gave on `conn` (the Token frame of a new session, or the one in a Resumed answer). */
function tokenOn(net: Net, conn: number): Uint8Array {
  const frames = resumeFrames(concatBytes(net.connections[conn]!.server.log));
  const f = frames.find((x) => x.kind === ResumeKind.Token || x.kind === ResumeKind.Resumed)!;
  return f.kind === ResumeKind.Token ? f.payload.slice() : f.payload.slice(8);
}

/** A connection that presents `token` at `position`; its answer's refusal code lands in `answers` (or 'resumed'). */
function present(net: Net, token: Uint8Array, position: number, answers: (number | string)[]): void {
  const conn = net.dial();
  const got: Uint8Array[] = [];
  conn.client.incoming$.subscribe({
    next: (c) => {
      got.push(c);
      const parsed = parseResumeFrame(concatBytes(got));
      if (!parsed) return;
      answers.push(parsed.frame.kind === ResumeKind.Refused ? readU32(parsed.frame.payload, 0) : 'resumed');
    },
    error: () => undefined,
  });
  conn.client.write([encodeResume(token, position)]);
}

describe('resumption: tokens and refused attempts (virtual time)', () => {
  let ts: TestScheduler;
  beforeEach(() => {
    ts = testScheduler();
  });

  it('wrong, unknown and stale tokens, an in-use token and a position not held are refused; the session is untouched and resumes', () => {
    let w!: ReturnType<typeof world>;
    let ch!: Channel;
    const answers: (number | string)[] = [];
    let first!: Uint8Array;
    let serverStateAtRefusals: string[] = [];
    ts.run(({ hot }) => {
      w = world(ts, { latency: 5, clientResume: { maxAttempts: 1000, retryDelay: 20 } });
      at(hot, 20, () => w.session.open().subscribe((c) => (ch = w.client.track(c))));
      at(hot, 40, () => {
        first = tokenOn(w.net, 0);
        ignore(ch.write('one '));
        // In use: the session is connected.
        present(w.net, first, 0, answers);
      });
      at(hot, 60, () => {
        w.net.downUntil = 400;
        w.net.current.cut('rst');
      });
      at(hot, 100, () => {
        const wrong = first.slice();
        wrong[20]! ^= 1;
        present(w.net, wrong, 0, answers);
        const unknown = first.slice();
        unknown[0]! ^= 0xff;
        present(w.net, unknown, 0, answers);
        present(w.net, first, 1e12, answers);
      });
      at(hot, 200, () => (serverStateAtRefusals = [...w.serverStates[0]!]));
      at(hot, 500, () => ignore(ch.write('two ')));
      // After the resume the first token is spent: cut again and present it.
      at(hot, 600, () => {
        w.net.downUntil = 800;
        w.net.current.cut('rst');
      });
      at(hot, 650, () => present(w.net, first, 0, answers));
      at(hot, 900, () => {
        ignore(ch.write('three'));
        ch.end();
      });
    });
    const { InUse, Token, Position } = { InUse: 3, Token: 1, Position: 2 };
    expect(answers).toEqual([InUse, Token, Token, Position, Token]);
    expect(serverStateAtRefusals).toEqual(['connected', 'suspended']);
    expect(new TextDecoder().decode(w.server.bytes(ch.id))).toBe('one two three');
    expect(w.server.completes.get(ch.id)).toBe(1);
    expect(w.session.stats().resumptions).toBe(2);
    expect(w.states).toEqual(['connected', 'suspended', 'resumed', 'suspended', 'resumed']);
    // Rotated on every resume: three different tokens of the same session id.
    const second = tokenOn(
      w.net,
      w.net.connections.findIndex((c, i) => i > 0 && resumeFrames(concatBytes(c.server.log)).some((f) => f.kind === ResumeKind.Resumed)),
    );
    expect(toHex(second.subarray(0, 8))).toBe(toHex(first.subarray(0, 8)));
    expect(toHex(second)).not.toBe(toHex(first));
    // Never in stats.
    expect(JSON.stringify(w.session.stats())).not.toContain(toHex(first.subarray(8)));
  });

  it('past maxAttempts refused attempts, every attempt is refused (ERR_MUX_RESUME_ATTEMPTS) and the session ends at its timeout', () => {
    let w!: ReturnType<typeof world>;
    const answers: (number | string)[] = [];
    let clientRefusals: string[] = [];
    let endedAt = -1;
    ts.run(({ hot }) => {
      w = world(ts, {
        latency: 5,
        server: { keepAlive: false, resume: { timeout: 1000, maxAttempts: 2 } },
        clientResume: { maxAttempts: 1000, retryDelay: 50, timeout: 1000 },
      });
      at(hot, 20, () => w.session.open().subscribe((c) => w.client.track(c)));
      at(hot, 60, () => {
        w.net.downUntil = 300;
        w.net.current.cut('rst');
      });
      at(hot, 100, () => {
        const wrong = tokenOn(w.net, 0);
        wrong[23]! ^= 1;
        for (let i = 0; i < 3; i++) present(w.net, wrong, 0, answers);
      });
      at(hot, 250, () => present(w.net, tokenOn(w.net, 0), 0, answers));
      w.session.closed$.subscribe(() => (endedAt = ts.now()));
      at(hot, 900, () => {
        clientRefusals = w.net.connections
          .slice(1)
          .flatMap((c) => resumeFrames(concatBytes(c.server.log)))
          .filter((f) => f.kind === ResumeKind.Refused)
          .map((f) => String(readU32(f.payload, 0)));
      });
    });
    expect(answers).toEqual([1, 1, 4, 4]);
    // The genuine client's attempts after the network came back were refused too.
    expect(clientRefusals.filter((c) => c === '4').length).toBeGreaterThan(4);
    expect(endedAt).toBe(1060);
    expect(w.ends[0]).toMatchObject({ code: 'ERR_MUX_CARRIER' });
  });

  it('a refused resume answers the client with the code: resume() errors with ERR_MUX_RESUME_TOKEN once the server lost the session', () => {
    let w!: ReturnType<typeof world>;
    const errors: MuxError[] = [];
    ts.run(({ hot }) => {
      // The server gives up after 100 ms, the client waits 1000.
      w = world(ts, {
        latency: 5,
        server: { keepAlive: false, resume: { timeout: 100 } },
        clientResume: { reconnect: undefined, timeout: 1000 },
      });
      at(hot, 20, () => w.session.open().subscribe((c) => w.client.track(c)));
      at(hot, 60, () => w.net.current.cut('rst'));
      at(hot, 200, () => w.session.resume(w.net.dial().client).subscribe({ error: (e: MuxError) => errors.push(e) }));
      at(hot, 300, () => w.session.destroy());
    });
    expect(errors.map((e) => [e.code, e.remote])).toEqual([['ERR_MUX_RESUME_TOKEN', true]]);
    expect(errors[0]!.message).not.toMatch(/[0-9a-f]{32}/);
  });

  it('tokens come from crypto.getRandomValues: 24 bytes (8-byte id, 128-bit secret), different for each session', () => {
    const spy = jest.spyOn(globalThis.crypto, 'getRandomValues');
    const tokens: string[] = [];
    for (let n = 0; n < 3; n++) {
      const ts = testScheduler();
      ts.run(({ hot }) => {
        const w = world(ts, { latency: 1 });
        at(hot, 10, () => {
          tokens.push(toHex(tokenOn(w.net, 0)));
          w.session.destroy();
        });
      });
    }
    expect(spy).toHaveBeenCalled();
    spy.mockRestore();
    expect(tokens.map((t) => t.length)).toEqual([48, 48, 48]);
    expect(new Set(tokens).size).toBe(3);
    expect(readU64(new Uint8Array(8), 0)).toBe(0);
  });
});

const ignore = (p: Promise<unknown>): void => void p.catch(() => undefined);
