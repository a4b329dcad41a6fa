export * from './carriers/node-socket.js';
export { toDuplex } from './adapters/node-duplex.js';
export type { ToDuplexOptions } from './adapters/node-duplex.js';
export { listen, connect } from './node/tcp.js';
export type { ListenOptions, ConnectOptions, TcpSessionOptions } from './node/tcp.js';
export { sendFile, receiveFile } from './operators/file-transfer.js';
export type { FileProgress, SendFileOptions, ReceiveFileOptions } from './operators/file-transfer.js';
