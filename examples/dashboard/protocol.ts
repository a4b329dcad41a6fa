/**
 * What the dashboard's server and page say to each other over their one WebSocket: channel metadata and the shape
 * of the JSON messages. Browser-safe (imported by both ends).
 *
 * Channels the SERVER opens (even ids), as soon as the page connects:
 *
 * | metadata         | content                                                   | operator      |
 * | ---------------- | --------------------------------------------------------- | ------------- |
 * | `metrics:cpu`    | {@link MetricSnapshot} every `interval` ms                | jsonMessages  |
 * | `metrics:memory` | {@link MetricSnapshot} every `interval` ms                | jsonMessages  |
 * | `metrics:rates`  | {@link MetricSnapshot} every `interval` ms                | jsonMessages  |
 * | `logs`           | UTF-8 text lines, `\n`-terminated                         | utf8Lines     |
 * | `stats:server`   | {@link ServerStats} every 250 ms: the server's view       | jsonMessages  |
 *
 * Channels the PAGE opens (odd ids): `download:<name>`. The server accepts with reply metadata
 * {@link DownloadInfo} (JSON) and sends the file's bytes then FIN, or rejects with a reason (404 unknown file).
 *
 * Every metric snapshot carries the recent history of each series, so one message redraws a whole chart: the
 * server sends metrics with the `sliding` overflow strategy, and a page whose reader stalls (paused) loses stale
 * snapshots, never the latest ones.
 */

/** A metric family: one channel each. */
export interface MetricFamily {
  readonly id: string;
  readonly title: string;
  /** Series names (the keys of a snapshot's `latest` and `history`), with their units. */
  readonly series: readonly { readonly name: string; readonly unit: string }[];
  /**
   * How the chart scales its lines: `'shared'`, one axis for every series (they share a unit); `'each'`, every line
   * against its own recent peak (mixed units, or values far apart: a download's rate must not flatten the rest).
   */
  readonly scale: 'shared' | 'each';
}

export const METRIC_FAMILIES: readonly MetricFamily[] = [
  {
    id: 'cpu',
    title: 'CPU',
    scale: 'shared',
    series: [
      { name: 'host', unit: '%' },
      { name: 'user', unit: '%' },
      { name: 'system', unit: '%' },
      { name: 'process', unit: '%' },
    ],
  },
  {
    id: 'memory',
    title: 'Memory',
    scale: 'shared',
    series: [
      { name: 'rss', unit: 'MiB' },
      { name: 'heap used', unit: 'MiB' },
      { name: 'heap total', unit: 'MiB' },
      { name: 'external', unit: 'MiB' },
    ],
  },
  {
    id: 'rates',
    title: 'Rates',
    scale: 'each',
    series: [
      { name: 'out', unit: 'KiB/s' },
      { name: 'in', unit: 'KiB/s' },
      { name: 'frames out', unit: '/s' },
      { name: 'loop lag', unit: 'ms' },
    ],
  },
];

/** Samples kept in each snapshot's history. */
export const HISTORY = 160;

/** One message on a `metrics:<family>` channel. */
export interface MetricSnapshot {
  /** Sequence number of the sample, from 1 (gaps show snapshots dropped while the reader was stalled). */
  readonly seq: number;
  /** Server clock, ms since the epoch. */
  readonly t: number;
  /** Latest value per series. */
  readonly latest: Record<string, number>;
  /** Up to {@link HISTORY} values per series, oldest first. */
  readonly history: Record<string, number[]>;
}

/** One message on `stats:server`: the server's view of this session. */
export interface ServerStats {
  readonly t: number;
  readonly session: { bytesIn: number; bytesOut: number; framesIn: number; framesOut: number; rtt: number; openChannels: number };
  readonly channels: readonly ServerChannelStats[];
}

export interface ServerChannelStats {
  readonly id: number;
  readonly meta: string;
  readonly bytesOut: number;
  readonly bytesIn: number;
  /** Bytes the page still lets the server send on this channel (the page's window for it). */
  readonly credit: number;
  /** Bytes queued on the server, waiting for credit. */
  readonly queuedOut: number;
}

/** Files the server offers (generated at start from a seed) and one it does not have, to show a rejection. */
export const DOWNLOADS: readonly { readonly name: string; readonly size: number }[] = [
  { name: 'sample-8MiB.bin', size: 8 * 1024 * 1024 },
  { name: 'sample-32MiB.bin', size: 32 * 1024 * 1024 },
];
export const MISSING_DOWNLOAD = 'missing.bin';

/** Reply metadata of a `download:<name>` channel (JSON). */
export interface DownloadInfo {
  readonly name: string;
  readonly size: number;
  /** SHA-256 of the file, 64 lowercase hex digits. */
  readonly sha256: string;
}
