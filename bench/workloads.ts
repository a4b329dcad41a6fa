/**
 * The workloads, written once against the {@link Chan} API of bench/peers.ts: the opener side drives and times,
 * the acceptor side answers (counts and acknowledges, or echoes).
 *
 * Data always flows opener -> acceptor; bulk acknowledgements and echoes flow back on the same channel.
 */
import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { MiB, percentile, type Figures, type Sizes, type WorkloadName } from './common.js';
import type { Chan, Chunk, OpenerSide } from './peers.js';

const ACK = new Uint8Array([0x06]);
const noop = (): void => undefined;

function filled(n: number): Uint8Array {
  return randomFillSync(new Uint8Array(n));
}

/** Heap and RSS after garbage collection (needs `node --expose-gc`). */
export async function settledMemory(): Promise<{ heap: number; rss: number; external: number }> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the worker with node --expose-gc');
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setImmediate(r));
  }
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss, external: m.external };
}

// ------------------------------------------------------------------------------------------------ acceptor side

/**
 * The acceptor's handler for each channel of a workload.
 * - bulk1, bulk64: count bytes; once the expected size arrived, write one ACK byte; end after the peer ends.
 * - open, rtt: echo every chunk; end after the peer ends.
 * - idle: attach a reader and hold the channel; `onIdle(count)` after each channel.
 */
export function acceptorHandler(
  workload: WorkloadName,
  sizes: Sizes,
  onError: (e: unknown) => void,
  onIdle: (count: number) => void,
  report: (figures: Figures) => void = noop,
): (ch: Chan) => void {
  switch (workload) {
    case 'hol': {
      // The first channel is the echo channel (the opener opens it, and completes warm-up round trips on it,
      // before it opens the bulk channels); every later one is a bulk channel, counted and acknowledged.
      // CPU is taken from the first bulk byte to the last ACK.
      let channels = 0;
      let acked = 0;
      let cpu0: NodeJS.CpuUsage | undefined;
      let t0 = 0;
      return (ch) => {
        if (channels++ === 0) {
          ch.read(
            (c) => ch.write(c)?.catch(onError),
            () => ch.end(),
          );
          return;
        }
        let got = 0;
        ch.read(
          (c) => {
            if (!cpu0) {
              cpu0 = process.cpuUsage();
              t0 = performance.now();
            }
            const before = got;
            got += c.byteLength;
            if (before < sizes.holBytes && got >= sizes.holBytes) {
              ch.write(ACK)?.catch(onError);
              if (++acked === sizes.holChannels) {
                const cpu = process.cpuUsage(cpu0);
                report({ acceptorCpuMs: (cpu.user + cpu.system) / 1000, acceptorWallMs: performance.now() - t0 });
              }
            }
          },
          () => ch.end(),
        );
      };
    }
    case 'bulk1':
    case 'bulk64': {
      const expect = workload === 'bulk1' ? sizes.bulk1Bytes : sizes.bulk64Bytes;
      return (ch) => {
        let got = 0;
        ch.read(
          (c) => {
            const before = got;
            got += c.byteLength;
            if (before < expect && got >= expect) ch.write(ACK)?.catch(onError);
          },
          () => ch.end(),
        );
      };
    }
    case 'open':
    case 'rtt':
      return (ch) =>
        ch.read(
          (c) => ch.write(c)?.catch(onError),
          () => ch.end(),
        );
    case 'idle': {
      const held: Chan[] = [];
      return (ch) => {
        ch.read(noop, noop);
        held.push(ch);
        onIdle(held.length);
      };
    }
  }
}

// ------------------------------------------------------------------------------------------------ opener side

/** A promise that resolves once `n` bytes came back on the channel (then counts from zero again). */
function replies(ch: Chan, n: number): () => Promise<void> {
  let got = 0;
  let waiter: (() => void) | undefined;
  ch.read((c: Chunk) => {
    got += c.byteLength;
    if (got >= n && waiter) {
      got -= n;
      const w = waiter;
      waiter = undefined;
      w();
    }
  }, noop);
  return () =>
    new Promise<void>((resolve) => {
      if (got >= n) {
        got -= n;
        resolve();
      } else waiter = resolve;
    });
}

async function pour(ch: Chan, bytes: number, chunk: Uint8Array): Promise<void> {
  for (let sent = 0; sent < bytes; sent += chunk.byteLength) {
    const wait = ch.write(sent + chunk.byteLength <= bytes ? chunk : chunk.subarray(0, bytes - sent));
    if (wait) await wait;
  }
  ch.end();
}

export async function bulk1(side: OpenerSide, sizes: Sizes): Promise<Figures> {
  const ch = await side.open();
  const acked = replies(ch, 1)();
  const chunk = filled(sizes.writeSize);
  const t0 = performance.now();
  await pour(ch, sizes.bulk1Bytes, chunk);
  await acked;
  const ms = performance.now() - t0;
  return { mibps: sizes.bulk1Bytes / MiB / (ms / 1000), ms };
}

export async function bulk64(side: OpenerSide, sizes: Sizes): Promise<Figures> {
  const n = sizes.bulk64Channels;
  const chans = await Promise.all(Array.from({ length: n }, () => side.open()));
  const acks = chans.map((ch) => replies(ch, 1)());
  const chunk = filled(sizes.writeSize);
  const done: number[] = [];
  const t0 = performance.now();
  await Promise.all([
    ...chans.map((ch) => pour(ch, sizes.bulk64Bytes, chunk)),
    ...acks.map((a) => a.then(() => void done.push(performance.now() - t0))),
  ]);
  const first = Math.min(...done);
  const last = Math.max(...done);
  return { mibps: (n * sizes.bulk64Bytes) / MiB / (last / 1000), fairness: first / last, firstMs: first, lastMs: last };
}

export async function openClose(side: OpenerSide, sizes: Sizes): Promise<Figures> {
  const payload = filled(sizes.openPayload);
  let started = 0;
  const one = async (): Promise<void> => {
    const ch = await side.open();
    await new Promise<void>((resolve, reject) => {
      let got = 0;
      ch.read(
        (c) => void (got += c.byteLength),
        () => (got === payload.byteLength ? resolve() : reject(new Error(`echo carried ${got} bytes, expected ${payload.byteLength}`))),
      );
      ch.write(payload)?.catch(reject);
      ch.end();
    });
  };
  const lane = async (): Promise<void> => {
    while (started < sizes.openChannels) {
      started++;
      await one();
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: Math.min(sizes.openInFlight, sizes.openChannels) }, lane));
  const ms = performance.now() - t0;
  return { chps: sizes.openChannels / (ms / 1000), ms };
}

export async function rtt(side: OpenerSide, sizes: Sizes): Promise<Figures> {
  const ch = await side.open();
  const msg = filled(sizes.rttPayload);
  const reply = replies(ch, msg.byteLength);
  const samples = new Float64Array(sizes.rttRounds);
  for (let i = -sizes.rttWarmup; i < sizes.rttRounds; i++) {
    const t0 = performance.now();
    const back = reply();
    const wait = ch.write(msg);
    if (wait) await wait;
    await back;
    if (i >= 0) samples[i] = (performance.now() - t0) * 1000;
  }
  ch.end();
  const sorted = Array.from(samples).sort((a, b) => a - b);
  return { p50us: percentile(sorted, 50), p99us: percentile(sorted, 99), meanUs: sorted.reduce((a, b) => a + b, 0) / sorted.length };
}

/**
 * hol (head-of-line): one echo channel does sequential `holPayload`-byte round trips while `holChannels` other
 * channels on the same connection each push `holBytes`. The echo channel is opened first and warmed up
 * (`holWarmup` untimed rounds); then the bulk channels are opened, and the clock starts with their first writes.
 * A round trip is a sample if it started while all bulk channels were still sending (before the first one's ACK
 * came back, i.e. before any finished delivering): one held up behind bulk data counts with its full time.
 * Aggregate throughput: all bulk bytes over the time to the last ACK. CPU: this process's user+system time over the
 * same span (process.cpuUsage).
 */
export async function hol(side: OpenerSide, sizes: Sizes): Promise<Figures> {
  const echo = await side.open();
  const msg = filled(sizes.holPayload);
  const reply = replies(echo, msg.byteLength);
  const round = async (): Promise<void> => {
    const back = reply();
    const wait = echo.write(msg);
    if (wait) await wait;
    await back;
  };
  for (let i = 0; i < sizes.holWarmup; i++) await round();
  const chans = await Promise.all(Array.from({ length: sizes.holChannels }, () => side.open()));
  const acks = chans.map((ch) => replies(ch, 1)());
  const chunk = filled(sizes.writeSize);
  let loaded = true;
  const done: number[] = [];
  const samples: number[] = [];
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const pinger = (async () => {
    while (loaded) {
      const s = performance.now();
      await round();
      samples.push((performance.now() - s) * 1000);
    }
  })();
  await Promise.all([
    ...chans.map((ch) => pour(ch, sizes.holBytes, chunk)),
    ...acks.map((a) =>
      a.then(() => {
        loaded = false;
        done.push(performance.now() - t0);
      }),
    ),
  ]);
  const last = Math.max(...done);
  const cpu = process.cpuUsage(cpu0);
  await pinger;
  echo.end();
  const sorted = samples.sort((a, b) => a - b);
  return {
    p50us: percentile(sorted, 50),
    p99us: percentile(sorted, 99),
    maxUs: sorted.length ? sorted[sorted.length - 1]! : NaN,
    rounds: sorted.length,
    mibps: (sizes.holChannels * sizes.holBytes) / MiB / (last / 1000),
    firstMs: Math.min(...done),
    lastMs: last,
    openerCpuMs: (cpu.user + cpu.system) / 1000,
  };
}

/** Opens `idleChannels` channels (`openInFlight` at a time), attaches a reader to each, and holds them. */
export async function openIdle(side: OpenerSide, sizes: Sizes, held: Chan[]): Promise<void> {
  let started = 0;
  const lane = async (): Promise<void> => {
    while (started < sizes.idleChannels) {
      started++;
      const ch = await side.open();
      ch.read(noop, noop);
      held.push(ch);
    }
  };
  await Promise.all(Array.from({ length: Math.min(sizes.openInFlight, sizes.idleChannels) }, lane));
}
