// A seeded PRNG for reproducible tests: the memory pair's chunking and the specs' random workloads.

/**
 * mulberry32: a tiny, fast, seeded 32-bit PRNG (good enough for test chunking, not for cryptography).
 *
 * @param seed any number, taken as uint32.
 * @returns a function returning floats in [0, 1).
 */
export function mulberry32(seed: number): () => number {
  const imul = Math.imul; // one global lookup (global lookups are slow in some sandboxes, e.g. jest's vm)
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = imul(t ^ (t >>> 15), t | 1);
    t ^= t + imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
