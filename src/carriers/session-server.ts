/**
 * What a server of sessions shares, whatever the transport (TCP `listen`, WebSocket `websocketSessions`): each
 * connection is one session, and a connection that fails ends only its session. Browser-safe.
 */
import { catchError, defer, EMPTY, type Observable } from 'rxjs';
import { MuxError } from '../errors.js';
import type { IncomingChannel, Session } from '../session/types.js';
import { fnOption, oneOfOption } from '../util/validate.js';

/** How a server of sessions treats a connection that fails. */
export interface SessionServerOptions {
  /**
   * What a failing connection (the peer vanished, broke the protocol, timed out) does to the `incoming$` of its
   * session. `'absorb'` (default): `incoming$` completes, so a `mergeMap((s) => s.incoming$)` server goes on serving
   * the other connections; the error is still on the session's `closed$` and goes to `onSessionError`. `'propagate'`:
   * `incoming$` errors with the session's MuxError, as a session from `createSession` does.
   */
  readonly sessionErrors?: 'absorb' | 'propagate';
  /** Called once with the MuxError of each session that ended with an error (whatever `sessionErrors` says). */
  readonly onSessionError?: (error: MuxError, session: Session) => void;
}

/** The option names of {@link SessionServerOptions}. */
export const SESSION_SERVER_KEYS: readonly string[] = ['sessionErrors', 'onSessionError'];

/**
 * The same session, whose `incoming$` completes instead of erroring when the session fails (a peer that vanishes
 * ends its session, not the server). Every other member is the session's own.
 */
function absorbingSession(session: Session): Session {
  const incoming$: Observable<IncomingChannel> = defer(() => session.incoming$).pipe(catchError(() => EMPTY));
  return new Proxy(session, {
    get(target, key) {
      if (key === 'incoming$') return incoming$;
      const value: unknown = Reflect.get(target, key, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

/** Checks the options of a server of sessions; returns how to hand each new session over. */
export function sessionServer(options: SessionServerOptions): { emit: (session: Session) => Session } {
  const { sessionErrors, onSessionError } = options;
  fnOption('', 'onSessionError', onSessionError);
  const absorb = oneOfOption('', 'sessionErrors', sessionErrors, ['absorb', 'propagate'], 'absorb') === 'absorb';
  return {
    emit: (session) => {
      session.closed$.subscribe(({ error }) => {
        if (error !== undefined) onSessionError?.(error, session);
      });
      return absorb ? absorbingSession(session) : session;
    },
  };
}

/** Refuses a `role` option: a server's sessions are always `server` (and a client helper's always `client`). */
export function refuseRole(options: object, helper: string, role: 'client' | 'server'): void {
  const given = (options as { role?: unknown }).role;
  if (given === undefined) return;
  const other = given === 'client' ? 'server' : given === 'server' ? 'client' : undefined;
  throw new MuxError(
    'ERR_MUX_INVALID_OPTION',
    `option role: ${helper}() always makes ${role} sessions; remove role (got '${String(given)}')${other && given !== role ? `: the other end must be the ${other}` : ''}`,
  );
}
