/**
 * websocketCarrier: unit behaviour against a scripted WebSocket double in virtual time, then real `ws` sockets on
 * 127.0.0.1 in real time (raw carrier and full sessions).
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { firstValueFrom, lastValueFrom, Observable, toArray } from 'rxjs';
import WebSocket, { WebSocketServer } from 'ws';
import { createSession, type Carrier, type Channel, type Session } from '../../src/index.js';
import { websocketCarrier, type WebSocketCarrierOptions, type WebSocketLike } from '../../src/web.js';
import { at, testScheduler } from '../support/marbles.js';

const KiB = 1024;
const MiB = 1024 * KiB;

// ------------------------------------------------------------------------------------------------ a scripted double

/** A WebSocket double: records sends, lets the test set bufferedAmount and fire events. */
class FakeSocket implements WebSocketLike {
  binaryType = 'blob';
  readyState: number;
  bufferedAmount = 0;
  readonly sent: Uint8Array[] = [];
  readonly closes: [number | undefined, string | undefined][] = [];
  terminated = 0;
  // biome-ignore lint/suspicious/noExplicitAny: the DOM WebSocket's and ws's listener signatures differ; both must be assignable
  private readonly listeners = new Map<string, ((e: any) => void)[]>();

  constructor(readyState = 1, withTerminate = false) {
    this.readyState = readyState;
    if (withTerminate) this.terminate = () => void this.terminated++;
  }

  terminate?: () => void;

  send(data: Uint8Array): void {
    this.sent.push(data.slice());
    this.bufferedAmount += data.byteLength;
  }

  close(code?: number, reason?: string): void {
    this.closes.push([code, reason]);
    this.readyState = 2;
  }

  // biome-ignore lint/suspicious/noExplicitAny: the DOM WebSocket's and ws's listener signatures differ; both must be assignable
  addEventListener(type: string, listener: (e: any) => void): void {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  // biome-ignore lint/suspicious/noExplicitAny: the DOM WebSocket's and ws's listener signatures differ; both must be assignable
  removeEventListener(type: string, listener: (e: any) => void): void {
    this.listeners.set(
      type,
      (this.listeners.get(type) ?? []).filter((l) => l !== listener),
    );
  }

  fire(type: string, event: unknown = {}): void {
    if (type === 'open') this.readyState = 1;
    if (type === 'close') this.readyState = 3;
    for (const l of this.listeners.get(type) ?? []) l(event);
  }

  message(...bytes: number[]): void {
    this.fire('message', { data: Uint8Array.from(bytes).buffer });
  }
}

function record<T>(source: Observable<T>): { values: T[]; error: unknown; completed: boolean } {
  const out = { values: [] as T[], error: undefined as unknown, completed: false };
  source.subscribe({ next: (v) => out.values.push(v), error: (e) => (out.error = e), complete: () => (out.completed = true) });
  return out;
}

describe('websocketCarrier (scripted socket)', () => {
  it("sets binaryType to 'arraybuffer' and emits each binary message as a Uint8Array", () => {
    const ws = new FakeSocket();
    const carrier = websocketCarrier(ws);
    expect(ws.binaryType).toBe('arraybuffer');
    const got = record(carrier.incoming$);
    ws.message(1, 2, 3);
    ws.fire('message', { data: Uint8Array.of(9, 8).subarray(1) });
    expect(got.values.map((v) => Array.from(v))).toEqual([[1, 2, 3], [8]]);
    expect(got.values[0]).toBeInstanceOf(Uint8Array);
  });

  it('holds messages that arrive before incoming$ is subscribed', () => {
    const ws = new FakeSocket();
    const carrier = websocketCarrier(ws);
    ws.message(1);
    ws.message(2);
    expect(record(carrier.incoming$).values.map((v) => Array.from(v))).toEqual([[1], [2]]);
    expect(record(carrier.incoming$).error).toMatchObject({ code: 'ERR_MUX_READ_BUSY' });
  });

  it('joins the chunks of one write into one message', () => {
    const ws = new FakeSocket();
    const carrier = websocketCarrier(ws);
    expect(carrier.write([Uint8Array.of(1, 2), new Uint8Array(0), Uint8Array.of(3)])).toBe(true);
    expect(ws.sent.map((m) => Array.from(m))).toEqual([[1, 2, 3]]);
  });

  it('write returns false past the high-water mark; drain$ emits at the first poll that finds bufferedAmount at half or below', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const ws = new FakeSocket();
      const carrier = websocketCarrier(ws, { highWaterMark: 100, pollInterval: 10 });
      const results: boolean[] = [];
      results.push(carrier.write([new Uint8Array(60)])); // 60 buffered
      results.push(carrier.write([new Uint8Array(60)])); // 120 > 100: saturated, polls at 10, 20, 30, 40 ms
      at(hot, 25, () => (ws.bufferedAmount = 60));
      at(hot, 35, () => (ws.bufferedAmount = 50));
      expectObservable(carrier.drain$).toBe('40ms d', { d: undefined });
      at(hot, 41, () => expect(results).toEqual([true, false]));
    });
  });

  it('with send callbacks (the ws package), drain$ emits when the bytes are written out, without a timer', () => {
    const callbacks: (() => void)[] = [];
    const ws = new FakeSocket(1, true);
    ws.send = (data: Uint8Array, cb?: (err?: Error) => void) => {
      ws.sent.push(data.slice());
      ws.bufferedAmount += data.byteLength;
      callbacks.push(() => {
        ws.bufferedAmount -= data.byteLength;
        cb?.();
      });
    };
    const carrier = websocketCarrier(ws, { highWaterMark: 100 });
    const drains = record(carrier.drain$);
    expect(carrier.write([new Uint8Array(80)])).toBe(true);
    expect(carrier.write([new Uint8Array(80)])).toBe(false);
    callbacks.shift()!(); // 80 left: above half
    expect(drains.values).toHaveLength(0);
    callbacks.shift()!(); // 0 left
    expect(drains.values).toHaveLength(1);
  });

  it('queues writes while CONNECTING, sends them in order on open, and drains once the socket took them', () => {
    testScheduler().run(({ hot, expectObservable }) => {
      const ws = new FakeSocket(0);
      const carrier = websocketCarrier(ws, { highWaterMark: 10, pollInterval: 10 });
      const results = [carrier.write([Uint8Array.of(1)]), carrier.write([new Uint8Array(10).fill(2)])]; // 11 queued > 10
      const sentAt: number[][] = [];
      at(hot, 1, () => sentAt.push(ws.sent.map((m) => m.byteLength)));
      at(hot, 5, () => ws.fire('open')); // sends 11 bytes: bufferedAmount 11 > 5, polls at 15, 25...
      at(hot, 6, () => sentAt.push(ws.sent.map((m) => m.byteLength)));
      at(hot, 12, () => (ws.bufferedAmount = 0));
      expectObservable(carrier.drain$).toBe('15ms d', { d: undefined });
      at(hot, 16, () => {
        expect(results).toEqual([true, false]);
        expect(sentAt).toEqual([[], [1, 10]]);
      });
    });
  });

  it('a close with code 1000 completes incoming$', () => {
    const ws = new FakeSocket();
    const carrier = websocketCarrier(ws);
    const got = record(carrier.incoming$);
    const drains = record(carrier.drain$);
    ws.fire('close', { code: 1000, reason: '' });
    expect(got).toMatchObject({ completed: true, error: undefined });
    expect(drains.completed).toBe(true);
    expect(carrier.write([Uint8Array.of(1)])).toBe(false);
  });

  it('a close with code 1001 (going away) emits a yamux GoAway(0) frame and completes, before or after the subscription', () => {
    const ws = new FakeSocket();
    const carrier = websocketCarrier(ws);
    const got = record(carrier.incoming$);
    ws.message(9);
    ws.fire('close', { code: 1001, reason: '' });
    expect(got.values.map((v) => Array.from(v))).toEqual([[9], [0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]);
    expect(got).toMatchObject({ completed: true, error: undefined });

    const early = new FakeSocket();
    const late = websocketCarrier(early);
    early.fire('close', { code: 1001, reason: 'tab closed' });
    const gotLate = record(late.incoming$);
    expect(gotLate.values.map((v) => Array.from(v))).toEqual([[0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]);
    expect(gotLate).toMatchObject({ completed: true, error: undefined });
  });

  it('any other close code errors with ERR_MUX_CARRIER naming the code and the reason', () => {
    const ws = new FakeSocket();
    const carrier = websocketCarrier(ws);
    const got = record(carrier.incoming$);
    ws.fire('close', { code: 4001, reason: 'maintenance' });
    expect(got.error).toMatchObject({ code: 'ERR_MUX_CARRIER', wireCode: 4001, reason: 'maintenance' });
    expect((got.error as Error).message).toBe('websocket closed with code 4001: maintenance');
  });

  it('an error event errors with ERR_MUX_CARRIER, once', () => {
    const ws = new FakeSocket();
    const carrier = websocketCarrier(ws);
    const got = record(carrier.incoming$);
    const cause = new Error('ECONNRESET');
    ws.fire('error', { message: 'read ECONNRESET', error: cause });
    ws.fire('close', { code: 1006, reason: '' });
    expect(got.error).toMatchObject({ code: 'ERR_MUX_CARRIER', message: 'websocket error: read ECONNRESET', cause });
  });

  it('a text message errors with ERR_MUX_CARRIER and closes with 1003', () => {
    const ws = new FakeSocket();
    const carrier = websocketCarrier(ws);
    const got = record(carrier.incoming$);
    ws.fire('message', { data: 'hello' });
    expect(got.error).toMatchObject({ code: 'ERR_MUX_CARRIER' });
    expect(ws.closes).toEqual([[1003, 'rxmux: binary messages only']]);
  });

  it('end() closes with 1000; destroy() terminates when it can, else closes with 4000 for an error', () => {
    const a = new FakeSocket();
    websocketCarrier(a).end();
    expect(a.closes).toEqual([[1000, undefined]]);
    const b = new FakeSocket(1, true);
    websocketCarrier(b).destroy(new Error('x'));
    expect([b.terminated, b.closes]).toEqual([1, []]);
    const c = new FakeSocket();
    const carrier = websocketCarrier(c);
    const got = record(carrier.incoming$);
    carrier.destroy(new Error('x'));
    expect(c.closes).toEqual([[4000, 'rxmux: carrier destroyed']]);
    c.fire('close', { code: 4000, reason: 'rxmux: carrier destroyed' });
    expect(got).toMatchObject({ completed: true, error: undefined });
  });

  it('a socket already closed fails at once; bad arguments and options are refused', () => {
    expect(record(websocketCarrier(new FakeSocket(3)).incoming$).error).toMatchObject({ code: 'ERR_MUX_CARRIER' });
    expect(() => websocketCarrier({} as WebSocketLike)).toThrow(expect.objectContaining({ code: 'ERR_MUX_INVALID_ARGUMENT' }));
    expect(() => websocketCarrier(new FakeSocket(), { highWaterMark: 0 })).toThrow(
      expect.objectContaining({ code: 'ERR_MUX_INVALID_OPTION' }),
    );
    expect(() => websocketCarrier(new FakeSocket(), { drain: 'sometimes' as 'poll' })).toThrow(
      expect.objectContaining({ code: 'ERR_MUX_INVALID_OPTION' }),
    );
  });
});

// ------------------------------------------------------------------------------------------------ real ws sockets

const servers: WebSocketServer[] = [];
const sockets: WebSocket[] = [];
const sessions: Session[] = [];

afterEach(async () => {
  for (const s of sessions.splice(0)) if (!s.isClosed) s.destroy();
  for (const ws of sockets.splice(0)) ws.terminate();
  await Promise.all(servers.splice(0).map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
});

/** A ws server on 127.0.0.1 and a client connected to it; `client` may still be CONNECTING. */
async function wsPair(): Promise<{ client: WebSocket; server: Promise<WebSocket> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  servers.push(wss);
  await once(wss, 'listening');
  const server = new Promise<WebSocket>((resolve) =>
    wss.once('connection', (ws) => {
      sockets.push(ws);
      resolve(ws);
    }),
  );
  const { port } = wss.address() as AddressInfo;
  const client = new WebSocket(`ws://127.0.0.1:${port}`);
  sockets.push(client);
  return { client, server };
}

async function carrierPair(
  options: WebSocketCarrierOptions = {},
): Promise<{ a: Carrier; b: Carrier; client: WebSocket; server: WebSocket }> {
  const { client, server } = await wsPair();
  const a = websocketCarrier(client, options);
  const serverWs = await server;
  await once(client, 'open');
  return { a, b: websocketCarrier(serverWs, options), client, server: serverWs };
}

function seeded(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed | 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x;
  }
  return out;
}

const sha = (chunks: Iterable<Uint8Array>): string => {
  const h = createHash('sha256');
  for (const c of chunks) h.update(c);
  return h.digest('hex');
};

async function collect(source: Observable<Uint8Array>): Promise<Uint8Array[]> {
  return lastValueFrom(source.pipe(toArray()));
}

describe.each(['send-callback', 'poll'] as const)('websocketCarrier over ws (drain: %s)', (drain) => {
  it('write returns false past the high-water mark, drain$ fires once the peer reads, and every byte arrives in order', async () => {
    const { a, b, server } = await carrierPair({ drain, highWaterMark: 256 * KiB });
    server.pause(); // the server stops reading its socket: the client's bufferedAmount grows
    const data = seeded(8 * MiB, 3);
    const received = collect(b.incoming$);
    let saturations = 0;
    for (let at = 0; at < data.byteLength; at += 64 * KiB) {
      if (!a.write([data.subarray(at, at + 64 * KiB)])) {
        saturations++;
        const drained = firstValueFrom(a.drain$);
        if (saturations === 1) server.resume();
        await drained;
      }
    }
    server.resume(); // (in case the carrier never said it was full)
    a.end();
    const got = await received;
    expect(saturations).toBeGreaterThan(0);
    expect(got.reduce((n, c) => n + c.byteLength, 0)).toBe(data.byteLength);
    expect(sha(got)).toBe(sha([data]));
  });
});

describe('sessions over ws', () => {
  async function sessionPair(
    options: WebSocketCarrierOptions = {},
  ): Promise<{ client: Session; server: Session; a: Carrier; b: Carrier; serverWs: WebSocket; clientWs: WebSocket }> {
    const { client, server } = await wsPair();
    // The client carrier and session are made while the socket is still CONNECTING.
    const a = websocketCarrier(client, options);
    const clientSession = createSession(a, { role: 'client', keepAlive: false });
    const serverWs = await server;
    const b = websocketCarrier(serverWs, options);
    const serverSession = createSession(b, { role: 'server', keepAlive: false });
    sessions.push(clientSession, serverSession);
    return { client: clientSession, server: serverSession, a, b, serverWs, clientWs: client };
  }

  function accepted(session: Session, n: number): Promise<Channel[]> {
    return new Promise((resolve) => {
      const out: Channel[] = [];
      const sub = session.incoming$.subscribe((req) => {
        out.push(req.accept());
        if (out.length === n) {
          sub.unsubscribe();
          resolve(out);
        }
      });
    });
  }

  async function pour(ch: Channel, data: Uint8Array, seed: number): Promise<void> {
    let x = seed;
    for (let at = 0; at < data.byteLength; ) {
      x = (x * 1103515245 + 12345) >>> 0;
      const n = 1 + (x % (48 * KiB));
      await ch.write(data.subarray(at, at + n));
      at += n;
    }
    ch.end();
  }

  it('channels carry SHA-256-checked transfers both ways at once', async () => {
    const { client, server } = await sessionPair();
    const serverSide = accepted(server, 3);
    const mine = await Promise.all([0, 1, 2].map(() => firstValueFrom(client.open())));
    const theirs = await serverSide;
    const work = [0, 1, 2].flatMap((i) => {
      const up = seeded(2 * MiB + i, 10 + i);
      const down = seeded(MiB + 17 * i, 20 + i);
      return [
        Promise.all([pour(mine[i]!, up, i + 1), collect(theirs[i]!.incoming$)]).then(([, got]) => expect(sha(got)).toBe(sha([up]))),
        Promise.all([pour(theirs[i]!, down, i + 7), collect(mine[i]!.incoming$)]).then(([, got]) => expect(sha(got)).toBe(sha([down]))),
      ];
    });
    await Promise.all(work);
    const ends = await Promise.all([...mine, ...theirs].map((ch) => firstValueFrom(ch.closed$)));
    expect(ends.every((e) => e.error === undefined)).toBe(true);
  });

  it("the session honours the carrier's back-pressure: it stops on saturation, resumes on drain, and the transfer stays intact", async () => {
    const { client, server } = await wsPair();
    const serverWs = await server;
    let saturations = 0;
    let writesWhileSaturated = 0;
    let saturated = false;
    const inner = websocketCarrier(client, { highWaterMark: 32 * KiB });
    const counted: Carrier = {
      incoming$: inner.incoming$,
      drain$: new Observable<void>((subscriber) =>
        inner.drain$.subscribe({
          next: () => {
            saturated = false;
            subscriber.next();
          },
          complete: () => subscriber.complete(),
        }),
      ),
      end: () => inner.end(),
      destroy: (e?: unknown) => inner.destroy(e),
      write: (chunks: readonly Uint8Array[]) => {
        if (saturated) writesWhileSaturated++;
        const ok = inner.write(chunks);
        if (!ok && !saturated) {
          saturated = true;
          if (saturations++ === 0) serverWs.resume();
        }
        return ok;
      },
    };
    // Windows larger than what the kernel buffers hold, so the carrier (not the credit) is what fills up first.
    const cs = createSession(counted, { role: 'client', keepAlive: false, receiveWindow: 16 * MiB });
    const ss = createSession(websocketCarrier(serverWs), { role: 'server', keepAlive: false, receiveWindow: 16 * MiB });
    sessions.push(cs, ss);
    const serverSide = accepted(ss, 1);
    const ch = await firstValueFrom(cs.open());
    const [peer] = await serverSide;
    serverWs.pause(); // the server stops reading: the kernel buffers fill, then the client's bufferedAmount grows
    const data = seeded(16 * MiB, 99);
    const [, got] = await Promise.all([pour(ch, data, 5), collect(peer!.incoming$)]);
    expect(sha(got)).toBe(sha([data]));
    expect(saturations).toBeGreaterThan(0);
    expect(writesWhileSaturated).toBe(0);
  });

  it('a graceful close from one side ends both sessions cleanly (GoAway, then close code 1000)', async () => {
    const { client, server } = await sessionPair();
    const serverSide = accepted(server, 1);
    const ch = await firstValueFrom(client.open());
    const [peer] = await serverSide;
    const got = collect(peer!.incoming$);
    await ch.write('last words');
    await client.close();
    expect(Buffer.concat(await got).toString()).toBe('last words');
    const [c, s] = await Promise.all([firstValueFrom(client.closed$), firstValueFrom(server.closed$)]);
    expect(c.error).toBeUndefined();
    expect(s.error).toBeUndefined();
  });

  it('a close code other than 1000 ends the session and its channels with ERR_MUX_CARRIER naming code and reason', async () => {
    const { client, server, serverWs } = await sessionPair();
    const serverSide = accepted(server, 1);
    const ch = await firstValueFrom(client.open());
    await serverSide;
    const channelError = new Promise<unknown>((resolve) => ch.incoming$.subscribe({ error: resolve }));
    serverWs.close(4001, 'maintenance');
    const { error } = await firstValueFrom(client.closed$);
    expect(error).toMatchObject({ code: 'ERR_MUX_CARRIER', wireCode: 4001, reason: 'maintenance' });
    expect(error!.message).toContain('4001');
    expect(error!.message).toContain('maintenance');
    expect(await channelError).toMatchObject({ code: 'ERR_MUX_CARRIER' });
  });

  it('a peer going away (close 1001, as a closing browser tab) ends the session cleanly; its open channels fail with ERR_MUX_SESSION_CLOSED', async () => {
    const { client, server, clientWs } = await sessionPair();
    const serverSide = accepted(server, 1);
    await firstValueFrom(client.open());
    const [peer] = await serverSide;
    const channelError = new Promise<unknown>((resolve) => peer!.incoming$.subscribe({ error: resolve }));
    clientWs.close(1001);
    const { error } = await firstValueFrom(server.closed$);
    expect(error).toBeUndefined();
    expect(await channelError).toMatchObject({ code: 'ERR_MUX_SESSION_CLOSED' });
  });

  it('a socket cut without a close frame (1006) ends the session with ERR_MUX_CARRIER', async () => {
    const { client, serverWs } = await sessionPair();
    await firstValueFrom(client.ping(5000));
    serverWs.terminate();
    const { error } = await firstValueFrom(client.closed$);
    expect(error).toMatchObject({ code: 'ERR_MUX_CARRIER', wireCode: 1006 });
  });

  it('a close with code 1000 completes the raw carrier', async () => {
    const { b, client } = await carrierPair();
    const got = record(b.incoming$);
    const closed = once(client, 'close');
    client.close(1000);
    await closed;
    await firstValueFrom(b.drain$, { defaultValue: undefined });
    expect(got).toMatchObject({ completed: true, error: undefined });
  });
});
