/**
 * listen() / connect(): sessions over loopback TCP as Observables.
 */
import { once } from 'node:events';
import { createServer as createHttpServer } from 'node:http';
import { connect as netConnect, createServer, type AddressInfo } from 'node:net';
import { firstValueFrom, lastValueFrom, mergeMap, toArray, type Subscription } from 'rxjs';
import { f } from '../../src/testing.js';
import { encodeFrame, utf8, type Channel, type MuxError, type Session } from '../../src/index.js';
import { connect, listen, type ListenOptions } from '../../src/node.js';

const subscriptions: Subscription[] = [];
const sessions: Session[] = [];

afterEach(async () => {
  for (const s of subscriptions.splice(0)) s.unsubscribe();
  const open = sessions.splice(0).filter((s) => !s.isClosed);
  for (const s of open) s.destroy();
});

/** Listens with `options`; resolves with the bound address and the server sessions emitted so far. */
async function server(options: Omit<ListenOptions, 'onListening'> = {}, onSession: (s: Session) => void = () => undefined) {
  const emitted: Session[] = [];
  let onListening!: (a: AddressInfo) => void;
  const listening = new Promise<AddressInfo>((resolve) => (onListening = resolve));
  const errors: unknown[] = [];
  const sub = listen({ keepAlive: false, ...options, onListening }).subscribe({
    next: (s) => {
      emitted.push(s);
      sessions.push(s);
      onSession(s);
    },
    error: (e) => errors.push(e),
  });
  subscriptions.push(sub);
  const address = await listening;
  return { address, emitted, sub, errors };
}

/** Accepts every open, replies with metadata "re:<meta>", and echoes each channel. */
function echoing(session: Session): void {
  session.incoming$.subscribe({
    next: (req) => {
      const ch = req.accept({ meta: `re:${utf8(req.meta)}` });
      ch.send(ch).subscribe({ error: () => undefined });
    },
    error: () => undefined,
  });
}

async function client(port: number): Promise<Session> {
  const session = await new Promise<Session>((resolve, reject) => {
    subscriptions.push(connect({ port, keepAlive: false }).subscribe({ next: resolve, error: reject }));
  });
  sessions.push(session);
  return session;
}

async function roundTrip(ch: Channel, text: string): Promise<string> {
  const back = lastValueFrom(ch.incoming$.pipe(toArray()));
  await ch.write(text);
  ch.end();
  return (await back).map(utf8).join('');
}

async function freePort(): Promise<number> {
  const srv = createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((resolve) => srv.close(() => resolve()));
  return port;
}

describe('listen and connect', () => {
  it('listen emits one server session per connection; connect emits the client session; channels carry metadata and bytes', async () => {
    const { address, emitted } = await server({}, echoing);
    expect(address).toMatchObject({ address: '127.0.0.1', family: 'IPv4' });
    expect(address.port).toBeGreaterThan(0);
    const [a, b] = await Promise.all([client(address.port), client(address.port)]);
    expect([a.role, b.role]).toEqual(['client', 'client']);
    const ch = await firstValueFrom(a.open({ meta: 'files/a' }));
    expect(utf8(ch.replyMeta)).toBe('re:files/a');
    expect(await roundTrip(ch, 'hello over tcp')).toBe('hello over tcp');
    const ch2 = await firstValueFrom(b.open({ meta: 'second' }));
    expect(await roundTrip(ch2, 'x'.repeat(100_000))).toBe('x'.repeat(100_000));
    expect(emitted.map((s) => s.role)).toEqual(['server', 'server']);
  });

  it('passes session options through to every session', async () => {
    const { address, emitted } = await server({ profile: 'yamux' });
    const session = await new Promise<Session>((resolve, reject) =>
      subscriptions.push(connect({ port: address.port, keepAlive: false, profile: 'yamux' }).subscribe({ next: resolve, error: reject })),
    );
    sessions.push(session);
    await firstValueFrom(session.ping(5000));
    expect(emitted.map((s) => s.profile)).toEqual(['yamux']);
    expect(session.profile).toBe('yamux');
  });

  it('unsubscribing from listen stops the server and closes its sessions; the clients end cleanly', async () => {
    const { address, sub, emitted } = await server({}, echoing);
    const a = await client(address.port);
    await firstValueFrom(a.ping(5000));
    sub.unsubscribe();
    const end = await firstValueFrom(a.closed$);
    expect(end.error).toBeUndefined();
    expect(emitted[0]!.isClosed).toBe(true);
    await expect(firstValueFrom(connect({ port: address.port }))).rejects.toMatchObject({ code: 'ERR_MUX_CARRIER' });
  });

  it('one session failing ends only that session, not the server', async () => {
    const { address, emitted, errors } = await server({}, echoing);
    const a = await client(address.port);
    const b = await client(address.port);
    await Promise.all([firstValueFrom(a.ping(5000)), firstValueFrom(b.ping(5000))]);
    emitted[0]!.destroy();
    await firstValueFrom(a.closed$);
    const ch = await firstValueFrom(b.open());
    expect(await roundTrip(ch, 'still serving')).toBe('still serving');
    const c = await client(address.port);
    await firstValueFrom(c.ping(5000));
    expect(errors).toEqual([]);
    expect(emitted).toHaveLength(3);
  });

  it("connect's Observable completes when the session closes cleanly, and unsubscribing closes the session", async () => {
    const { address, emitted } = await server();
    const events: string[] = [];
    let connected!: (s: Session) => void;
    const session = new Promise<Session>((resolve) => (connected = resolve));
    const done = new Promise<void>((resolve) =>
      subscriptions.push(
        connect({ port: address.port, keepAlive: false }).subscribe({
          next: (s) => {
            events.push(`session ${s.role}`);
            connected(s);
          },
          complete: () => {
            events.push('complete');
            resolve();
          },
        }),
      ),
    );
    await firstValueFrom((await session).ping(5000));
    await emitted[0]!.close();
    await done;
    expect(events).toEqual(['session client', 'complete']);

    const second = await client(address.port);
    await firstValueFrom(second.ping(5000));
    subscriptions.pop()!.unsubscribe();
    expect((await firstValueFrom(emitted[1]!.closed$)).error).toBeUndefined();
    expect(second.isClosed).toBe(true);
  });

  it('connect errors with ERR_MUX_CARRIER (cause ECONNREFUSED) when nothing listens', async () => {
    const port = await freePort();
    const error = await firstValueFrom(connect({ port })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_MUX_CARRIER', cause: expect.objectContaining({ code: 'ECONNREFUSED' }) });
  });

  it('listen errors with ERR_MUX_CARRIER (cause EADDRINUSE) when the port is taken', async () => {
    const { address } = await server();
    const error = await firstValueFrom(listen({ port: address.port })).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_MUX_CARRIER', cause: expect.objectContaining({ code: 'EADDRINUSE' }) });
  });

  it('bad options throw ERR_MUX_INVALID_OPTION when called', () => {
    const invalid = expect.objectContaining({ code: 'ERR_MUX_INVALID_OPTION' });
    expect(() => listen({ port: -1 })).toThrow(invalid);
    expect(() => listen({ host: 7 as unknown as string })).toThrow(invalid);
    expect(() => listen({ keepAliveInterval: 0 })).toThrow(invalid);
    expect(() => connect({ port: 70000 })).toThrow(invalid);
    expect(() => connect({} as { port: number })).toThrow(invalid);
    expect(() => connect({ port: 1, bogus: true } as unknown as { port: number })).toThrow(invalid);
  });
  it('by default a client that vanishes mid-channel ends only its session: a mergeMap server without error handlers keeps serving', async () => {
    const sessionErrors: Array<[string, boolean]> = [];
    let failed!: () => void;
    const sessionFailed = new Promise<void>((resolve) => (failed = resolve));
    let onListening!: (a: AddressInfo) => void;
    const listening = new Promise<AddressInfo>((resolve) => (onListening = resolve));
    const serverErrors: unknown[] = [];
    const channelErrors: string[] = [];
    let channelFailed!: () => void;
    const channelFailure = new Promise<void>((resolve) => (channelFailed = resolve));
    const sub = listen({
      keepAlive: false,
      onListening,
      onSessionError: (e: MuxError, s: Session) => (sessionErrors.push([e.code, s.isClosed]), failed()),
    })
      .pipe(mergeMap((session) => session.incoming$))
      .subscribe({
        next: (request) => {
          const channel = request.accept();
          channel.send(channel).subscribe({ error: (e: MuxError) => (channelErrors.push(e.code), channelFailed()) });
        },
        error: (e) => serverErrors.push(e),
      });
    subscriptions.push(sub);
    const { port } = await listening;
    // A raw client: opens stream 1 (rxmux profile), sends a few bytes, then drops the TCP connection without a GoAway.
    const raw = netConnect(port, '127.0.0.1');
    await once(raw, 'connect');
    raw.write(encodeFrame(f.open(1, 'x')));
    raw.write(encodeFrame(f.data(1, 'partial')));
    await new Promise((resolve) => raw.once('data', resolve)); // the accept
    raw.destroy();
    await Promise.all([sessionFailed, channelFailure]);
    expect(sessionErrors).toEqual([['ERR_MUX_CARRIER', true]]);
    expect(channelErrors).toEqual(['ERR_MUX_CARRIER']);
    const b = await client(port);
    expect(await roundTrip(await firstValueFrom(b.open()), 'still serving')).toBe('still serving');
    expect(serverErrors).toEqual([]);
    expect(sub.closed).toBe(false);
  });

  it("sessionErrors: 'propagate' lets the session's error reach incoming$ (and so the mergeMap)", async () => {
    let onListening!: (a: AddressInfo) => void;
    const listening = new Promise<AddressInfo>((resolve) => (onListening = resolve));
    let serverError!: (code: string) => void;
    const serverFailed = new Promise<string>((resolve) => (serverError = resolve));
    const sub = listen({ keepAlive: false, onListening, sessionErrors: 'propagate' })
      .pipe(mergeMap((session) => session.incoming$))
      .subscribe({ error: (e: MuxError) => serverError(e.code) });
    subscriptions.push(sub);
    const { port } = await listening;
    const raw = netConnect(port, '127.0.0.1');
    await once(raw, 'connect');
    raw.write(encodeFrame(f.ping(7)));
    await new Promise((resolve) => raw.once('data', resolve)); // the pong: the session is up
    raw.destroy();
    expect(await serverFailed).toBe('ERR_MUX_CARRIER');
  });

  it('connect to a server that does not speak yamux (HTTP) fails at once, saying so', async () => {
    const http = createHttpServer((_req, res) => res.end('hi'));
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    try {
      const { port } = http.address() as AddressInfo;
      // keepAlive stays on with its 30 s interval: the failure must come from the probe, well before it.
      const error = await new Promise<MuxError>((resolve) => {
        subscriptions.push(connect({ port }).subscribe({ error: resolve }));
      });
      expect(error).toMatchObject({ code: 'ERR_MUX_PROTOCOL' });
      expect(error.message).toContain('the peer does not speak yamux (first bytes look like HTTP');
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });

  it('listen and connect refuse a role option instead of ignoring it', () => {
    const invalid = (text: string) => expect.objectContaining({ code: 'ERR_MUX_INVALID_OPTION', message: expect.stringContaining(text) });
    expect(() => listen({ role: 'client' } as unknown as ListenOptions)).toThrow(
      invalid("listen() always makes server sessions; remove role (got 'client'): the other end must be the server"),
    );
    expect(() => connect({ port: 1, role: 'server' } as unknown as { port: number })).toThrow(
      invalid('connect() always makes client sessions'),
    );
    expect(() => listen({ sessionErrors: 'ignore' } as unknown as ListenOptions)).toThrow(invalid('option sessionErrors'));
    expect(() => connect({ port: 1, probe: 1 } as unknown as { port: number })).toThrow(invalid('option probe'));
  });
});
