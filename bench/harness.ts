/**
 * Runs one measurement: a fresh acceptor process, then a fresh opener process, talking over loopback TCP,
 * each reporting to this process over an IPC channel. Used by bench/run.ts and bench/profile.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ACCEPTOR_REPORTS,
  type Figures,
  type OrchestratorMessage,
  type PeerName,
  type Producer,
  type Sizes,
  type WorkerMessage,
  type WorkerParams,
  type WorkloadName,
} from './common.js';

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const ROOT_DIR = dirname(BENCH_DIR);

/** How workers are started: a bundle built once with esbuild (fast start), or bench/worker.ts through tsx. */
export interface Launcher {
  kind: 'bundle' | 'tsx';
  /** Arguments to node before the worker's own (the script, and the loader for tsx). */
  args: string[];
}

/** Bundles bench/worker.ts (and src/) into bench/.build/worker.mjs; packages stay external (one copy of rxjs). */
export async function bundleLauncher(): Promise<Launcher> {
  const { build } = await import('esbuild');
  const outfile = join(BENCH_DIR, '.build', 'worker.mjs');
  mkdirSync(dirname(outfile), { recursive: true });
  await build({
    entryPoints: [join(BENCH_DIR, 'worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile,
    sourcemap: 'linked',
    logLevel: 'warning',
  });
  return { kind: 'bundle', args: [outfile] };
}

/** Where `npm run setup:interop` builds the Go bench driver (bench/go/benchpeer); RXMUX_GO_BENCH overrides it. */
export function goBenchPath(): string {
  return process.env.RXMUX_GO_BENCH ?? join(ROOT_DIR, '.tmp', 'interop', 'benchpeer');
}

/** Why the go-yamux peer cannot run here, or undefined when its driver is built. */
export function goBenchMissing(): string | undefined {
  const p = goBenchPath();
  return existsSync(p)
    ? undefined
    : `the Go bench driver ${p} is not built (run npm run setup:interop; it needs the Go toolchain and golang-github-hashicorp-yamux-dev)`;
}

export function tsxLauncher(): Launcher {
  return { kind: 'tsx', args: ['--import', 'tsx', join(BENCH_DIR, 'worker.ts')] };
}

export interface MeasureOptions {
  peer: PeerName;
  workload: WorkloadName;
  sizes: Sizes;
  /** Bulk producer mode (bulk1, bulk64, hol); default `await`. */
  producer?: Producer;
  launcher: Launcher;
  timeoutMs: number;
  /** Extra node flags per side (e.g. --cpu-prof). */
  nodeFlags?: { acceptor?: string[]; opener?: string[] };
  env?: NodeJS.ProcessEnv;
  /**
   * Keep every CPU busy with a lowest-priority (nice 19) spinner while measuring, so a worker woken by a packet
   * never waits for an idle (halted) virtual CPU to wake up. On a VM that wake-up adds tens of microseconds to
   * every round trip whenever the machine happens to be idle, which swamps what rtt compares.
   */
  keepAwake?: boolean;
}

/** Starts one nice-19 busy loop per CPU; returns a function that stops them. */
function startSpinners(): () => Promise<void> {
  const spinners: ChildProcess[] = [];
  for (let i = 0; i < os.cpus().length; i++) {
    const child = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
    if (child.pid !== undefined) {
      try {
        os.setPriority(child.pid, 19);
      } catch {
        // Could not lower its priority: do without this spinner rather than compete with the workers.
        child.kill('SIGKILL');
        continue;
      }
      spinners.push(child);
    }
  }
  return async () => {
    await Promise.all(
      spinners.map((c) =>
        c.exitCode !== null || c.signalCode !== null
          ? undefined
          : new Promise<void>((resolve) => {
              c.once('exit', () => resolve());
              c.kill('SIGKILL');
            }),
      ),
    );
  };
}

export interface Measurement {
  figures: Figures;
}

/** `--node-flags=<flags>` (one argument, space-separated, each starting with `--`): flags for every Node worker. */
export function nodeFlagsOf(argv: string[]): string[] {
  const arg = argv.find((a) => a.startsWith('--node-flags='));
  if (arg === undefined) return [];
  const flags = arg.slice('--node-flags='.length).split(' ').filter(Boolean);
  for (const f of flags) if (!f.startsWith('--')) throw new Error(`--node-flags: "${f}" is not a --flag`);
  return flags;
}

/** The `measure` option that starts both workers with `flags` (none when empty: Node's defaults). */
export function everyWorker(flags: string[]): Pick<MeasureOptions, 'nodeFlags'> {
  return flags.length > 0 ? { nodeFlags: { acceptor: flags, opener: flags } } : {};
}

interface Worker {
  child: ChildProcess;
  tail: string[];
  next(pred: (m: WorkerMessage) => boolean): Promise<WorkerMessage>;
  exited: Promise<number | null>;
}

function startWorker(opts: MeasureOptions, role: 'acceptor' | 'opener', port?: number): Worker {
  const params: WorkerParams = { sizes: opts.sizes, producer: opts.producer ?? 'await' };
  const own = [role, opts.peer, opts.workload, JSON.stringify(params), ...(port === undefined ? [] : [String(port)])];
  // The Go driver speaks the same messages as JSON lines: its stdout to us, our messages on its stdin.
  const go = opts.peer === 'go-yamux';
  const child = go
    ? spawn(goBenchPath(), own, { cwd: ROOT_DIR, stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...opts.env } })
    : spawn(process.execPath, ['--expose-gc', ...(opts.nodeFlags?.[role] ?? []), ...opts.launcher.args, ...own], {
        cwd: ROOT_DIR,
        stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
        env: { ...process.env, ...opts.env },
      });
  const tail: string[] = [];
  const keep = (b: Buffer): void => {
    tail.push(b.toString());
    if (tail.length > 20) tail.shift();
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  if (go) {
    let partial = '';
    child.stdout!.setEncoding('utf8').on('data', (s: string) => {
      partial += s;
      let nl: number;
      while ((nl = partial.indexOf('\n')) >= 0) {
        const line = partial.slice(0, nl).trim();
        partial = partial.slice(nl + 1);
        if (line.startsWith('{')) child.emit('message', JSON.parse(line) as WorkerMessage);
      }
    });
    child.stdin!.on('error', () => undefined);
  }
  const inbox: WorkerMessage[] = [];
  let waiter: { pred: (m: WorkerMessage) => boolean; resolve: (m: WorkerMessage) => void; reject: (e: Error) => void } | undefined;
  let exitCode: number | null | undefined;
  const exited = new Promise<number | null>((resolve) => {
    child.on('exit', (code, signal) => {
      exitCode = code ?? (signal ? -1 : null);
      resolve(exitCode);
      if (waiter) {
        const w = waiter;
        waiter = undefined;
        w.reject(new Error(`${role} exited (${signal ?? code}) before answering: ${tail.join('').trim().slice(-1500)}`));
      }
    });
  });
  child.on('message', (m: WorkerMessage) => {
    if (m.t === 'error') {
      const w = waiter;
      waiter = undefined;
      w?.reject(new Error(m.message));
      if (!w) inbox.push(m);
      return;
    }
    if (waiter?.pred(m)) {
      const w = waiter;
      waiter = undefined;
      w.resolve(m);
    } else inbox.push(m);
  });
  const next = (pred: (m: WorkerMessage) => boolean): Promise<WorkerMessage> =>
    new Promise((resolve, reject) => {
      const err = inbox.find((m) => m.t === 'error');
      if (err && err.t === 'error') return reject(new Error(err.message));
      const i = inbox.findIndex(pred);
      if (i >= 0) return resolve(inbox.splice(i, 1)[0]!);
      if (exitCode !== undefined) return reject(new Error(`${role} exited (${exitCode}): ${tail.join('').trim().slice(-1500)}`));
      waiter = { pred, resolve, reject };
    });
  return { child, tail, next, exited };
}

function tell(w: Worker, msg: OrchestratorMessage): void {
  if (w.child.connected) w.child.send(msg);
  else if (w.child.stdin && !w.child.stdin.destroyed) w.child.stdin.write(`${JSON.stringify(msg)}\n`);
}

async function stop(w: Worker | undefined): Promise<void> {
  if (!w || w.child.exitCode !== null || w.child.signalCode !== null) return;
  tell(w, { t: 'stop' });
  const timer = setTimeout(() => w.child.kill('SIGKILL'), 5_000);
  await w.exited;
  clearTimeout(timer);
}

/** Runs one measurement in a fresh pair of processes. Rejects with the worker's error, or on timeout. */
export async function measure(opts: MeasureOptions): Promise<Measurement> {
  let acceptor: Worker | undefined;
  let opener: Worker | undefined;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${opts.timeoutMs / 1000} s`)), opts.timeoutMs);
  });
  const stopSpinners = opts.keepAwake ? startSpinners() : undefined;
  const run = async (): Promise<Measurement> => {
    acceptor = startWorker(opts, 'acceptor');
    const ready = await acceptor.next((m) => m.t === 'ready');
    if (ready.t !== 'ready') throw new Error('unexpected message');
    opener = startWorker(opts, 'opener', ready.port);
    if (opts.workload === 'idle') {
      const [a] = await Promise.all([acceptor.next((m) => m.t === 'result'), opener.next((m) => m.t === 'opened')]);
      tell(opener, { t: 'measure' });
      const o = await opener.next((m) => m.t === 'result');
      if (a.t !== 'result' || o.t !== 'result') throw new Error('unexpected message');
      return { figures: { ...a.figures, ...o.figures } };
    }
    if (ACCEPTOR_REPORTS.includes(opts.workload)) {
      const [a, o] = await Promise.all([acceptor.next((m) => m.t === 'result'), opener.next((m) => m.t === 'result')]);
      if (a.t !== 'result' || o.t !== 'result') throw new Error('unexpected message');
      return { figures: { ...a.figures, ...o.figures } };
    }
    const o = await opener.next((m) => m.t === 'result');
    if (o.t !== 'result') throw new Error('unexpected message');
    return { figures: o.figures };
  };
  try {
    return await Promise.race([run(), timeout]);
  } finally {
    clearTimeout(timer);
    await Promise.all([stop(opener), stop(acceptor), stopSpinners?.()]);
  }
}
