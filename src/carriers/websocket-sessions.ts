// A session per connection of a ws WebSocketServer (websocketSessions), through the shared server-of-sessions
// rules: a failing connection ends only its own session.
import { Observable } from 'rxjs';
import { MuxError } from '../errors.js';
import { createSession } from '../session/multiplex.js';
import type { Session } from '../session/types.js';
import { resolveOptions, type SessionOptions } from '../options.js';
import { refuseRole, sessionServer, SESSION_SERVER_KEYS, type SessionServerOptions } from './session-server.js';
import { websocketCarrier, type WebSocketCarrierOptions, type WebSocketLike } from './websocket.js';
import { resumableServer } from '../session/resume/server.js';

/**
 * A WebSocket server that announces each accepted socket with a `'connection'` event, as the `ws` package's
 * `WebSocketServer` does (duck-typed: rxmux has no dependency on `ws`).
 */
export interface WebSocketServerLike {
  /** Adds a listener called with each accepted socket. */
  on(event: 'connection', listener: (socket: WebSocketLike) => void): unknown;
  /** Removes a listener added with `on`. */
  off(event: 'connection', listener: (socket: WebSocketLike) => void): unknown;
}

/** Options of {@link websocketSessions}: the options of every accepted session (role `server`), and of each carrier. */
export interface WebSocketSessionsOptions extends Omit<SessionOptions, 'role'>, SessionServerOptions {
  /** Options of each socket's {@link websocketCarrier} (`highWaterMark`, `pollInterval`, `drain`). Default: its defaults. */
  readonly carrier?: WebSocketCarrierOptions;
}

const OWN_KEYS = new Set(['carrier', ...SESSION_SERVER_KEYS]);

/**
 * A WebSocket server of sessions: subscribing listens for the server's `'connection'` events and emits one session
 * (role `server`) per socket, carried by {@link websocketCarrier}. Like `listen()` over TCP, a connection that fails
 * (a client that vanishes, a close code other than 1000/1001) ends only its session: by default its `incoming$`
 * completes instead of erroring (`sessionErrors: 'absorb'`) and the error goes to `onSessionError`. A client going
 * away (close 1001, a browser tab closing) ends its session cleanly. Unsubscribing stops taking connections (the
 * server itself stays yours to close) and closes every session still open, gracefully.
 *
 * @example
 * ```ts
 * import { WebSocketServer } from 'ws';
 * import { websocketSessions } from 'rxmux/web';
 * import { mergeMap } from 'rxjs';
 * websocketSessions(new WebSocketServer({ port: 8080 }))
 *   .pipe(mergeMap((session) => session.incoming$))
 *   .subscribe((request) => request.accept().end());
 * ```
 *
 * @throws MuxError ERR_MUX_INVALID_OPTION for a bad option or a `role` (always `server`); ERR_MUX_INVALID_ARGUMENT
 *   when `server` has no `on`/`off`. Checked when called, not when subscribed.
 */
export function websocketSessions(server: WebSocketServerLike, options: WebSocketSessionsOptions = {}): Observable<Session> {
  if (server === null || typeof server !== 'object' || typeof server.on !== 'function' || typeof server.off !== 'function') {
    throw new MuxError(
      'ERR_MUX_INVALID_ARGUMENT',
      "websocketSessions: expected a WebSocket server with on() and off() (the ws package's WebSocketServer)",
    );
  }
  if (options === null || typeof options !== 'object')
    throw new MuxError('ERR_MUX_INVALID_OPTION', 'websocketSessions: options must be an object');
  refuseRole(options, 'websocketSessions', 'server');
  const own: Record<string, unknown> = {};
  const session: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) (OWN_KEYS.has(k) ? own : session)[k] = v;
  const carrierOptions = (own.carrier ?? {}) as WebSocketCarrierOptions;
  if (carrierOptions === null || typeof carrierOptions !== 'object')
    throw new MuxError('ERR_MUX_INVALID_OPTION', 'option carrier: expected an object');
  const { emit } = sessionServer(own as SessionServerOptions);
  const { options: resolved, route } = resumableServer(resolveOptions({ ...(session as Omit<SessionOptions, 'role'>), role: 'server' }));
  return new Observable<Session>((subscriber) => {
    const sessions = new Set<Session>();
    const onConnection = (socket: WebSocketLike): void => {
      let carrier: ReturnType<typeof websocketCarrier>;
      try {
        carrier = websocketCarrier(socket, carrierOptions);
      } catch {
        // A socket that cannot be carried (bad carrier options) fails this connection only.
        socket.close(1011, 'rxmux: cannot start a session');
        return;
      }
      // With resumption, a socket that resumes a suspended session goes to it; any other starts a session.
      route(carrier, (c) => {
        const s = createSession(c, resolved);
        sessions.add(s);
        s.closed$.subscribe(() => sessions.delete(s));
        subscriber.next(emit(s));
      });
    };
    server.on('connection', onConnection);
    return () => {
      server.off('connection', onConnection);
      for (const s of [...sessions]) if (!s.isClosed) void s.close();
    };
  });
}
