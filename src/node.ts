/// <reference types="node" preserve="true" />
/**
 * rxmux/node: the Node socket carrier, the `stream.Duplex` adapter, the TCP helpers `listen` and `connect`, and file
 * transfer. Needs Node's built-ins (and, in TypeScript, `@types/node`, which this entry references).
 */
export * from './carriers/node-socket.js';
export { toDuplex } from './adapters/node-duplex.js';
export type { ToDuplexOptions } from './adapters/node-duplex.js';
export { listen, connect } from './node/tcp.js';
export type { ListenOptions, ConnectOptions, TcpSessionOptions } from './node/tcp.js';
export type { SessionServerOptions } from './carriers/session-server.js';
export { sendFile, receiveFile } from './operators/file-transfer.js';
export type { FileProgress, SendFileOptions, ReceiveFileOptions } from './operators/file-transfer.js';
