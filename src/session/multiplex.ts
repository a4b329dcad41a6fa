// The two ways to start a session: createSession() (started at once) and multiplex() (an Observable whose
// subscription is the session's lifetime).
import { Observable } from 'rxjs';
import type { Carrier } from '../carrier.js';
import { resolveOptions, type SessionOptions } from '../options.js';
import { SessionImpl } from './session.js';
import type { Session } from './types.js';

/** Creates a session and starts it at once. See {@link multiplex} for the Observable form. */
export function createSession(carrier: Carrier, options: SessionOptions): Session {
  return new SessionImpl(carrier, resolveOptions(options));
}

/**
 * The session as an Observable: subscribing starts it and emits it once; the subscription is its lifetime.
 * Completes when the session closes cleanly, errors with a MuxError when it fails; unsubscribing closes it gracefully.
 *
 * @example
 * ```ts
 * multiplex(socketCarrier(socket), { role: 'server' })
 *   .pipe(switchMap((session) => session.incoming$))
 *   .subscribe((req) => req.accept().incoming$.subscribe(console.log));
 * ```
 */
export function multiplex(carrier: Carrier, options: SessionOptions): Observable<Session> {
  const resolved = resolveOptions(options);
  return new Observable<Session>((subscriber) => {
    const session = new SessionImpl(carrier, resolved);
    const sub = session.closed$.subscribe(({ error }) => (error ? subscriber.error(error) : subscriber.complete()));
    subscriber.next(session);
    return () => {
      sub.unsubscribe();
      if (!session.isClosed) void session.close();
    };
  });
}
