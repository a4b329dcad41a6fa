/**
 * websocketSessions(): one server session per WebSocket of a `ws` server, over real sockets on 127.0.0.1. A client
 * that vanishes ends only its session; one going away (1001) ends it cleanly.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { firstValueFrom, lastValueFrom, mergeMap, toArray, type Subscription } from 'rxjs';
import WebSocket, { WebSocketServer } from 'ws';
import { createSession, utf8, type MuxError, type Session } from '../../src/index.js';
import { websocketCarrier, websocketSessions, type WebSocketSessionsOptions } from '../../src/web.js';

const cleanups: Array<() => void> = [];
afterEach(() => {
  for (const c of cleanups.splice(0).reverse()) c();
});

/** An echo server over `ws`; resolves once listening. */
async function echoServer(options: WebSocketSessionsOptions = {}) {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  cleanups.push(() => {
    for (const c of wss.clients) c.terminate();
    wss.close();
  });
  await once(wss, 'listening');
  const serverErrors: unknown[] = [];
  const emitted: Session[] = [];
  const sub: Subscription = websocketSessions(wss, { keepAlive: false, ...options })
    .pipe(mergeMap((session) => (emitted.push(session), session.incoming$)))
    .subscribe({
      next: (request) => {
        const channel = request.accept();
        channel.send(channel).subscribe({ error: () => undefined });
      },
      error: (e) => serverErrors.push(e),
    });
  cleanups.push(() => sub.unsubscribe());
  return { wss, sub, serverErrors, emitted, port: (wss.address() as AddressInfo).port };
}

async function clientSession(port: number): Promise<{ session: Session; ws: WebSocket }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`);
  const session = createSession(websocketCarrier(ws), { role: 'client', keepAlive: false });
  cleanups.push(() => session.destroy());
  await once(ws, 'open');
  return { session, ws };
}

async function echo(session: Session, text: string): Promise<string> {
  const channel = await firstValueFrom(session.open());
  const back = lastValueFrom(channel.incoming$.pipe(toArray()));
  await channel.write(text);
  channel.end();
  return (await back).map(utf8).join('');
}

describe('websocketSessions', () => {
  it('emits one server session per socket; channels work both ways', async () => {
    const { port, emitted } = await echoServer();
    const a = await clientSession(port);
    const b = await clientSession(port);
    expect(await Promise.all([echo(a.session, 'one'), echo(b.session, 'two')])).toEqual(['one', 'two']);
    expect(emitted.map((s) => s.role)).toEqual(['server', 'server']);
  });

  it('a client cut without a close frame ends only its session: the server keeps serving and reports the error', async () => {
    const failures: Array<[string, number | undefined]> = [];
    let failed!: () => void;
    const reported = new Promise<void>((resolve) => (failed = resolve));
    const { port, serverErrors, sub } = await echoServer({
      onSessionError: (e: MuxError) => (failures.push([e.code, e.wireCode]), failed()),
    });
    const gone = await clientSession(port);
    expect(await echo(gone.session, 'before')).toBe('before');
    await firstValueFrom(gone.session.open()); // an open channel on the server when the socket is cut
    gone.ws.terminate();
    await reported;
    expect(failures).toEqual([['ERR_MUX_CARRIER', 1006]]);
    const next = await clientSession(port);
    expect(await echo(next.session, 'after')).toBe('after');
    expect(serverErrors).toEqual([]);
    expect(sub.closed).toBe(false);
  });

  it('a client going away (close 1001, a browser tab closing) ends its session cleanly', async () => {
    const onSessionError = jest.fn();
    const { port, emitted } = await echoServer({ onSessionError });
    const c = await clientSession(port);
    expect(await echo(c.session, 'hi')).toBe('hi');
    c.ws.close(1001);
    const end = await firstValueFrom(emitted[0]!.closed$);
    expect(end.error).toBeUndefined();
    expect(onSessionError).not.toHaveBeenCalled();
  });

  it("sessionErrors: 'propagate' lets a failed session's error reach the mergeMap", async () => {
    const { port, serverErrors, emitted } = await echoServer({ sessionErrors: 'propagate' });
    const c = await clientSession(port);
    expect(await echo(c.session, 'hi')).toBe('hi');
    c.ws.terminate();
    await firstValueFrom(emitted[0]!.closed$);
    await new Promise((resolve) => setImmediate(resolve));
    expect(serverErrors).toMatchObject([{ code: 'ERR_MUX_CARRIER' }]);
  });

  it('unsubscribing stops taking sockets and closes the open sessions gracefully', async () => {
    const { port, sub, wss } = await echoServer();
    const c = await clientSession(port);
    expect(await echo(c.session, 'hi')).toBe('hi');
    sub.unsubscribe();
    expect((await firstValueFrom(c.session.closed$)).error).toBeUndefined();
    expect(wss.listenerCount('connection')).toBe(0);
  });

  it('refuses a role, bad options and a server without on/off', () => {
    const wss = { on: () => undefined, off: () => undefined };
    expect(() => websocketSessions(wss, { role: 'client' } as unknown as WebSocketSessionsOptions)).toThrow(
      expect.objectContaining({
        code: 'ERR_MUX_INVALID_OPTION',
        message: expect.stringContaining('websocketSessions() always makes server sessions'),
      }),
    );
    expect(() => websocketSessions(wss, { sessionErrors: 'x' } as unknown as WebSocketSessionsOptions)).toThrow(
      expect.objectContaining({ code: 'ERR_MUX_INVALID_OPTION' }),
    );
    expect(() => websocketSessions(wss, { keepAliveInterval: -1 })).toThrow(expect.objectContaining({ code: 'ERR_MUX_INVALID_OPTION' }));
    expect(() => websocketSessions({} as never)).toThrow(expect.objectContaining({ code: 'ERR_MUX_INVALID_ARGUMENT' }));
  });
});
