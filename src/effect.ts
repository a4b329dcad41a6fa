/**
 * rxmux/effect: rxmux sessions for Effect (npm `effect` 4.x, an optional peer dependency; the core never imports it).
 * Sessions are scoped resources and a Context service, channels are Streams and Sinks, failures are tagged errors,
 * and time goes through Effect's Clock (so TestClock drives keep-alive, timeouts and RTT).
 */
export { MuxSession, make, fromSocket, layer, layerCarrier } from './effect/session.js';
export type { MuxSessionOptions, MuxSessionService } from './effect/session.js';
export { wrapChannel, scopedChannel } from './effect/channel.js';
export type { MuxChannel } from './effect/channel.js';
export { incomingRequests } from './effect/incoming.js';
export type { MuxIncoming } from './effect/incoming.js';
export { readable } from './effect/inbound.js';
export type { ReadableOptions } from './effect/inbound.js';
export { writable, write, send } from './effect/outbound.js';
export type { WritableOptions } from './effect/outbound.js';
export { socketCarrier } from './effect/socket-carrier.js';
export type { SocketCarrierOptions } from './effect/socket-carrier.js';
export { clockScheduler, ClockScheduler } from './effect/clock-scheduler.js';
export * from './effect/errors.js';
