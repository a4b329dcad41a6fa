/**
 * Summarises a V8 .cpuprofile (from `node --cpu-prof` or the inspector Profiler): top functions by self time,
 * their total (inclusive) time, and self time grouped by file or package.
 *
 *   tsx bench/cpuprofile-summary.ts <file.cpuprofile> [--top 25]
 */
import { existsSync, readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT_DIR } from './harness.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface Row {
  fn: string;
  where: string;
  selfMs: number;
  selfPct: number;
  totalMs: number;
  totalPct: number;
}

export interface Summary {
  /** Sampled time that was not idle, ms. */
  busyMs: number;
  idleMs: number;
  top: Row[];
  byFile: { where: string; selfMs: number; selfPct: number }[];
}

/** Short location: a path relative to the package root, `pkg` for node_modules, `node:...` for Node internals. */
function place(url: string): string {
  if (!url) return '';
  let path = url;
  if (url.startsWith('file://')) path = fileURLToPath(url);
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + '/node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (path.startsWith(`${ROOT_DIR}/`)) return path.slice(ROOT_DIR.length + 1);
  return path;
}

const maps = new Map<string, SourceMap | null>();

/** `file:line` of a frame, through the script's source map when it has one (the esbuild bundle of the workers). */
function location(frame: CallFrame): string {
  if (!frame.url) return '';
  if (frame.url.startsWith('file://')) {
    const path = fileURLToPath(frame.url);
    let map = maps.get(path);
    if (map === undefined) {
      map = existsSync(`${path}.map`) ? new SourceMap(JSON.parse(readFileSync(`${path}.map`, 'utf8'))) : null;
      maps.set(path, map);
    }
    if (map) {
      const e = map.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string; originalLine?: number };
      if (e.originalSource) return `${place(`file://${resolve(dirname(path), e.originalSource)}`)}:${(e.originalLine ?? 0) + 1}`;
    }
  }
  return `${place(frame.url)}:${frame.lineNumber + 1}`;
}

export function summarise(profile: CpuProfile, top = 25): Summary {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) byId.set(n.id, n);
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (n: ProfileNode): string => `${n.callFrame.functionName || '(anonymous)'}\u0000${location(n.callFrame)}`;
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const fileSelf = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    // timeDeltas[i] is the time before sample i; the time after it (the next delta) is what it stands for.
    const dt = (timeDeltas[i + 1] ?? 0) / 1000;
    const node = byId.get(samples[i]!)!;
    const name = node.callFrame.functionName;
    if (name === '(idle)') {
      idle += dt;
      continue;
    }
    busy += dt;
    const k = key(node);
    self.set(k, (self.get(k) ?? 0) + dt);
    const file = location(node.callFrame).replace(/:\d+$/, '') || name;
    fileSelf.set(file, (fileSelf.get(file) ?? 0) + dt);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const kk = key(byId.get(id)!);
      if (seen.has(kk)) continue;
      seen.add(kk);
      total.set(kk, (total.get(kk) ?? 0) + dt);
    }
  }
  const pct = (ms: number): number => (busy > 0 ? (100 * ms) / busy : 0);
  const rows = [...self.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, ms]) => {
      const [fn, where] = k.split('\u0000') as [string, string];
      const t = total.get(k) ?? ms;
      return { fn, where, selfMs: ms, selfPct: pct(ms), totalMs: t, totalPct: pct(t) };
    });
  const byFile = [...fileSelf.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 15)
    .map(([where, ms]) => ({ where, selfMs: ms, selfPct: pct(ms) }));
  return { busyMs: busy, idleMs: idle, top: rows, byFile };
}

export function summaryMarkdown(s: Summary): string {
  const out: string[] = [];
  out.push(`busy ${s.busyMs.toFixed(0)} ms sampled (idle ${s.idleMs.toFixed(0)} ms not counted)`, '');
  out.push('| self % | self ms | total % | function | where |', '|---:|---:|---:|---|---|');
  for (const r of s.top)
    out.push(`| ${r.selfPct.toFixed(1)} | ${r.selfMs.toFixed(0)} | ${r.totalPct.toFixed(1)} | \`${r.fn}\` | ${r.where} |`);
  out.push('', 'Self time by file or package:', '', '| self % | where |', '|---:|---|');
  for (const f of s.byFile) out.push(`| ${f.selfPct.toFixed(1)} | ${f.where} |`);
  return `${out.join('\n')}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const file = process.argv[2];
  if (!file) {
    console.error('usage: tsx bench/cpuprofile-summary.ts <file.cpuprofile> [--top N]');
    process.exit(2);
  }
  const i = process.argv.indexOf('--top');
  const topN = i > 0 ? Number(process.argv[i + 1]) : 25;
  process.stdout.write(summaryMarkdown(summarise(JSON.parse(readFileSync(file, 'utf8')) as CpuProfile, topN)));
}
