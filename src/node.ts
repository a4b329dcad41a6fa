export * from './carriers/node-socket.js';
