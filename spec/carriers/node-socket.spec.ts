import { once } from 'node:events';
import { createServer, connect, Socket, type Server } from 'node:net';
import { firstValueFrom, lastValueFrom, type Observable } from 'rxjs';
import { toArray } from 'rxjs/operators';
import type { Carrier } from '../../src/carrier.js';
import { socketCarrier } from '../../src/carriers/node-socket.js';
import { isMuxError, type MuxError } from '../../src/errors.js';
import { concatBytes as concat, seededBytes } from '../support/bytes.js';

interface TcpPair {
  readonly client: Socket;
  readonly server: Socket;
}

let server: Server | undefined;
const sockets: Socket[] = [];

/** A connected loopback TCP pair (127.0.0.1, ephemeral port). Cleaned up in afterEach. */
async function tcpPair(allowHalfOpen = false): Promise<TcpPair> {
  const srv = createServer({ allowHalfOpen });
  server = srv;
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const address = srv.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  const accepted = once(srv, 'connection') as Promise<[Socket]>;
  const client = connect({ port: address.port, host: '127.0.0.1', allowHalfOpen });
  sockets.push(client);
  const [[serverSocket]] = await Promise.all([accepted, once(client, 'connect')]);
  sockets.push(serverSocket);
  return { client, server: serverSocket };
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  const srv = server;
  server = undefined;
  if (srv !== undefined) await new Promise<void>((resolve) => srv.close(() => resolve()));
});

/** Writes `data` in `chunkSize` pieces (grouped `perWrite` to a write call), honouring back-pressure, then ends. */
async function writeAll(carrier: Carrier, data: Uint8Array, chunkSize: number, perWrite = 1): Promise<number> {
  let saturations = 0;
  for (let offset = 0; offset < data.length; ) {
    const group: Uint8Array[] = [];
    for (let i = 0; i < perWrite && offset < data.length; i++) {
      group.push(data.subarray(offset, offset + chunkSize));
      offset += chunkSize;
    }
    if (!carrier.write(group)) {
      saturations++;
      await firstValueFrom(carrier.drain$);
    }
  }
  carrier.end();
  return saturations;
}

function collect(source: Observable<Uint8Array>): Promise<Uint8Array> {
  return lastValueFrom(source.pipe(toArray())).then(concat);
}

async function errorOf(source: Observable<unknown>): Promise<MuxError> {
  try {
    await lastValueFrom(source, { defaultValue: undefined });
  } catch (e) {
    expect(isMuxError(e, 'ERR_MUX_CARRIER')).toBe(true);
    return e as MuxError;
  }
  throw new Error('expected an error');
}

describe('socketCarrier', () => {
  it('round-trips a few MiB both ways at once', async () => {
    const { client, server: srv } = await tcpPair(true);
    const a = socketCarrier(client);
    const b = socketCarrier(srv);
    const up = seededBytes(3 * 1024 * 1024, 1);
    const down = seededBytes(2 * 1024 * 1024 + 7, 2);
    const receivedByB = collect(b.incoming$);
    const receivedByA = collect(a.incoming$);
    await Promise.all([writeAll(a, up, 64 * 1024), writeAll(b, down, 16 * 1024 + 3)]);
    const [gotUp, gotDown] = await Promise.all([receivedByB, receivedByA]);
    expect(gotUp.length).toBe(up.length);
    expect(Buffer.from(gotUp).equals(Buffer.from(up))).toBe(true);
    expect(Buffer.from(gotDown).equals(Buffer.from(down))).toBe(true);
  });

  it('emits plain Uint8Array views, not Buffers', async () => {
    const { client, server: srv } = await tcpPair();
    const b = socketCarrier(srv);
    const first = firstValueFrom(b.incoming$);
    socketCarrier(client).write([Uint8Array.of(1, 2, 3)]);
    const chunk = await first;
    expect(Buffer.isBuffer(chunk)).toBe(false);
    expect(chunk).toBeInstanceOf(Uint8Array);
    expect(Array.from(chunk)).toEqual([1, 2, 3]);
  });

  it('write returns false under load and drain$ fires; nothing is lost', async () => {
    const { client, server: srv } = await tcpPair();
    const a = socketCarrier(client);
    const b = socketCarrier(srv); // not subscribed yet: the server socket is paused, the kernel buffers fill up
    const chunk = new Uint8Array(64 * 1024).fill(7);
    let written = 0;
    let ok = true;
    while (ok && written < 256 * 1024 * 1024) {
      ok = a.write([chunk]);
      written += chunk.length;
    }
    expect(ok).toBe(false);
    const drained = firstValueFrom(a.drain$);
    const received = collect(b.incoming$);
    await drained;
    a.end();
    const got = await received;
    expect(got.length).toBe(written);
    expect(got.every((x) => x === 7)).toBe(true);
  });

  it("'end' completes incoming$ after the bytes", async () => {
    const { client, server: srv } = await tcpPair();
    const a = socketCarrier(client);
    const b = socketCarrier(srv);
    a.write([Uint8Array.of(1, 2)]);
    a.end();
    expect(a.write([Uint8Array.of(3)])).toBe(false); // ignored after end
    expect(Array.from(await collect(b.incoming$))).toEqual([1, 2]);
  });

  it('buffers bytes that arrive before incoming$ is subscribed', async () => {
    const { client, server: srv } = await tcpPair();
    const a = socketCarrier(client);
    const b = socketCarrier(srv);
    a.write([Uint8Array.of(1), Uint8Array.of(2)]);
    a.end();
    await once(srv, 'readable'); // bytes and FIN are here; the carrier has not read them
    expect(Array.from(await collect(b.incoming$))).toEqual([1, 2]);
  });

  it('multi-chunk writes above 16 KiB are corked (gathered into one writev) and arrive in order', async () => {
    const { client, server: srv } = await tcpPair();
    const a = socketCarrier(client);
    const b = socketCarrier(srv);
    const cork = jest.spyOn(client, 'cork');
    const uncork = jest.spyOn(client, 'uncork');
    const write = jest.spyOn(client, 'write');
    const data = seededBytes(200_000, 3);
    const received = collect(b.incoming$);
    await writeAll(a, data, 2000, 16); // 16 chunks of 2000 bytes per write call: 32,000 bytes
    // 6 writes of 32,000 bytes corked (16 socket.write calls each), then 8,000 bytes left: one copied buffer.
    expect(cork).toHaveBeenCalledTimes(6);
    expect(uncork).toHaveBeenCalledTimes(6);
    expect(write).toHaveBeenCalledTimes(6 * 16 + 1);
    const got = await received;
    expect(Buffer.from(got).equals(Buffer.from(data))).toBe(true);
  });

  it('multi-chunk writes up to 16 KiB go as one copied buffer in one socket.write, in order', async () => {
    const { client, server: srv } = await tcpPair();
    const a = socketCarrier(client);
    const b = socketCarrier(srv);
    const cork = jest.spyOn(client, 'cork');
    const write = jest.spyOn(client, 'write');
    const data = seededBytes(200_000, 4);
    const received = collect(b.incoming$);
    await writeAll(a, data, 1000, 16); // 16 chunks of 1000 bytes per write call: 16,000 bytes
    expect(cork).not.toHaveBeenCalled();
    expect(write).toHaveBeenCalledTimes(13);
    expect(write.mock.calls[0]![0]).toHaveLength(16_000);
    const got = await received;
    expect(Buffer.from(got).equals(Buffer.from(data))).toBe(true);
  });

  it('a socket error errors incoming$ with ERR_MUX_CARRIER carrying the cause', async () => {
    const { server: srv } = await tcpPair();
    const b = socketCarrier(srv);
    const failure = errorOf(b.incoming$);
    const boom = new Error('boom');
    srv.destroy(boom);
    const e = await failure;
    expect(e.cause).toBe(boom);
  });

  it('a peer reset (RST) errors incoming$ with ERR_MUX_CARRIER', async () => {
    const { client, server: srv } = await tcpPair();
    const a = socketCarrier(client);
    const failure = errorOf(a.incoming$);
    srv.resetAndDestroy();
    const e = await failure;
    expect((e.cause as NodeJS.ErrnoException).code).toBe('ECONNRESET');
  });

  it('an error before incoming$ is subscribed is reported on subscription (and does not crash)', async () => {
    const { server: srv } = await tcpPair();
    const b = socketCarrier(srv);
    const boom = new Error('early');
    srv.destroy(boom);
    await new Promise((resolve) => srv.on('close', resolve)); // (events.once would reject on the 'error')
    expect((await errorOf(b.incoming$)).cause).toBe(boom);
  });

  it('a close without end and without error errors incoming$ ("closed before end")', async () => {
    const { client } = await tcpPair();
    const a = socketCarrier(client);
    const failure = errorOf(a.incoming$);
    client.destroy(); // not through the carrier
    expect((await failure).message).toMatch(/closed before end/);
  });

  it('destroy() through the carrier completes its own incoming$; the peer sees the close', async () => {
    const { client, server: srv } = await tcpPair();
    const a = socketCarrier(client);
    const b = socketCarrier(srv);
    const own = collect(a.incoming$);
    const peer = collect(b.incoming$);
    a.destroy(new Error('session failed'));
    expect((await own).length).toBe(0);
    expect((await peer).length).toBe(0);
    expect(a.write([Uint8Array.of(1)])).toBe(false);
    expect(await lastValueFrom(a.drain$, { defaultValue: 'completed' })).toBe('completed');
  });

  it('a second subscription errors with ERR_MUX_READ_BUSY', async () => {
    const { client } = await tcpPair();
    const a = socketCarrier(client);
    a.incoming$.subscribe({ error: () => {} });
    let err: unknown;
    a.incoming$.subscribe({ error: (e: unknown) => (err = e) });
    expect(isMuxError(err, 'ERR_MUX_READ_BUSY')).toBe(true);
  });

  it('unsubscribing removes its listeners and pauses the socket', async () => {
    const { client } = await tcpPair();
    const base = {
      data: client.listenerCount('data'),
      end: client.listenerCount('end'),
      error: client.listenerCount('error'),
      close: client.listenerCount('close'),
    };
    const a = socketCarrier(client);
    const sub = a.incoming$.subscribe();
    expect(client.listenerCount('data')).toBe(base.data + 1);
    expect(client.isPaused()).toBe(false);
    sub.unsubscribe();
    expect(client.listenerCount('data')).toBe(base.data);
    expect(client.listenerCount('end')).toBe(base.end);
    // The carrier keeps one persistent 'error' and 'close' listener so an error can never crash the process.
    expect(client.listenerCount('error')).toBe(base.error + 1);
    expect(client.listenerCount('close')).toBe(base.close + 1);
    expect(client.isPaused()).toBe(true);
  });

  it('sets noDelay by default, and not with noDelay: false', async () => {
    const { client, server: srv } = await tcpPair();
    const c = jest.spyOn(client, 'setNoDelay');
    const s = jest.spyOn(srv, 'setNoDelay');
    socketCarrier(client);
    socketCarrier(srv, { noDelay: false });
    expect(c).toHaveBeenCalledWith(true);
    expect(s).not.toHaveBeenCalled();
  });

  it('rejects bad options and non-streams', () => {
    expect(() => socketCarrier({} as never)).toThrow(expect.objectContaining({ code: 'ERR_MUX_INVALID_ARGUMENT' }));
    const fake = new Socket(); // never connected
    expect(() => socketCarrier(fake, { noDelay: 'yes' as never })).toThrow(expect.objectContaining({ code: 'ERR_MUX_INVALID_OPTION' }));
  });
});
