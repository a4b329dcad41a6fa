/**
 * Shared definitions of the benchmark: peers, workloads, their sizes (full and quick), the messages the
 * orchestrator (bench/run.ts) and the workers (bench/worker.ts) exchange over the IPC channel, and small statistics.
 */

export const PEERS = [
  'raw',
  'rxmux',
  'rxmux-resume',
  'bpmux',
  'libp2p-yamux',
  'rxmux-libp2p',
  'http2',
  'go-yamux',
  'ws-raw',
  'rxmux-ws',
] as const;
export type PeerName = (typeof PEERS)[number];

export const WORKLOADS = ['bulk1', 'bulk64', 'open', 'rtt', 'idle', 'hol'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

/**
 * How a bulk producer (bulk1, bulk64, hol) writes its 64 KiB chunks:
 * - `await`: awaits each write's own promise where the library has one (rxmux `Channel.write`); the other peers
 *   use their back-pressure signal (Node streams: `write()` false, then `'drain'`; libp2p: `send()` false, then
 *   `onDrain()`; Go: the blocking `Write`).
 * - `drain`: the Node stream pattern: write until the stream reports back-pressure, then wait for `'drain'`
 *   (rxmux: through `toDuplex(channel)` from rxmux/node, default 16 KiB writable high-water mark). The peers that
 *   are Node streams already write this way in both modes; Go has only its blocking `Write` (await only).
 */
export const PRODUCERS = ['await', 'drain'] as const;
export type Producer = (typeof PRODUCERS)[number];

/** Workloads whose producer mode is selectable. */
export const BULK_WORKLOADS: readonly WorkloadName[] = ['bulk1', 'bulk64', 'hol'];

/** One measured case: a workload, and for the bulk workloads a producer mode. Its key: `bulk1:await`, `rtt`. */
export interface Case {
  workload: WorkloadName;
  producer?: Producer;
}
export const caseKey = (c: Case): string => (c.producer ? `${c.workload}:${c.producer}` : c.workload);

/** The baseline every peer's ratio is taken against: the plain connection of the same carrier. */
export function baselineOf(peer: PeerName): PeerName {
  return peer === 'ws-raw' || peer === 'rxmux-ws' ? 'ws-raw' : 'raw';
}

/** Which cases a peer runs (the WebSocket peers: the bulk workloads and hol; Go: no drain mode). */
export function peerRuns(peer: PeerName, c: Case): boolean {
  if ((peer === 'ws-raw' || peer === 'rxmux-ws') && !BULK_WORKLOADS.includes(c.workload)) return false;
  // Resumption on: what it costs where bytes are many (the replay store, positions, acknowledgements).
  if (peer === 'rxmux-resume' && c.workload !== 'bulk1' && c.workload !== 'bulk64') return false;
  if (peer === 'go-yamux' && c.producer === 'drain') return false;
  return true;
}

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** Sizes of one run of each workload. */
export interface Sizes {
  /** bulk1: bytes sent one way on one channel. */
  bulk1Bytes: number;
  /** bulk64: channels, and bytes sent one way on each. */
  bulk64Channels: number;
  bulk64Bytes: number;
  /** Size of each write in bulk workloads. */
  writeSize: number;
  /** open: channels opened, each carrying `openPayload` bytes echoed then closed, `openInFlight` at a time. */
  openChannels: number;
  openInFlight: number;
  openPayload: number;
  /** rtt: timed round trips of `rttPayload` bytes on one channel, after `rttWarmup` untimed ones. */
  rttRounds: number;
  rttWarmup: number;
  rttPayload: number;
  /** idle: channels opened and left idle (a reader attached), opened `openInFlight` at a time. */
  idleChannels: number;
  /**
   * hol: `holChannels` channels each push `holBytes` one way (in `writeSize` writes) while one more channel on the
   * same connection does sequential `holPayload`-byte echo round trips, after `holWarmup` untimed ones.
   */
  holChannels: number;
  holBytes: number;
  holPayload: number;
  holWarmup: number;
}

export const FULL: Sizes = {
  bulk1Bytes: 256 * MiB,
  bulk64Channels: 64,
  bulk64Bytes: 4 * MiB,
  writeSize: 64 * KiB,
  openChannels: 10_000,
  openInFlight: 100,
  openPayload: 64,
  rttRounds: 10_000,
  rttWarmup: 1_000,
  rttPayload: 64,
  idleChannels: 10_000,
  holChannels: 8,
  holBytes: 64 * MiB,
  holPayload: 64,
  holWarmup: 200,
};

export const QUICK: Sizes = {
  bulk1Bytes: 32 * MiB,
  bulk64Channels: 64,
  bulk64Bytes: 256 * KiB,
  writeSize: 64 * KiB,
  openChannels: 1_000,
  openInFlight: 100,
  openPayload: 64,
  rttRounds: 1_000,
  rttWarmup: 100,
  rttPayload: 64,
  idleChannels: 1_000,
  holChannels: 8,
  holBytes: 16 * MiB,
  holPayload: 64,
  holWarmup: 50,
};

/** What a worker needs to run its side of one measurement. */
export interface WorkerParams {
  sizes: Sizes;
  /** Bulk producer mode (bulk1, bulk64, hol); default `await`. */
  producer?: Producer;
}

/** Figures one measurement produces (all numbers; names are the metric keys below). */
export type Figures = Record<string, number>;

/** worker -> orchestrator */
export type WorkerMessage =
  | { t: 'ready'; port: number }
  | { t: 'opened' }
  | { t: 'result'; figures: Figures; info?: Record<string, unknown> }
  | { t: 'error'; message: string };

/** orchestrator -> worker */
export type OrchestratorMessage = { t: 'measure' } | { t: 'stop' };

/** Workloads where the acceptor also sends a `result` (its own figures), merged with the opener's. */
export const ACCEPTOR_REPORTS: readonly WorkloadName[] = ['idle', 'hol'];

/** A metric of a workload: how it is shown and which way is better. */
export interface MetricDef {
  key: string;
  label: string;
  unit: string;
  better: 'higher' | 'lower';
  digits: number;
}

export const METRICS: Record<WorkloadName, MetricDef[]> = {
  bulk1: [{ key: 'mibps', label: 'throughput', unit: 'MiB/s', better: 'higher', digits: 0 }],
  bulk64: [
    { key: 'mibps', label: 'aggregate throughput', unit: 'MiB/s', better: 'higher', digits: 0 },
    { key: 'fairness', label: 'first/last completion', unit: 'ratio', better: 'higher', digits: 2 },
  ],
  open: [{ key: 'chps', label: 'open+echo+close', unit: 'channels/s', better: 'higher', digits: 0 }],
  rtt: [
    { key: 'p50us', label: 'p50 round trip', unit: 'µs', better: 'lower', digits: 0 },
    { key: 'p99us', label: 'p99 round trip', unit: 'µs', better: 'lower', digits: 0 },
  ],
  idle: [
    { key: 'openerHeap', label: 'opener heap / channel', unit: 'B', better: 'lower', digits: 0 },
    { key: 'openerRss', label: 'opener RSS / channel', unit: 'B', better: 'lower', digits: 0 },
    { key: 'acceptorHeap', label: 'acceptor heap / channel', unit: 'B', better: 'lower', digits: 0 },
    { key: 'acceptorRss', label: 'acceptor RSS / channel', unit: 'B', better: 'lower', digits: 0 },
  ],
  hol: [
    { key: 'p50us', label: 'p50 echo round trip under load', unit: 'µs', better: 'lower', digits: 0 },
    { key: 'p99us', label: 'p99 echo round trip under load', unit: 'µs', better: 'lower', digits: 0 },
    { key: 'maxUs', label: 'max echo round trip under load', unit: 'µs', better: 'lower', digits: 0 },
    { key: 'mibps', label: 'bulk aggregate throughput', unit: 'MiB/s', better: 'higher', digits: 0 },
    { key: 'openerCpuMs', label: 'opener CPU (user+system)', unit: 'ms', better: 'lower', digits: 0 },
    { key: 'acceptorCpuMs', label: 'acceptor CPU (user+system)', unit: 'ms', better: 'lower', digits: 0 },
  ],
};

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Nearest-rank percentile (p in 0..100) of an ascending-sorted array. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}
