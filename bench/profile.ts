/**
 * `npm run bench:profile`: where rxmux spends its time and memory, for the optimisation pass.
 *
 *   tsx bench/profile.ts [--quick] [--workloads bulk1,bulk64,open,rtt,idle] [--top 20] [--peer rxmux] [--node-flags="--flag ..."]
 *
 * CPU: runs each workload once with the V8 CPU profiler on both sides (the same worker bundle as the benchmark;
 * frames are mapped back to src/ through its source map) and summarises each .cpuprofile (top self time, total time, self time by file).
 * `--peer go-yamux`: the Go driver's pprof CPU profile of each side instead, summarised by `go tool pprof -top` (no idle).
 * Memory: runs idle with a heap snapshot on each side before and after opening the channels and diffs them by
 * object kind, per channel. Raw files go to bench/.profile/, the summary to bench/profile.md (and stdout).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FULL, PEERS, QUICK, type PeerName, type WorkloadName } from './common.js';
import { summarise, summaryMarkdown } from './cpuprofile-summary.js';
import { BENCH_DIR, bundleLauncher, everyWorker, goBenchMissing, goBenchPath, measure, nodeFlagsOf } from './harness.js';
import { diffSnapshots, heapMarkdown } from './heapsnapshot-summary.js';

const argv = process.argv.slice(2);
const opt = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = argv.includes('--quick');
const sizes = quick ? QUICK : FULL;
const top = Number(opt('top') ?? 20);
const peer = (opt('peer') ?? 'rxmux') as PeerName;
if (!PEERS.includes(peer)) throw new Error(`unknown peer ${peer}`);
const DEFAULT_WORKLOADS: WorkloadName[] = ['bulk1', 'bulk64', 'open', 'rtt', 'idle'];
// go-yamux has no heap snapshots: its default leaves idle out.
const workloads =
  (opt('workloads')?.split(',') as WorkloadName[] | undefined) ?? DEFAULT_WORKLOADS.filter((w) => peer !== 'go-yamux' || w !== 'idle');
const outDir = join(BENCH_DIR, '.profile', peer);
const nodeFlags = nodeFlagsOf(argv);
if (peer === 'go-yamux') {
  const missing = goBenchMissing();
  if (missing) throw new Error(missing);
  if (workloads.includes('idle')) throw new Error('go-yamux: no heap snapshots (idle); profile the other workloads');
}

/** The heading of one side's CPU profile: its role and where the raw file is. */
function profileHeading(side: 'opener' | 'acceptor', file: string): string {
  return `### ${side} (${side === 'opener' ? 'sends and times' : 'receives and answers'}) — ${file.slice(BENCH_DIR.length + 1)}`;
}

/** `go tool pprof -top` of one Go driver profile: flat and cumulative CPU time per function. */
function goTop(file: string, n: number): string {
  const r = spawnSync('go', ['tool', 'pprof', '-top', `-nodecount=${n}`, goBenchPath(), file], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`go tool pprof ${file}: ${r.stderr || r.error?.message}`);
  return r.stdout.trim();
}

async function main(): Promise<void> {
  rmSync(outDir, { recursive: true, force: true });
  // The same bundle the benchmark runs; frames are mapped back to src/ through its source map.
  const launcher = await bundleLauncher();
  const md: string[] = [
    `# ${peer} profile${quick ? ' (quick sizes)' : ''}`,
    '',
    `${new Date().toISOString()} · Node ${process.version}${nodeFlags.length > 0 ? ` · every worker with \`${nodeFlags.join(' ')}\`` : ''}`,
    '',
  ];
  for (const w of workloads) {
    const dir = join(outDir, w);
    mkdirSync(dir, { recursive: true });
    const env = w === 'idle' ? { BENCH_HEAP_SNAPSHOT_DIR: dir } : { BENCH_CPU_PROFILE_DIR: dir };
    process.stderr.write(`profiling ${peer} ${w} ... `);
    const { figures } = await measure({
      peer,
      workload: w,
      sizes,
      launcher,
      timeoutMs: 600_000,
      env,
      ...everyWorker(nodeFlags),
    });
    process.stderr.write(`${JSON.stringify(figures)}\n`);
    md.push(
      `## ${w}`,
      '',
      `figures: ${Object.entries(figures)
        .map(([k, v]) => `${k}=${v.toFixed(1)}`)
        .join(', ')}`,
      '',
    );
    for (const side of ['opener', 'acceptor'] as const) {
      if (peer === 'go-yamux') {
        const file = join(dir, `${side}.pprof`);
        md.push(profileHeading(side, file), '', '```', goTop(file, top), '```', '');
      } else if (w === 'idle') {
        md.push(`### ${side}: heap snapshot diff (after opening ${sizes.idleChannels} channels minus before)`, '');
        md.push(
          heapMarkdown(
            diffSnapshots(join(dir, `${side}-before.heapsnapshot`), join(dir, `${side}-after.heapsnapshot`), sizes.idleChannels, top),
          ),
        );
      } else {
        const file = join(dir, `${side}.cpuprofile`);
        md.push(profileHeading(side, file), '');
        md.push(summaryMarkdown(summarise(JSON.parse(readFileSync(file, 'utf8')), top)));
      }
    }
  }
  const text = md.join('\n');
  writeFileSync(join(BENCH_DIR, peer === 'rxmux' ? 'profile.md' : `profile-${peer}.md`), text);
  process.stdout.write(text);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
