// Server side of resumption: sessions that can be resumed, found by the id in their token, and the routing of each
// new carrier (a Resume first goes to its session; anything else starts a new session).
import { asyncScheduler, map, type Observable, type SchedulerLike } from 'rxjs';
import type { Carrier } from '../../carrier.js';
import type { MuxError } from '../../errors.js';
import { readResumeRequest, refuseUnknown } from './handshake.js';
import type { ResumeLink } from './link.js';
import { tokenId } from './token.js';

/** Where {@link ResumeRegistry.route} sent a new carrier. */
export type ResumeRoute = NewConnection | ResumedConnection | RefusedConnection;

/** Not a resume: start a new session on `carrier`. */
export interface NewConnection {
  /** Discriminant. */
  readonly kind: 'new';
  /** The connection, still delivering every byte read so far. */
  readonly carrier: Carrier;
}

/** The connection resumed a suspended session (which now uses it). */
export interface ResumedConnection {
  /** Discriminant. */
  readonly kind: 'resumed';
}

/** The resume was refused: the connection was answered and ended; the session, if any, is untouched. */
export interface RefusedConnection {
  /** Discriminant. */
  readonly kind: 'refused';
  /** The refusal: ERR_MUX_RESUME_TOKEN, _POSITION, _IN_USE or _ATTEMPTS. */
  readonly error: MuxError;
}

/** The sessions of each registry, by id (module-private: sessions add and remove themselves). */
const held = new WeakMap<ResumeRegistry, Map<string, ResumeLink>>();

/** Holds a session that negotiated resumption. */
export function holdSession(registry: ResumeRegistry, link: ResumeLink): void {
  const id = link.id;
  if (id) held.get(registry)?.set(id, link);
}

/** Lets an ended session go. */
export function releaseSession(registry: ResumeRegistry, link: ResumeLink): void {
  const id = link.id;
  const links = held.get(registry);
  if (id && links?.get(id) === link) links.delete(id);
}

/**
 * The resumable sessions of a server. Give it to the server's sessions as `resume: { registry }`, and pass every new
 * connection through {@link route}: a connection that starts with a Resume frame goes to its suspended session, any
 * other one is handed back to start a new session. `listen()` and `websocketSessions()` do this themselves.
 *
 * @example
 * ```ts
 * const registry = new ResumeRegistry();
 * function onConnection(carrier: Carrier): void {
 *   registry.route(carrier).subscribe((r) => {
 *     if (r.kind === 'new') serve(createSession(r.carrier, { role: 'server', resume: { registry } }));
 *   });
 * }
 * ```
 */
export class ResumeRegistry {
  private readonly links = new Map<string, ResumeLink>();

  /**
   * @param timeout ms a new connection that has started sending has to complete its first frame (default 10000); one that
   *   sends nothing at all for 1 s is routed as new.
   * @param scheduler the scheduler of that deadline (default `asyncScheduler`).
   */
  constructor(
    private readonly timeout = 10_000,
    private readonly scheduler: SchedulerLike = asyncScheduler,
  ) {
    held.set(this, this.links);
  }

  /** Sessions held now (connected or suspended). */
  get size(): number {
    return this.links.size;
  }

  /** Reads the first frame of a new connection and routes it; emits once and completes. */
  route(carrier: Carrier): Observable<ResumeRoute> {
    return readResumeRequest(carrier, this.scheduler, this.timeout).pipe(
      map(({ request, carrier: rest }): ResumeRoute => {
        if (!request) return { kind: 'new', carrier: rest };
        const link = this.links.get(tokenId(request.token));
        const error = link ? link.accept(rest, request) : refuseUnknown(rest);
        return error ? { kind: 'refused', error } : { kind: 'resumed' };
      }),
    );
  }
}
