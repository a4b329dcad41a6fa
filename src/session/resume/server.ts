// What a server of sessions (TCP `listen`, `websocketSessions`) does with resumption on: one registry for its
// sessions, and every new connection routed through it.
import type { Carrier } from '../../carrier.js';
import type { ResolvedOptions } from '../../options.js';
import { ResumeRegistry } from './registry.js';

/**
 * The options of a server's sessions (with the registry they share when resumption is on), and the routing of a new
 * connection: `start` is called for a connection that starts a new session; one that resumes goes to its session.
 */
export function resumableServer(options: ResolvedOptions): {
  options: ResolvedOptions;
  route: (carrier: Carrier, start: (carrier: Carrier) => void) => void;
} {
  const resume = options.resume;
  if (!resume || options.profile !== 'rxmux') return { options, route: (carrier, start) => start(carrier) };
  const registry = resume.registry ?? new ResumeRegistry(options.keepAliveTimeout, options.scheduler);
  return {
    options: { ...options, resume: { ...resume, registry } },
    route: (carrier, start) =>
      registry.route(carrier).subscribe({
        next: (r) => {
          if (r.kind === 'new') start(r.carrier);
        },
        // No whole first frame in time: let the connection go.
        error: () => carrier.destroy(),
      }),
  };
}
