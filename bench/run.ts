/**
 * `npm run bench`: rxmux side by side with a raw socket and peer libraries, in the same run.
 *
 *   tsx bench/run.ts [--quick] [--peers raw,rxmux,...] [--workloads bulk1,...] [--producer await|drain|both]
 *                    [--reps N] [--out DIR] [--timeout SECONDS] [--tsx] [--no-keep-awake]
 *
 * Each measurement is a fresh pair of processes (acceptor, opener) over loopback TCP. Repetitions are interleaved
 * (rep 1 of every workload and peer, then rep 2, ...; the peer order rotates each rep). Prints a Markdown table
 * and writes DIR/results.json and DIR/results.md (DIR defaults to bench/).
 */
import { writeFileSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  BULK_WORKLOADS,
  FULL,
  METRICS,
  PEERS,
  PRODUCERS,
  QUICK,
  WORKLOADS,
  baselineOf,
  caseKey,
  median,
  peerRuns,
  type Case,
  type Figures,
  type PeerName,
  type Producer,
  type Sizes,
  type WorkloadName,
} from './common.js';
import { BENCH_DIR, bundleLauncher, goBenchMissing, measure, everyWorker, nodeFlagsOf, tsxLauncher, type Launcher } from './harness.js';
import { PEER_IMPLS } from './peers.js';

interface Args {
  quick: boolean;
  peers: PeerName[];
  workloads: WorkloadName[];
  producers: Producer[];
  reps: number;
  out: string;
  timeoutMs: number;
  tsx: boolean;
  keepAwake: boolean;
  /** Extra node command-line flags for every Node worker (all peers, both roles); empty: Node's defaults. */
  nodeFlags: string[];
}

function parseArgs(argv: string[]): Args {
  const get = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
    return v;
  };
  const list = <T extends string>(name: string, all: readonly T[]): T[] => {
    const v = get(name);
    if (v === undefined) return [...all];
    const items = v
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const it of items) if (!all.includes(it as T)) throw new Error(`--${name}: unknown "${it}" (known: ${all.join(', ')})`);
    return all.filter((x) => items.includes(x));
  };
  const known = new Set(['--quick', '--tsx', '--no-keep-awake', '--peers', '--workloads', '--producer', '--reps', '--out', '--timeout']);
  for (const a of argv) if (a.startsWith('--') && !known.has(a) && !a.startsWith('--node-flags=')) throw new Error(`unknown flag ${a}`);
  const quick = argv.includes('--quick');
  const reps = Number(get('reps') ?? (quick ? 1 : 5));
  if (!Number.isInteger(reps) || reps < 1) throw new Error('--reps must be a positive integer');
  const timeout = Number(get('timeout') ?? (quick ? 30 : 180));
  // Quick mode measures the await producer only unless asked (both modes would take it past a minute).
  const producer = get('producer') ?? (quick ? 'await' : 'both');
  if (producer !== 'both' && !PRODUCERS.includes(producer as Producer))
    throw new Error(`--producer: unknown "${producer}" (known: ${PRODUCERS.join(', ')}, both)`);
  return {
    quick,
    peers: list('peers', PEERS),
    workloads: list('workloads', WORKLOADS),
    producers: producer === 'both' ? [...PRODUCERS] : [producer as Producer],
    reps,
    out: resolve(get('out') ?? BENCH_DIR),
    timeoutMs: timeout * 1000,
    tsx: argv.includes('--tsx'),
    keepAwake: !argv.includes('--no-keep-awake'),
    nodeFlags: nodeFlagsOf(argv),
  };
}

interface Stat {
  median: number;
  min: number;
  max: number;
  /** Values of the repetitions that succeeded. */
  samples: number[];
  /** Value per repetition, in run order (null where it failed). */
  perRep: (number | null)[];
  /** median / raw's median for the same metric, this run. */
  ratioToRaw: number | null;
}

interface Cell {
  metrics: Record<string, Stat>;
  errors: string[];
  /** Why this peer does not run this case (then metrics is empty). */
  skipped?: string;
}

interface Target {
  name: string;
  /** The value judged: a ratio of medians (or a median). */
  measured: string;
  /** For ratios: the median (min–max) of the per-repetition ratios of two measurements made back to back. */
  paired: string;
  pass: boolean | null;
}

export interface Results {
  meta: Record<string, unknown>;
  notes: string[];
  /** By case key (`bulk1:await`, `bulk1:drain`, `rtt`, `hol:await`, ...), then by peer. */
  results: Record<string, Record<string, Cell>>;
  targets: Target[];
}

function fmt(x: number, digits: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  return x.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

type Slot = { figures: (Figures | null)[]; errors: string[]; skipped?: string };

/** The cases of a run: each workload once, the bulk workloads once per producer mode. */
function casesOf(args: Args): Case[] {
  return args.workloads.flatMap((w) =>
    BULK_WORKLOADS.includes(w) ? args.producers.map((producer) => ({ workload: w, producer })) : [{ workload: w }],
  );
}

function skipReason(peer: PeerName, c: Case): string | undefined {
  if (peerRuns(peer, c)) return undefined;
  if (peer === 'go-yamux') return 'Go yamux has only a blocking Write (see the await row)';
  return 'the WebSocket peers run the bulk workloads and hol only';
}

function aggregate(args: Args, samples: Map<string, Slot>): Results['results'] {
  const out: Results['results'] = {};
  for (const c of casesOf(args)) {
    const w = caseKey(c);
    out[w] = {};
    for (const p of args.peers) {
      const s = samples.get(`${w}/${p}`)!;
      const metrics: Record<string, Stat> = {};
      const keys = new Set(s.figures.flatMap((f) => (f ? Object.keys(f) : [])));
      for (const k of keys) {
        const perRep = s.figures.map((f) => (f && Number.isFinite(f[k]) ? f[k]! : null));
        const xs = perRep.filter((x): x is number => x !== null);
        metrics[k] = { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), samples: xs, perRep, ratioToRaw: null };
      }
      out[w]![p] = { metrics, errors: s.errors, ...(s.skipped ? { skipped: s.skipped } : {}) };
    }
    for (const p of args.peers) {
      const raw = out[w]![baselineOf(p)];
      if (!raw) continue;
      for (const [k, st] of Object.entries(out[w]![p]!.metrics)) {
        const base = raw.metrics[k]?.median;
        st.ratioToRaw = base !== undefined && base !== 0 && Number.isFinite(base) ? st.median / base : null;
      }
    }
  }
  return out;
}

function targets(r: Results['results']): Target[] {
  // The targets are judged on the await producer (the default way of writing to a Channel).
  const key = (w: WorkloadName): string => (BULK_WORKLOADS.includes(w) ? `${w}:await` : w);
  const st = (w: WorkloadName, p: PeerName, k: string): Stat | undefined => r[key(w)]?.[p]?.metrics[k];
  const m = (w: WorkloadName, p: PeerName, k: string): number | undefined => {
    const v = st(w, p, k)?.median;
    return v !== undefined && Number.isFinite(v) ? v : undefined;
  };
  const t: Target[] = [];
  const x = (v: number): string => `${v.toFixed(2)}×`;
  /** rxmux vs `base`: ratio of medians, and the per-repetition ratios (the two were measured back to back). */
  const versus = (name: string, w: WorkloadName, base: PeerName, k: string, ok: (v: number) => boolean): void => {
    const a = m(w, 'rxmux', k);
    const b = m(w, base, k);
    if (a === undefined || b === undefined || b === 0) {
      t.push({ name, measured: 'n/a (not measured)', paired: '', pass: null });
      return;
    }
    const ra = st(w, 'rxmux', k)!.perRep;
    const rb = st(w, base, k)!.perRep;
    const per = ra.flatMap((v, i) => (v !== null && rb[i] !== null && rb[i] !== 0 ? [v / rb[i]!] : []));
    const paired = per.length > 1 ? `${x(median(per))} (${x(Math.min(...per))}–${x(Math.max(...per))})` : per.length ? x(per[0]!) : '';
    t.push({ name, measured: x(a / b), paired, pass: ok(a / b) });
  };
  versus('bulk1 throughput ≥ 0.90× raw', 'bulk1', 'raw', 'mibps', (v) => v >= 0.9);
  versus('bulk64 aggregate throughput ≥ 0.90× raw', 'bulk64', 'raw', 'mibps', (v) => v >= 0.9);
  const fair = m('bulk64', 'rxmux', 'fairness');
  const fairSt = st('bulk64', 'rxmux', 'fairness');
  t.push(
    fair === undefined
      ? { name: 'bulk64 first/last completion ≥ 0.95', measured: 'n/a (not measured)', paired: '', pass: null }
      : {
          name: 'bulk64 first/last completion ≥ 0.95',
          measured: fair.toFixed(2),
          paired: `(${fairSt!.min.toFixed(2)}–${fairSt!.max.toFixed(2)})`,
          pass: fair >= 0.95,
        },
  );
  versus('open ≥ 3× bpmux', 'open', 'bpmux', 'chps', (v) => v >= 3);
  versus('open ≥ 3× libp2p-yamux', 'open', 'libp2p-yamux', 'chps', (v) => v >= 3);
  versus('rtt p50 ≤ 1.10× raw', 'rtt', 'raw', 'p50us', (v) => v <= 1.1);
  versus('rtt p99 ≤ 1.5× raw', 'rtt', 'raw', 'p99us', (v) => v <= 1.5);
  const oh = m('idle', 'rxmux', 'openerHeap');
  const ah = m('idle', 'rxmux', 'acceptorHeap');
  const name = 'idle heap ≤ 1,000 B per open channel (each side)';
  t.push(
    oh === undefined || ah === undefined
      ? { name, measured: 'n/a (not measured)', paired: '', pass: null }
      : { name, measured: `opener ${fmt(oh, 0)} B, acceptor ${fmt(ah, 0)} B`, paired: '', pass: Math.max(oh, ah) <= 1000 },
  );
  // The demo's chat target (examples/demo.ts), here for the hol workload: the echo round trip under bulk load.
  for (const [k, label, limit] of [
    ['p50us', 'p50', 500],
    ['p99us', 'p99', 2000],
  ] as const) {
    const v = m('hol', 'rxmux', k);
    const s = st('hol', 'rxmux', k);
    const name = `hol ${label} echo round trip under load ≤ ${fmt(limit, 0)} µs`;
    t.push(
      v === undefined
        ? { name, measured: 'n/a (not measured)', paired: '', pass: null }
        : {
            name,
            measured: `${fmt(v, 0)} µs`,
            paired: s!.samples.length > 1 ? `(${fmt(s!.min, 0)}–${fmt(s!.max, 0)} µs)` : '',
            pass: v <= limit,
          },
    );
  }
  return t;
}

function markdown(res: Results, args: Args): string {
  const lines: string[] = [];
  const peers = args.peers;
  lines.push(`# rxmux benchmark${args.quick ? ' (quick mode)' : ''}`, '');
  lines.push(
    `${String(res.meta.date)} · Node ${String(res.meta.node)} · ${String(res.meta.cpu)} × ${String(res.meta.cores)} · ${args.reps} interleaved repetition(s), a fresh pair of processes per measurement`,
    '',
  );
  lines.push(
    "Each cell: median (min–max over repetitions), then the ratio of the median to the baseline's median in this run: the raw socket (raw) for the TCP peers, the plain WebSocket (ws-raw) for rxmux-ws. – : the peer does not run this case. Bulk rows name the producer mode (await: each write's promise awaited; drain: write until back-pressure, then wait for 'drain').",
    '',
  );
  const cellText = (c: string, p: string, key: string, digits: number): string => {
    const cell = res.results[c]![p]!;
    if (cell.skipped) return '–';
    const st = cell.metrics[key];
    if (!st || st.samples.length === 0)
      return cell.errors.length ? `failed${cell.errors.length > 1 ? ` ×${cell.errors.length}` : ''}` : 'n/a';
    const range = st.samples.length > 1 ? ` (${fmt(st.min, digits)}–${fmt(st.max, digits)})` : '';
    const ratio = baselineOf(p as PeerName) !== p && st.ratioToRaw !== null ? ` ×${st.ratioToRaw.toFixed(2)}` : '';
    const partial = cell.errors.length ? ` [${cell.errors.length} failed]` : '';
    return `${fmt(st.median, digits)}${range}${ratio}${partial}`;
  };
  const cases = casesOf(args);
  const main = cases.filter((c) => c.workload !== 'hol');
  if (main.length) {
    lines.push(`| workload | metric | ${peers.join(' | ')} |`);
    lines.push(`|---|---|${peers.map(() => '---:').join('|')}|`);
    for (const c of main) {
      const label = c.producer ? `${c.workload} (${c.producer})` : c.workload;
      for (const def of METRICS[c.workload]) {
        lines.push(
          `| ${label} | ${def.label} (${def.unit}, ${def.better} is better) | ${peers.map((p) => cellText(caseKey(c), p, def.key, def.digits)).join(' | ')} |`,
        );
      }
    }
  }
  const holCases = cases.filter((c) => c.workload === 'hol');
  if (holCases.length) {
    const defs = METRICS.hol;
    lines.push(
      '',
      '## hol: echo round trip while 8 channels push bulk data on the same connection',
      '',
      `Per peer and producer mode; round trips timed while all bulk channels were still sending; CPU is each process's user+system time over the transfer (opener: first write to last ACK; acceptor: first bulk byte to last ACK). Ratios as above (raw: 9 TCP connections; ws-raw: 9 WebSocket connections).`,
      '',
      `| peer | producer | ${defs.map((d) => `${d.label} (${d.unit})`).join(' | ')} |`,
      `|---|---|${defs.map(() => '---:').join('|')}|`,
    );
    for (const c of holCases) {
      for (const p of peers) {
        if (res.results[caseKey(c)]![p]!.skipped) continue;
        lines.push(`| ${p} | ${c.producer} | ${defs.map((d) => cellText(caseKey(c), p, d.key, d.digits)).join(' | ')} |`);
      }
    }
  }
  lines.push(
    '',
    '## Targets (rxmux)',
    '',
    "Judged on the ratio of medians. The per-repetition column divides each rxmux measurement by the other peer's measurement of the same repetition (made seconds apart): median (min–max); it is steadier than the ratio of medians when the machine is busy.",
    '',
    '| target | measured | per repetition | result |',
    '|---|---|---|---|',
  );
  for (const t of res.targets)
    lines.push(`| ${t.name} | ${t.measured} | ${t.paired} | ${t.pass === null ? 'n/a' : t.pass ? 'PASS' : 'FAIL'} |`);
  lines.push('', '## Notes', '');
  for (const n of res.notes) lines.push(`- ${n}`);
  const errs = Object.entries(res.results).flatMap(([w, byPeer]) =>
    Object.entries(byPeer).flatMap(([p, c]) => c.errors.map((e) => `${w} / ${p}: ${e}`)),
  );
  if (errs.length) {
    lines.push('', '## Failed measurements', '');
    for (const e of errs) lines.push(`- ${e.replace(/\s+/g, ' ').slice(0, 400)}`);
  }
  return `${lines.join('\n')}\n`;
}

function describeSizes(s: Sizes): string {
  const mib = (b: number): string => (b >= 1024 * 1024 ? `${b / (1024 * 1024)} MiB` : `${b / 1024} KiB`);
  return [
    `bulk1 ${mib(s.bulk1Bytes)} one way on one channel in ${mib(s.writeSize)} writes`,
    `bulk64 ${s.bulk64Channels} channels × ${mib(s.bulk64Bytes)} at once (channels opened before the clock starts)`,
    `open ${s.openChannels.toLocaleString('en-US')} channels × ${s.openPayload} B echoed then closed, ${s.openInFlight} in flight`,
    `rtt ${s.rttRounds.toLocaleString('en-US')} sequential ${s.rttPayload}-byte round trips on one channel after ${s.rttWarmup.toLocaleString('en-US')} untimed warm-up rounds`,
    `hol ${s.holChannels} channels × ${mib(s.holBytes)} at once while one more channel does sequential ${s.holPayload}-byte echo round trips (after ${s.holWarmup} untimed warm-up rounds before the bulk channels open)`,
    `idle ${s.idleChannels.toLocaleString('en-US')} channels opened (${s.openInFlight} in flight), each with a reader attached, then heap and RSS deltas per channel after 4× gc() on each side (they include the harness's own hold on each channel, a 40-byte wrapper object and an array slot, the same for every peer)`,
  ].join('; ');
}

/** glibc allocator settings in the environment (the workers inherit them, and they move bulk figures: bench/README.md). */
function allocatorEnv(): string[] {
  const set = Object.keys(process.env)
    .filter((k) => k.startsWith('MALLOC_'))
    .sort()
    .map((k) => `${k}=${process.env[k]}`);
  return set.length > 0 ? [`Allocator environment of every worker: ${set.join(' ')} (not the system defaults).`] : [];
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const sizes = args.quick ? QUICK : FULL;
  const t0 = performance.now();
  const launcher: Launcher = args.tsx ? tsxLauncher() : await bundleLauncher();
  const log = (s: string): void => void process.stderr.write(s);
  const skippedPeers: string[] = [];
  const goMissing = args.peers.includes('go-yamux') ? goBenchMissing() : undefined;
  if (goMissing) {
    log(`go-yamux: skipped: ${goMissing}\n`);
    skippedPeers.push(`go-yamux was skipped: ${goMissing}.`);
    args.peers = args.peers.filter((p) => p !== 'go-yamux');
  }
  const cases = casesOf(args);
  const samples = new Map<string, Slot>();
  for (const c of cases)
    for (const p of args.peers) samples.set(`${caseKey(c)}/${p}`, { figures: [], errors: [], skipped: skipReason(p, c) });
  const loads: number[] = [];

  for (let rep = 0; rep < args.reps; rep++) {
    for (const c of cases) {
      const w = c.workload;
      const order = args.peers.map((_, i) => args.peers[(i + rep) % args.peers.length]!);
      for (const p of order) {
        const slot = samples.get(`${caseKey(c)}/${p}`)!;
        if (slot.skipped) continue;
        loads.push(os.loadavg()[0]!);
        log(`[${rep + 1}/${args.reps}] ${caseKey(c).padEnd(12)} ${p.padEnd(12)} `);
        const started = performance.now();
        try {
          const { figures } = await measure({
            peer: p,
            workload: w,
            sizes,
            ...(c.producer ? { producer: c.producer } : {}),
            launcher,
            timeoutMs: args.timeoutMs,
            keepAwake: args.keepAwake && w === 'rtt',
            ...everyWorker(args.nodeFlags),
          });
          slot.figures[rep] = figures;
          log(
            `${METRICS[w].map((d) => `${d.key}=${fmt(figures[d.key]!, d.digits)}`).join(' ')}  (${((performance.now() - started) / 1000).toFixed(1)} s)\n`,
          );
        } catch (e) {
          const msg = e instanceof Error ? e.message : String(e);
          slot.figures[rep] = null;
          slot.errors.push(msg);
          log(`FAILED: ${msg.split('\n')[0]}\n`);
        }
      }
    }
  }

  const results = aggregate(args, samples);
  const notes = [
    `Sizes: ${describeSizes(sizes)}.`,
    'Loopback TCP on 127.0.0.1 (port 0), TCP_NODELAY on both ends, opener and acceptor in separate processes (node --expose-gc), a fresh pair per measurement. Data flows opener → acceptor; the acceptor acknowledges bulk transfers with one byte once every byte arrived (timed at the opener: clock from the first write to the ACK), and echoes for open and rtt.',
    'Ratios are median / baseline median (raw for the TCP peers, ws-raw for rxmux-ws); for rtt, idle and the hol round trips and CPU lower is better, so a ratio above 1 is worse than the baseline.',
    `Producer modes measured for bulk1, bulk64 and hol: ${args.producers.join(', ')} (await: each write's own promise awaited, rxmux Channel.write; drain: write until back-pressure, then wait for 'drain', rxmux through toDuplex; peers without a per-write promise use their back-pressure signal in both modes).`,
    ...skippedPeers,
    ...args.peers.map((p) => PEER_IMPLS[p].note),
    ...(process.env.RXMUX_OPTS
      ? [`rxmux peers: session options ${process.env.RXMUX_OPTS} on both ends (RXMUX_OPTS), not the defaults`]
      : []),
    ...allocatorEnv(),
    ...(args.nodeFlags.length > 0
      ? [`Every Node worker (all peers, both roles) ran with \`${args.nodeFlags.join(' ')}\` (--node-flags), not Node's defaults.`]
      : []),
    ...(args.workloads.includes('idle')
      ? args.peers.flatMap((p) => {
          if (!peerRuns(p, { workload: 'idle' })) return [];
          const n = PEER_IMPLS[p].overrideNote({ openChannels: sizes.idleChannels });
          return n ? [`idle only (a default makes the workload impossible): ${n}`] : [];
        })
      : []),
    args.keepAwake && args.workloads.includes('rtt')
      ? 'rtt runs with one nice-19 busy loop per CPU alongside, so a worker woken by a packet never waits for an idle virtual CPU to wake up (on this VM that adds ~75 µs to every round trip whenever the machine is otherwise idle; --no-keep-awake turns it off).'
      : 'rtt runs without keep-awake spinners (--no-keep-awake): on a VM, idle-CPU wake-up latency may dominate the round trip.',
    `Workers started from ${launcher.kind === 'bundle' ? 'an esbuild bundle of bench/worker.ts + src/ (bench/.build/worker.mjs, packages external)' : 'bench/worker.ts through tsx'}.`,
    `1-minute load average during the run: ${fmt(Math.min(...loads), 1)}–${fmt(Math.max(...loads), 1)} on ${os.cpus().length} cores (other jobs share this machine: treat small differences as noise).`,
    `Wall time: ${((performance.now() - t0) / 1000).toFixed(0)} s.`,
  ];
  const res: Results = {
    meta: {
      date: new Date().toISOString(),
      node: process.version,
      cpu: os.cpus()[0]?.model.trim() ?? 'unknown',
      cores: os.cpus().length,
      platform: `${os.platform()} ${os.release()}`,
      quick: args.quick,
      reps: args.reps,
      peers: args.peers,
      workloads: args.workloads,
      producers: args.producers,
      cases: cases.map(caseKey),
      sizes,
      launcher: launcher.kind,
      nodeFlags: args.nodeFlags,
      loadavg: { min: Math.min(...loads), max: Math.max(...loads) },
    },
    notes,
    results,
    targets: [],
  };
  res.targets = targets(results);
  const md = markdown(res, args);
  mkdirSync(args.out, { recursive: true });
  writeFileSync(join(args.out, 'results.json'), `${JSON.stringify(res, null, 2)}\n`);
  writeFileSync(join(args.out, 'results.md'), md);
  process.stdout.write(md);
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(2);
});
