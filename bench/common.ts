/**
 * Shared definitions of the benchmark: peers, workloads, their sizes (full and quick), the messages the
 * orchestrator (bench/run.ts) and the workers (bench/worker.ts) exchange over the IPC channel, and small statistics.
 */

export const PEERS = ['raw', 'rxmux', 'bpmux', 'libp2p-yamux', 'http2'] as const;
export type PeerName = (typeof PEERS)[number];

export const WORKLOADS = ['bulk1', 'bulk64', 'open', 'rtt', 'idle'] as const;
export type WorkloadName = (typeof WORKLOADS)[number];

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
};

/** What a worker needs to run its side of one measurement. */
export interface WorkerParams {
  sizes: Sizes;
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
