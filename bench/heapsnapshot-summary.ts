/**
 * Diffs two V8 heap snapshots by node kind (constructor name for objects, `(closure) name` for functions,
 * `(array)`, `(string)`, ...): count and self size added between them, and that divided by a channel count.
 *
 *   tsx bench/heapsnapshot-summary.ts <before.heapsnapshot> <after.heapsnapshot> <channels> [--top 25]
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** count and self size per kind */
function tally(path: string): Map<string, { count: number; size: number }> {
  const snap = JSON.parse(readFileSync(path, 'utf8')) as Snapshot;
  const fields = snap.snapshot.meta.node_fields;
  const types = snap.snapshot.meta.node_types[0];
  const width = fields.length;
  const fType = fields.indexOf('type');
  const fName = fields.indexOf('name');
  const fSize = fields.indexOf('self_size');
  const out = new Map<string, { count: number; size: number }>();
  const { nodes, strings } = snap;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + fType]!]!;
    const name = strings[nodes[i + fName]!]!;
    let kind: string;
    if (type === 'object') kind = name;
    else if (type === 'closure') kind = `(closure) ${name || 'anonymous'}`;
    else if (type === 'hidden' || type === 'code' || type === 'array' || type === 'object shape')
      kind = `(${type}) ${name.length > 40 ? `${name.slice(0, 40)}…` : name}`;
    else kind = `(${type})`;
    const t = out.get(kind) ?? { count: 0, size: 0 };
    t.count++;
    t.size += nodes[i + fSize]!;
    out.set(kind, t);
  }
  return out;
}

export interface HeapRow {
  kind: string;
  count: number;
  bytes: number;
  perChannelCount: number;
  perChannelBytes: number;
}

export function diffSnapshots(before: string, after: string, channels: number, top = 25): { rows: HeapRow[]; totalPerChannel: number } {
  const a = tally(before);
  const b = tally(after);
  const rows: HeapRow[] = [];
  let total = 0;
  for (const [kind, t] of b) {
    const s = a.get(kind) ?? { count: 0, size: 0 };
    const bytes = t.size - s.size;
    total += bytes;
    rows.push({
      kind,
      count: t.count - s.count,
      bytes,
      perChannelCount: (t.count - s.count) / channels,
      perChannelBytes: bytes / channels,
    });
  }
  for (const [kind, s] of a) if (!b.has(kind)) total -= s.size;
  rows.sort((x, y) => y.bytes - x.bytes);
  return { rows: rows.slice(0, top), totalPerChannel: total / channels };
}

export function heapMarkdown(d: { rows: HeapRow[]; totalPerChannel: number }): string {
  const out = [
    `snapshot delta: ${d.totalPerChannel.toFixed(0)} B per channel (self sizes)`,
    '',
    '| B / channel | objects / channel | kind |',
    '|---:|---:|---|',
  ];
  for (const r of d.rows)
    out.push(
      `| ${r.perChannelBytes.toFixed(0)} | ${r.perChannelCount.toFixed(2)} | \`${r.kind.replace(/\|/g, '\\|').replace(/\n/g, ' ')}\` |`,
    );
  return `${out.join('\n')}\n`;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [before, after, n] = process.argv.slice(2);
  if (!before || !after || !n) {
    console.error('usage: tsx bench/heapsnapshot-summary.ts <before.heapsnapshot> <after.heapsnapshot> <channels> [--top N]');
    process.exit(2);
  }
  const i = process.argv.indexOf('--top');
  process.stdout.write(heapMarkdown(diffSnapshots(before, after, Number(n), i > 0 ? Number(process.argv[i + 1]) : 25)));
}
