// TCP helpers for rxmux/node: listen() serves a session per connection, connect() dials one, both over the
// socket carrier with the session options.
import { connect as netConnect, createServer, type AddressInfo, type Server } from 'node:net';
import { Observable } from 'rxjs';
import { socketCarrier } from '../carriers/node-socket.js';
import { MuxError } from '../errors.js';
import { refuseRole, sessionServer, SESSION_SERVER_KEYS, type SessionServerOptions } from '../carriers/session-server.js';
import { createSession } from '../session/multiplex.js';
import type { Session } from '../session/types.js';
import { resolveOptions, type SessionOptions } from '../options.js';
import { badOption, boolOption, checkOptionsObject, fnOption, intOption } from '../util/validate.js';
import type { Carrier } from '../carrier.js';
import { resumableServer } from '../session/resume/server.js';

/** Session options without the role (the helper sets it). */
export type TcpSessionOptions = Omit<SessionOptions, 'role'>;

/** Options of {@link listen}: where to listen, plus the options of every accepted session (role `server`). */
export interface ListenOptions extends TcpSessionOptions, SessionServerOptions {
  /** TCP port; 0 picks a free one (learn it from `onListening`). Default 0. */
  readonly port?: number;
  /** Address to bind. Default '127.0.0.1' (loopback only; pass '0.0.0.0' or '::' to accept remote peers). */
  readonly host?: string;
  /** Called once the server is bound, with its address (`{ address, family, port }`). */
  readonly onListening?: (address: AddressInfo) => void;
  /** `socket.setNoDelay(true)` on every connection. Default true. */
  readonly noDelay?: boolean;
}

/** Options of {@link connect}: where to connect, plus the session's options (role `client`). */
export interface ConnectOptions extends TcpSessionOptions {
  /** TCP port of the server. Required. */
  readonly port: number;
  /** Host of the server. Default '127.0.0.1'. */
  readonly host?: string;
  /** `socket.setNoDelay(true)`. Default true. */
  readonly noDelay?: boolean;
  /**
   * Send one Ping as soon as the session starts, so that a server that does not speak yamux (an HTTP or TLS server
   * waits for the client to speak first) answers at once and the session fails with a clear ERR_MUX_PROTOCOL,
   * instead of at the first keep-alive. The Ping's own outcome is ignored. Default true.
   */
  readonly probe?: boolean;
}

const OWN_KEYS = new Set(['port', 'host', 'onListening', 'noDelay', 'probe', ...SESSION_SERVER_KEYS]);

function split<T extends object>(options: T): { own: Partial<T>; session: TcpSessionOptions } {
  const own: Record<string, unknown> = {};
  const session: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(options)) (OWN_KEYS.has(k) ? own : session)[k] = v;
  return { own: own as Partial<T>, session: session as TcpSessionOptions };
}

function checkPort(port: unknown, required: boolean): void {
  if (port === undefined && !required) return;
  if (port === undefined) throw badOption('', 'port', 'an integer from 0 to 65535 (required)');
  intOption('', 'port', port, 0, 0, 65535);
}

function checkCommon(own: { host?: unknown; noDelay?: unknown }): void {
  if (own.host !== undefined && typeof own.host !== 'string') throw badOption('', 'host', 'a string', typeof own.host);
  boolOption('', 'noDelay', own.noDelay, undefined);
}

function carrierError(what: string, cause: unknown): MuxError {
  return new MuxError('ERR_MUX_CARRIER', `${what}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
}

/**
 * A TCP server of sessions: subscribing listens, and emits one session (role `server`) per accepted connection.
 * The subscription is the server's lifetime: unsubscribing stops listening and closes every session it emitted
 * that is still open (gracefully: queued bytes, FINs, GoAway, then the socket ends).
 *
 * Each session lives on its own: one failing (a client that vanishes without closing its session, a protocol error,
 * a keep-alive timeout) ends only that session, never the Observable. By default (`sessionErrors: 'absorb'`) the
 * failed session's `incoming$` then completes instead of erroring, so `mergeMap((s) => s.incoming$)` goes on serving;
 * the error is on the session's `closed$` and goes to `onSessionError`. The Observable errors with ERR_MUX_CARRIER
 * when the server cannot listen (port in use, ...) or fails, and never completes by itself. Learn the bound address (e.g. the port picked for `port: 0`) from `onListening`.
 *
 * @example
 * ```ts
 * import { listen } from 'rxmux/node';
 * import { mergeMap } from 'rxjs';
 * const server = listen({ port: 7000, keepAliveInterval: 10_000, onListening: (a) => console.log(`on ${a.port}`) })
 *   .pipe(mergeMap((session) => session.incoming$))
 *   .subscribe((request) => request.accept().end());
 * // later: server.unsubscribe() closes the server and its sessions
 * ```
 *
 * @throws MuxError ERR_MUX_INVALID_OPTION for a bad option, or a `role` (always `server`), when called.
 */
export function listen(options: ListenOptions = {}): Observable<Session> {
  checkOptionsObject('listen', options);
  refuseRole(options, 'listen', 'server');
  const { own, session: sessionOptions } = split(options);
  checkPort(own.port, false);
  checkCommon(own);
  fnOption('listen', 'onListening', own.onListening);
  const { emit } = sessionServer(own);
  const { options: resolved, route } = resumableServer(resolveOptions({ ...sessionOptions, role: 'server' }));
  const port = own.port ?? 0;
  const host = own.host ?? '127.0.0.1';
  const noDelay = own.noDelay ?? true;
  return new Observable<Session>((subscriber) => {
    const sessions = new Set<Session>();
    let stopped = false;
    const server: Server = createServer((socket) => {
      if (stopped) {
        socket.destroy();
        return;
      }
      // With resumption, a connection that resumes a suspended session goes to it; any other starts a session.
      route(socketCarrier(socket, { noDelay }), (carrier) => {
        if (stopped) {
          carrier.destroy();
          return;
        }
        const session = createSession(carrier, resolved);
        sessions.add(session);
        session.closed$.subscribe(() => sessions.delete(session));
        subscriber.next(emit(session));
      });
    });
    server.on('error', (e) => {
      if (!stopped) subscriber.error(carrierError(`listen on ${host}:${port} failed`, e));
    });
    server.listen(port, host, () => {
      if (stopped) return;
      const address = server.address();
      if (address !== null && typeof address === 'object') own.onListening?.(address);
    });
    return () => {
      stopped = true;
      if (server.listening) server.close();
      // Each close ends its socket once the session's queued bytes are out (at most shutdownTimeout later).
      for (const s of [...sessions]) if (!s.isClosed) void s.close();
    };
  });
}

/**
 * A TCP client session: subscribing connects, and emits the session (role `client`) once connected. Like
 * `multiplex()`, the subscription is the session's lifetime: the Observable completes when the session closes
 * cleanly, errors with its MuxError when it fails, and unsubscribing closes it gracefully (or abandons the
 * connection attempt). A connection failure (refused, unreachable, reset) errors with ERR_MUX_CARRIER whose
 * `cause` is Node's error.
 *
 * @example
 * ```ts
 * import { connect } from 'rxmux/node';
 * import { switchMap } from 'rxjs';
 * connect({ port: 7000 })
 *   .pipe(switchMap((session) => session.open({ meta: 'files/report.csv' })))
 *   .subscribe((channel) => channel.incoming$.subscribe(console.log));
 * ```
 *
 * @throws MuxError ERR_MUX_INVALID_OPTION for a bad option (checked when called, not when subscribed).
 */
export function connect(options: ConnectOptions): Observable<Session> {
  if (options === null || typeof options !== 'object')
    throw new MuxError('ERR_MUX_INVALID_OPTION', 'connect: options with a port are required');
  refuseRole(options, 'connect', 'client');
  const { own, session: sessionOptions } = split(options);
  checkPort(own.port, true);
  checkCommon(own);
  boolOption('', 'probe', own.probe, undefined);
  const probe = own.probe ?? true;
  const port = own.port!;
  const host = own.host ?? '127.0.0.1';
  const noDelay = own.noDelay ?? true;
  let resolved = resolveOptions({ ...sessionOptions, role: 'client' });
  // With resumption and no reconnect of the application's: a new connection to the same address.
  if (resolved.resume && !resolved.resume.reconnect) {
    resolved = { ...resolved, resume: { ...resolved.resume, reconnect: () => dial(host, port, noDelay) } };
  }
  return new Observable<Session>((subscriber) => {
    let session: Session | undefined;
    const socket = netConnect({ port, host });
    const onError = (e: unknown): void => subscriber.error(carrierError(`connect to ${host}:${port} failed`, e));
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      const s = createSession(socketCarrier(socket, { noDelay }), resolved);
      session = s;
      s.closed$.subscribe(({ error }) => (error ? subscriber.error(error) : subscriber.complete()));
      if (probe && !s.isClosed) s.ping().subscribe({ error: () => undefined });
      if (!s.isClosed) subscriber.next(s);
    });
    return () => {
      if (session === undefined) {
        socket.off('error', onError);
        socket.on('error', () => undefined);
        socket.destroy();
      } else if (!session.isClosed) void session.close();
    };
  });
}

/** One TCP connection as a carrier, once connected (ERR_MUX_CARRIER when it cannot be made). */
function dial(host: string, port: number, noDelay: boolean): Observable<Carrier> {
  return new Observable<Carrier>((subscriber) => {
    const socket = netConnect({ port, host });
    const onError = (e: unknown): void => subscriber.error(carrierError(`connect to ${host}:${port} failed`, e));
    socket.once('error', onError);
    socket.once('connect', () => {
      socket.off('error', onError);
      subscriber.next(socketCarrier(socket, { noDelay }));
      subscriber.complete();
    });
    return () => {
      if (socket.connecting) {
        socket.off('error', onError);
        socket.on('error', () => undefined);
        socket.destroy();
      }
    };
  });
}
