/** Test helpers: frame builders and a scripted virtual peer, for marble tests of protocol behaviour. */
export { f } from './testing/frames.js';
export { virtualPeer } from './testing/virtual-peer.js';
export type { VirtualPeer } from './testing/virtual-peer.js';
export { memoryPair } from './carriers/memory.js';
export { formatFrame, toHex, fromHex } from './frame/format.js';
export { mulberry32 } from './util/random.js';
