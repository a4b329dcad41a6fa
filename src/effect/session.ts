// Owns the session as a scoped resource and as a Context service (MuxSession), with Layers for the common cases.
// Acquiring starts an rxmux session over a carrier (or an Effect Socket); releasing the scope closes it gracefully.
import { Context, Effect, Layer, type Scope, type Stream } from 'effect';
import { Socket } from 'effect/socket';
import type { SchedulerLike } from 'rxjs';
import {
  createSession,
  type Carrier,
  type Channel,
  type OpenOptions,
  type Session,
  type SessionOptions,
  type SessionStats,
} from '../index.js';
import { scopedChannel, type MuxChannel } from './channel.js';
import { clockScheduler } from './clock-scheduler.js';
import { failWith, type RxmuxError } from './errors.js';
import { incomingRequests, type MuxIncoming } from './incoming.js';
import { socketCarrier, type SocketCarrierOptions } from './socket-carrier.js';

/**
 * Session options: every rxmux session option (sizes in bytes, times in ms, see the README's Session options), where
 * `scheduler` defaults to the Effect Clock of the acquiring fiber ({@link clockScheduler}), so `TestClock` drives
 * keep-alive, timeouts and RTT.
 */
export interface MuxSessionOptions extends Omit<SessionOptions, 'scheduler'> {
  /** Scheduler for every timer and clock reading. Default: the current Effect Clock (ms). */
  readonly scheduler?: SchedulerLike;
}

/**
 * A running session, in Effect terms.
 *
 * @example
 * ```ts
 * const session = yield* MuxSession;
 * const channel = yield* session.open({ meta: 'echo', timeout: 5_000 });
 * ```
 */
export interface MuxSessionService {
  /** The rxmux session underneath (RxJS API: the same session can be driven from RxJS code). */
  readonly session: Session;
  readonly role: 'client' | 'server';
  /**
   * Opens a channel: succeeds once the peer accepted (rxmux profile; yamux: at once) with the channel tied to the
   * current scope (ended on success, reset on failure or interruption). Interrupting it before the answer sends RST.
   * Fails with `MuxRejectedError` (reason, wireCode), `MuxTimeoutError` (after `timeout` ms, default `openTimeout`),
   * `MuxGoAwayError`, `MuxLimitError`, `MuxSessionClosedError`.
   */
  open(options?: OpenOptions): Effect.Effect<MuxChannel, RxmuxError, Scope.Scope>;
  /** The peer's opens (see {@link incomingRequests}). */
  readonly incoming: Stream.Stream<MuxIncoming, RxmuxError>;
  /** One ping: the round-trip time in ms of the session's clock; fails with `MuxTimeoutError` after `timeout` ms (default `keepAliveTimeout`). */
  ping(timeout?: number): Effect.Effect<number, RxmuxError>;
  /** Sends GoAway(0): the peer may open nothing more; existing channels go on. */
  readonly goAway: Effect.Effect<void>;
  /** Graceful close now (queued bytes, FINs, GoAway(0), carrier end); waits until closed. */
  readonly close: Effect.Effect<void>;
  /** Waits until the session has ended; fails with its error (e.g. `MuxCarrierError`, `MuxTimeoutError`, `MuxProtocolError`). */
  readonly closed: Effect.Effect<void, RxmuxError>;
  /** Counters now. */
  readonly stats: Effect.Effect<SessionStats>;
}

/**
 * The session service tag. Provide it with {@link layer} (over an Effect `Socket` from the context) or
 * {@link layerCarrier} (over an rxmux Carrier).
 *
 * @example
 * ```ts
 * const program = Effect.gen(function* () {
 *   const session = yield* MuxSession;
 *   yield* Effect.scoped(Effect.flatMap(session.open(), (ch) => ch.send(Stream.make('hi'))));
 * }).pipe(Effect.provide(layer({ role: 'client' })), Effect.provide(NodeSocket.layerNet({ port: 7000 })));
 * ```
 */
export class MuxSession extends Context.Service<MuxSession, MuxSessionService>()('rxmux/effect/MuxSession') {}

function service(session: Session): MuxSessionService {
  return {
    session,
    role: session.role,
    open: (options) =>
      Effect.uninterruptibleMask((restore) =>
        Effect.flatMap(
          restore(
            Effect.callback<Channel, RxmuxError>((resume) => {
              const sub = session.open(options).subscribe({
                next: (channel) => resume(Effect.succeed(channel)),
                error: (error: unknown) => resume(failWith(error)),
              });
              return Effect.sync(() => sub.unsubscribe());
            }),
          ),
          scopedChannel,
        ),
      ),
    incoming: incomingRequests(session),
    ping: (timeout) =>
      Effect.callback<number, RxmuxError>((resume) => {
        const sub = session.ping(timeout).subscribe({
          next: (rtt) => resume(Effect.succeed(rtt)),
          error: (error: unknown) => resume(failWith(error)),
        });
        return Effect.sync(() => sub.unsubscribe());
      }),
    goAway: Effect.sync(() => session.goAway()),
    close: Effect.promise(() => session.close()),
    closed: Effect.callback<void, RxmuxError>((resume) => {
      const sub = session.closed$.subscribe(({ error }) => resume(error ? failWith(error) : Effect.void));
      return Effect.sync(() => sub.unsubscribe());
    }),
    stats: Effect.sync(() => session.stats()),
  };
}

/**
 * Starts a session over `carrier` in the current scope; closing the scope closes it gracefully (queued bytes, FINs,
 * GoAway(0), carrier end; bounded by `shutdownTimeout`, 30000 ms by default, of the session's clock).
 * Fails with `MuxInvalidOptionError` on a bad option.
 *
 * @example
 * ```ts
 * const [a, b] = memoryPair({ scheduler: yield* clockScheduler });
 * const client = yield* make(a, { role: 'client' });
 * ```
 */
export const make = (carrier: Carrier, options: MuxSessionOptions): Effect.Effect<MuxSessionService, RxmuxError, Scope.Scope> =>
  Effect.gen(function* () {
    const scheduler = options.scheduler ?? (yield* clockScheduler);
    const session = yield* Effect.try({ try: () => createSession(carrier, { ...options, scheduler }), catch: (e) => e }).pipe(
      Effect.catch((e) => failWith(e)),
    );
    yield* Effect.addFinalizer(() => (session.isClosed ? Effect.void : Effect.promise(() => session.close())));
    return service(session);
  });

/**
 * Starts a session over an Effect `Socket` (NodeSocket, WebSocket, ...) through {@link socketCarrier}.
 * Fails with `MuxCarrierError` when the socket cannot connect.
 *
 * @example
 * ```ts
 * const session = yield* fromSocket(yield* NodeSocket.makeNet({ port: 7000 }), { role: 'client' });
 * ```
 */
export const fromSocket = (
  socket: Socket.Socket,
  options: MuxSessionOptions & { readonly socket?: SocketCarrierOptions },
): Effect.Effect<MuxSessionService, RxmuxError, Scope.Scope> =>
  Effect.flatMap(socketCarrier(socket, options.socket), (carrier) => {
    const { socket: _ignored, ...sessionOptions } = options;
    return make(carrier, sessionOptions);
  });

/**
 * A Layer providing {@link MuxSession} over the `Socket` service in the context (e.g. `NodeSocket.layerNet`).
 *
 * @example
 * ```ts
 * const Live = layer({ role: 'client' }).pipe(Layer.provide(NodeSocket.layerNet({ host: '127.0.0.1', port: 7000 })));
 * ```
 */
export const layer = (
  options: MuxSessionOptions & { readonly socket?: SocketCarrierOptions },
): Layer.Layer<MuxSession, RxmuxError, Socket.Socket> =>
  Layer.effect(MuxSession)(Effect.flatMap(Effect.service(Socket.Socket), (socket) => fromSocket(socket, options)));

/**
 * A Layer providing {@link MuxSession} over an rxmux Carrier (an in-memory pair end, `socketCarrier` from rxmux/node,
 * `websocketCarrier` from rxmux/web).
 *
 * @example
 * ```ts
 * const Live = layerCarrier(socketCarrier(connect(7000)), { role: 'client' });
 * ```
 */
export const layerCarrier = (carrier: Carrier, options: MuxSessionOptions): Layer.Layer<MuxSession, RxmuxError> =>
  Layer.effect(MuxSession)(make(carrier, options));
