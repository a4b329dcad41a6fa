// The memory pair's options, checked and resolved once: scheduler, latency, capacity, seed and chunking.
// Every bad value is a MuxError ERR_MUX_INVALID_OPTION naming memoryPair.
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { badOption, checkOptionsObject } from '../util/validate.js';
import type { MemoryPairOptions } from './memory.js';

export interface ResolvedOptions {
  readonly scheduler: SchedulerLike;
  readonly latency: number;
  readonly capacity: number;
  readonly lowWater: number;
  readonly seed: number;
  readonly cut: ((remaining: number, rng: () => number) => number) | undefined;
}

function isPositiveInteger(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 1;
}

export function resolveOptions(options: MemoryPairOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    checkOptionsObject('memoryPair', options);
  }
  const scheduler = options.scheduler ?? asyncScheduler;
  if (typeof scheduler !== 'object' || typeof scheduler.schedule !== 'function' || typeof scheduler.now !== 'function') {
    throw badOption('memoryPair', 'scheduler', 'an RxJS SchedulerLike');
  }
  const latency = options.latency ?? 0;
  if (typeof latency !== 'number' || !Number.isFinite(latency) || latency < 0) {
    throw badOption('memoryPair', 'latency', 'a finite number of milliseconds >= 0', latency);
  }
  const capacity = options.capacity ?? Infinity;
  if (typeof capacity !== 'number' || Number.isNaN(capacity) || capacity < 1) {
    throw badOption('memoryPair', 'capacity', 'a number of bytes >= 1 (or Infinity)', capacity);
  }
  const seed = options.seed ?? 1;
  if (typeof seed !== 'number' || !Number.isInteger(seed)) {
    throw badOption('memoryPair', 'seed', 'an integer', seed);
  }
  let cut: ResolvedOptions['cut'];
  const cs = options.chunkSize;
  if (cs === undefined) {
    cut = undefined;
  } else if (typeof cs === 'number') {
    if (!isPositiveInteger(cs)) throw badOption('memoryPair', 'chunkSize', 'an integer number of bytes >= 1', cs);
    cut = () => cs;
  } else if (typeof cs === 'function') {
    cut = cs;
  } else if (typeof cs === 'object' && cs !== null) {
    const { min, max } = cs;
    if (!isPositiveInteger(min) || !isPositiveInteger(max) || max < min) {
      throw badOption(
        'memoryPair',
        'chunkSize',
        '{ min, max } integers with 1 <= min <= max',
        `{ min: ${String(min)}, max: ${String(max)} }`,
      );
    }
    const span = max - min + 1;
    cut = (_remaining, rng) => min + Math.floor(rng() * span);
  } else {
    throw badOption('memoryPair', 'chunkSize', 'a number, { min, max } or a function', typeof cs);
  }
  return {
    scheduler,
    latency,
    capacity,
    lowWater: capacity === Infinity ? Infinity : Math.floor(capacity / 2),
    seed: seed >>> 0,
    cut,
  };
}
