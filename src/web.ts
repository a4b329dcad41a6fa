/**
 * rxmux/web: the WebSocket carrier and the WHATWG streams adapter. Browser-safe (no Node built-ins); the WebSocket
 * carrier also takes the `ws` package's WebSocket in Node.
 */
export { websocketCarrier } from './carriers/websocket.js';
export type { WebSocketCarrierOptions, WebSocketLike } from './carriers/websocket.js';
export { toWebStreams } from './adapters/web-streams.js';
export type { ChannelWebStreams, WebStreamsOptions } from './adapters/web-streams.js';
export { websocketSessions } from './carriers/websocket-sessions.js';
export type { WebSocketServerLike, WebSocketSessionsOptions } from './carriers/websocket-sessions.js';
export type { SessionServerOptions } from './carriers/session-server.js';
