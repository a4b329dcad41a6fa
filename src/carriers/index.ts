/** Browser-safe carriers. The Node socket carrier is exported from `rxmux/node` (src/node.ts). */
export { memoryPair, mulberry32 } from './memory.js';
export type { ChunkSizeFn, MemoryCarrier, MemoryPairOptions, RandomChunkSize } from './memory.js';
