/**
 * Demo helpers: seeded deterministic bytes, sizes, and small async utilities.
 */

export const KiB = 1024;
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/**
 * Yields `total` seeded pseudo-random bytes (xorshift32) in fresh chunks of `chunkSize` bytes.
 * Every chunk is a new buffer: a channel keeps a reference to queued chunks until they are written.
 * `onChunk` sees each chunk just before it is yielded (the sender hashes there).
 */
export function* seededChunks(seed: number, total: number, chunkSize: number, onChunk: (chunk: Uint8Array) => void): Generator<Uint8Array> {
  let s = seed >>> 0 || 0x9e3779b9;
  for (let offset = 0; offset < total; offset += chunkSize) {
    const n = Math.min(chunkSize, total - offset);
    const words = new Uint32Array(Math.ceil(n / 4));
    for (let i = 0; i < words.length; i++) {
      s ^= s << 13;
      s ^= s >>> 17;
      s ^= s << 5;
      words[i] = s;
    }
    const chunk = new Uint8Array(words.buffer, 0, n);
    onChunk(chunk);
    yield chunk;
  }
}

/** Parses "48MiB", "512KiB", "8GiB" or a plain byte count. Returns NaN when it is none of those. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(B|KiB|MiB|GiB)?$/.exec(text.trim());
  if (!m) return Number.NaN;
  const unit = m[2] === 'GiB' ? GiB : m[2] === 'MiB' ? MiB : m[2] === 'KiB' ? KiB : 1;
  return Math.round(Number(m[1]) * unit);
}

/** "48MiB"-style label for a size (for metadata). */
export function sizeLabel(bytes: number): string {
  if (bytes % GiB === 0) return `${bytes / GiB}GiB`;
  if (bytes % MiB === 0) return `${bytes / MiB}MiB`;
  if (bytes % KiB === 0) return `${bytes / KiB}KiB`;
  return `${bytes}B`;
}

/** Human-readable size: "256K", "1.5M", "48.0M" (binary units), compact for tables. */
export function short(bytes: number): string {
  if (bytes < KiB) return `${bytes}`;
  if (bytes < MiB) return `${(bytes / KiB).toFixed(bytes < 10 * KiB ? 1 : 0)}K`;
  if (bytes < GiB) return `${(bytes / MiB).toFixed(1)}M`;
  return `${(bytes / GiB).toFixed(2)}G`;
}

/** Human-readable size with the unit spelled out: "256.0 KiB", "48.0 MiB". */
export function human(bytes: number): string {
  if (bytes < KiB) return `${bytes} B`;
  if (bytes < MiB) return `${(bytes / KiB).toFixed(1)} KiB`;
  if (bytes < GiB) return `${(bytes / MiB).toFixed(1)} MiB`;
  return `${(bytes / GiB).toFixed(2)} GiB`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Milliseconds since the process started (monotonic). */
export function now(): number {
  return performance.now();
}
