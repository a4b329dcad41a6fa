/**
 * Smoke check of `npm run bench`: the quick mode runs end to end for the raw socket and rxmux, and its JSON has a
 * number for every metric of every workload (hol included) in both producer modes of the bulk workloads. It checks
 * that the benchmark works, not how fast anything is.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BULK_WORKLOADS, METRICS, PRODUCERS, WORKLOADS, type WorkloadName } from '../../bench/common.js';

/** The result keys of a run of every workload: `bulk1:await`, `bulk1:drain`, ..., `rtt`, `idle`, `hol:await`, `hol:drain`. */
const CASES: { key: string; workload: WorkloadName }[] = WORKLOADS.flatMap((w) =>
  BULK_WORKLOADS.includes(w) ? PRODUCERS.map((p) => ({ key: `${w}:${p}`, workload: w })) : [{ key: w, workload: w }],
);

const ROOT = join(__dirname, '..', '..');

interface Stat {
  median: number;
  min: number;
  max: number;
  samples: number[];
  ratioToRaw: number | null;
}
interface Results {
  meta: { quick: boolean; peers: string[]; workloads: string[] };
  results: Record<string, Record<string, { metrics: Record<string, Stat>; errors: string[] }>>;
  targets: { name: string; measured: string; pass: boolean | null }[];
}

describe('npm run bench -- --quick --peers raw,rxmux --producer both', () => {
  let out: string;
  let run: ReturnType<typeof spawnSync>;
  let results: Results;

  beforeAll(() => {
    out = mkdtempSync(join(tmpdir(), 'rxmux-bench-'));
    run = spawnSync(
      process.execPath,
      ['--import', 'tsx', join(ROOT, 'bench', 'run.ts'), '--quick', '--peers', 'raw,rxmux', '--producer', 'both', '--out', out],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 110_000,
      },
    );
    results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
  }, 120_000);

  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('exits with status 0 and prints the Markdown table', () => {
    expect({ status: run.status, stderr: run.status === 0 ? '' : String(run.stderr) }).toEqual({ status: 0, stderr: '' });
    expect(String(run.stdout)).toContain('| workload | metric | raw | rxmux |');
    expect(readFileSync(join(out, 'results.md'), 'utf8')).toBe(String(run.stdout));
  });

  it('records a quick run of every workload for the raw socket and rxmux only', () => {
    expect(results.meta).toMatchObject({ quick: true, peers: ['raw', 'rxmux'], workloads: [...WORKLOADS] });
    expect(Object.keys(results.results)).toEqual(CASES.map((c) => c.key));
    for (const { key } of CASES) expect(Object.keys(results.results[key]!)).toEqual(['raw', 'rxmux']);
  });

  it.each(CASES.map((c) => [c.key, c.workload] as const))(
    'has a finite positive number for every %s metric of both peers, with no failed measurement',
    (key, w) => {
      for (const peer of ['raw', 'rxmux']) {
        const cell = results.results[key]![peer]!;
        expect({ peer, errors: cell.errors }).toEqual({ peer, errors: [] });
        for (const def of METRICS[w]) {
          const st = cell.metrics[def.key];
          expect({ peer, metric: def.key, finite: Number.isFinite(st?.median) }).toEqual({ peer, metric: def.key, finite: true });
          // Idle RSS per channel can come out negative (the OS may hand pages back); every other figure is a positive size, rate or time.
          if (!def.key.endsWith('Rss')) expect(st!.median).toBeGreaterThan(0);
        }
      }
    },
  );

  it('gives every rxmux figure as a ratio to the raw socket of the same run', () => {
    for (const { key, workload } of CASES) {
      for (const def of METRICS[workload]) {
        const ratio = results.results[key]!.rxmux!.metrics[def.key]!.ratioToRaw;
        expect({ key, metric: def.key, finite: Number.isFinite(ratio) }).toEqual({ key, metric: def.key, finite: true });
      }
    }
  });

  it("prints the hol table with both sides' CPU time for each producer mode", () => {
    const out = String(run.stdout);
    expect(out).toContain('## hol: echo round trip');
    expect(out).toMatch(
      /\| peer \| producer \| p50 echo round trip under load \(µs\) \|.*\| opener CPU \(user\+system\) \(ms\) \| acceptor CPU \(user\+system\) \(ms\) \|/,
    );
    for (const p of PRODUCERS) expect(out).toMatch(new RegExp(`^\\| rxmux \\| ${p} \\| [\\d,]+ ×[\\d.]+ \\|`, 'm'));
  });

  it('judges the targets it can with the peers measured, and leaves the peer comparisons n/a', () => {
    const byName = Object.fromEntries(results.targets.map((t) => [t.name, t.pass]));
    expect(byName['open ≥ 3× bpmux']).toBeNull();
    expect(byName['open ≥ 3× libp2p-yamux']).toBeNull();
    for (const name of ['bulk1 throughput ≥ 0.90× raw', 'rtt p50 ≤ 1.10× raw', 'idle heap ≤ 1,000 B per open channel (each side)']) {
      expect({ name, judged: typeof byName[name] }).toEqual({ name, judged: 'boolean' });
    }
  });
});

describe('npm run bench with the go-yamux peer when its Go driver is not built', () => {
  it('prints a clear line, skips go-yamux and measures the other peers', () => {
    const out = mkdtempSync(join(tmpdir(), 'rxmux-bench-go-'));
    try {
      const run = spawnSync(
        process.execPath,
        ['--import', 'tsx', join(ROOT, 'bench', 'run.ts'), '--quick', '--peers', 'raw,go-yamux', '--workloads', 'rtt', '--out', out],
        { cwd: ROOT, encoding: 'utf8', timeout: 55_000, env: { ...process.env, RXMUX_GO_BENCH: join(out, 'no-such-benchpeer') } },
      );
      expect({ status: run.status, stderr: run.status === 0 ? '' : run.stderr }).toEqual({ status: 0, stderr: '' });
      expect(run.stderr).toMatch(/^go-yamux: skipped: the Go bench driver .*no-such-benchpeer is not built \(run npm run setup:interop/m);
      const results = JSON.parse(readFileSync(join(out, 'results.json'), 'utf8')) as Results;
      expect(results.meta.peers).toEqual(['raw']);
      expect(results.results.rtt!.raw!.errors).toEqual([]);
      expect(String(run.stdout)).toContain('go-yamux was skipped');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 60_000);
});

describe('npm run bench --node-flags="..."', () => {
  /** Runs a quick raw rtt measurement with `flagArg` in a fresh output directory; returns the run and its results (if any). */
  const bench = (flagArg: string) => {
    const out = mkdtempSync(join(tmpdir(), 'rxmux-bench-flags-'));
    try {
      const run = spawnSync(
        process.execPath,
        ['--import', 'tsx', join(ROOT, 'bench', 'run.ts'), '--quick', '--peers', 'raw', '--workloads', 'rtt', '--out', out, flagArg],
        { cwd: ROOT, encoding: 'utf8', timeout: 55_000 },
      );
      const file = join(out, 'results.json');
      const results = existsSync(file)
        ? (JSON.parse(readFileSync(file, 'utf8')) as Results & { meta: { nodeFlags: string[] }; notes: string[] })
        : undefined;
      return { run, results };
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  };

  it('starts every Node worker with the flags and records them in the results', () => {
    const { run, results } = bench('--node-flags=--max-semi-space-size=8 --stack-trace-limit=20');
    expect({ status: run.status, stderr: run.status === 0 ? '' : run.stderr }).toEqual({ status: 0, stderr: '' });
    expect(results!.meta.nodeFlags).toEqual(['--max-semi-space-size=8', '--stack-trace-limit=20']);
    expect(results!.results.rtt!.raw!.errors).toEqual([]);
    expect(results!.notes).toContain(
      "Every Node worker (all peers, both roles) ran with `--max-semi-space-size=8 --stack-trace-limit=20` (--node-flags), not Node's defaults.",
    );
  }, 60_000);

  it("puts the flags on the workers' command line: a flag Node rejects fails the measurement, naming it", () => {
    const { run, results } = bench('--node-flags=--no-such-node-flag');
    expect(run.status).toBe(0);
    expect(results!.results.rtt!.raw!.errors.join('\n')).toMatch(/bad option: --no-such-node-flag/);
  }, 60_000);

  it('refuses a value that is not a --flag before measuring anything', () => {
    const { run, results } = bench('--node-flags=initial-old-space-size=64');
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('--node-flags: "initial-old-space-size=64" is not a --flag');
    expect(results).toBeUndefined();
  }, 60_000);
});
