/**
 * Server-side samplers of the dashboard's metric families. Each returns a function that takes one sample and
 * returns the family's snapshot (latest values plus history); call it on a timer.
 */
import { cpus } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { Session } from '../../src/index.js';
import { HISTORY, METRIC_FAMILIES, type MetricSnapshot } from './protocol.js';

const MiB = 1024 * 1024;
const round = (x: number): number => Math.round(x * 10) / 10;

/** Keeps the history of each series of a family (protocol.ts) and builds snapshots. */
class Series {
  private seq = 0;
  private readonly history: Record<string, number[]> = {};
  private readonly names: readonly string[];

  constructor(family: string) {
    this.names = METRIC_FAMILIES.find((f) => f.id === family)!.series.map((s) => s.name);
    for (const n of this.names) this.history[n] = [];
  }

  push(values: Record<string, number>): MetricSnapshot {
    const latest: Record<string, number> = {};
    for (const n of this.names) {
      const v = round(values[n] ?? 0);
      latest[n] = v;
      const h = this.history[n]!;
      h.push(v);
      if (h.length > HISTORY) h.shift();
    }
    return { seq: ++this.seq, t: Date.now(), latest, history: { ...this.history } };
  }
}

/** Exponential smoothing, so 50 ms samples of coarse counters still draw a readable line. */
function smoother(weight = 0.25): (key: string, value: number) => number {
  const last = new Map<string, number>();
  return (key, value) => {
    const prev = last.get(key);
    const next = prev === undefined ? value : prev + (value - prev) * weight;
    last.set(key, next);
    return next;
  };
}

/** CPU: host busy / user / system % over all cores (from os.cpus() tick deltas) and this process's %. */
export function cpuSampler(): () => MetricSnapshot {
  const series = new Series('cpu');
  const smooth = smoother();
  const ticks = (): { user: number; sys: number; total: number } => {
    let user = 0;
    let sys = 0;
    let total = 0;
    for (const c of cpus()) {
      user += c.times.user + c.times.nice;
      sys += c.times.sys + c.times.irq;
      total += c.times.user + c.times.nice + c.times.sys + c.times.irq + c.times.idle;
    }
    return { user, sys, total };
  };
  let prev = ticks();
  let prevProcess = process.cpuUsage();
  let prevAt = performance.now();
  return () => {
    const now = ticks();
    const dt = now.total - prev.total || 1;
    const user = ((now.user - prev.user) / dt) * 100;
    const system = ((now.sys - prev.sys) / dt) * 100;
    const usage = process.cpuUsage(prevProcess);
    const at = performance.now();
    const proc = ((usage.user + usage.system) / 1000 / Math.max(at - prevAt, 1)) * 100;
    prev = now;
    prevProcess = process.cpuUsage();
    prevAt = at;
    return series.push({
      host: smooth('host', user + system),
      user: smooth('user', user),
      system: smooth('system', system),
      process: smooth('process', proc),
    });
  };
}

/** Memory of this process (MiB), and the host's used memory on the side. */
export function memorySampler(): () => MetricSnapshot {
  const series = new Series('memory');
  return () => {
    const m = process.memoryUsage();
    return series.push({ rss: m.rss / MiB, 'heap used': m.heapUsed / MiB, 'heap total': m.heapTotal / MiB, external: m.external / MiB });
  };
}

/** The session's own traffic (KiB/s out and in, frames/s out) and the event loop's delay. Call `stop()` at the end. */
export function ratesSampler(session: Session): { sample: () => MetricSnapshot; stop: () => void } {
  const series = new Series('rates');
  const smooth = smoother(0.3);
  const lag = monitorEventLoopDelay({ resolution: 10 });
  lag.enable();
  let prev = session.stats();
  let prevAt = performance.now();
  return {
    sample: () => {
      const s = session.stats();
      const at = performance.now();
      const seconds = Math.max(at - prevAt, 1) / 1000;
      const values = {
        out: smooth('out', (s.bytesOut - prev.bytesOut) / 1024 / seconds),
        in: smooth('in', (s.bytesIn - prev.bytesIn) / 1024 / seconds),
        'frames out': smooth('frames', (s.framesOut - prev.framesOut) / seconds),
        'loop lag': smooth('lag', Math.max(0, lag.mean / 1e6 - 10)),
      };
      lag.reset();
      prev = s;
      prevAt = at;
      return series.push(values);
    },
    stop: () => lag.disable(),
  };
}
