/**
 * Helpers for interop tests against the Go yamux peer
 * (spec/interop/go/yamuxpeer, built on hashicorp/yamux; see
 * spec/interop/go/README.md for its flags, modes and stdout lines).
 *
 * Works both under jest (CommonJS via ts-jest) and as ESM: it uses neither
 * import.meta nor __dirname, and finds the repository root by walking up
 * from the current directory.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, statSync, utimesSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** Debian's GOPATH holding github.com/hashicorp/yamux (golang-github-hashicorp-yamux-dev). */
const GOPATH_DIR = '/usr/share/gocode';
const YAMUX_SRC = join(GOPATH_DIR, 'src/github.com/hashicorp/yamux/session.go');
const PEER_SRC_REL = join('spec', 'interop', 'go', 'yamuxpeer');
const PEER_BIN_REL = join('.tmp', 'interop', 'yamuxpeer');
const DEFAULT_TIMEOUT_MS = 60_000;

function findRepoRoot(): string | undefined {
  let dir = resolve(process.cwd());
  for (;;) {
    if (existsSync(join(dir, PEER_SRC_REL, 'main.go'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

function mtimeMs(path: string): number | undefined {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return undefined;
  }
}

function haveGo(): boolean {
  const r = spawnSync('go', ['version'], { stdio: 'ignore', timeout: 30_000 });
  return r.status === 0;
}

let cachedPath: string | null | undefined; // undefined: not looked up yet; null: unavailable

/**
 * Path of the built Go peer, or undefined when it is not available.
 * Builds it first (GOPATH mode, as scripts/setup-interop.sh does) when `go`
 * and the Debian yamux source are installed and the binary is missing or
 * older than main.go. The environment variable RXMUX_GO_PEER, if set, names
 * a binary to use instead.
 */
export function goPeerPath(): string | undefined {
  if (cachedPath !== undefined) return cachedPath ?? undefined;
  cachedPath = lookUpGoPeer() ?? null;
  return cachedPath ?? undefined;
}

function lookUpGoPeer(): string | undefined {
  const override = process.env.RXMUX_GO_PEER;
  if (override) return existsSync(override) ? override : undefined;

  const root = findRepoRoot();
  if (!root) return undefined;
  const srcDir = join(root, PEER_SRC_REL);
  const bin = join(root, PEER_BIN_REL);
  const binTime = mtimeMs(bin);
  const srcTime = mtimeMs(join(srcDir, 'main.go')) ?? 0;
  const fresh = binTime !== undefined && binTime >= srcTime;
  if (fresh) return bin;

  const canBuild = existsSync(YAMUX_SRC) && haveGo();
  if (!canBuild) {
    // Stale but present and nothing to rebuild it with: best effort.
    return binTime !== undefined ? bin : undefined;
  }
  mkdirSync(dirname(bin), { recursive: true });
  const r = spawnSync('go', ['build', '-o', bin, '.'], {
    cwd: srcDir,
    env: {
      ...process.env,
      GO111MODULE: 'off',
      GOPATH: GOPATH_DIR,
      GOFLAGS: '',
      GOCACHE: process.env.GOCACHE ?? join(root, '.tmp', 'interop', 'gocache'),
    },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 300_000,
  });
  if (r.status !== 0) {
    process.stderr.write(`go-peer: building ${bin} failed (status ${String(r.status)}): ${r.error?.message ?? ''}${r.stderr ?? ''}\n`);
    return undefined;
  }
  // go build may leave an up-to-date binary untouched; mark it fresh.
  const now = new Date();
  utimesSync(bin, now, now);
  return bin;
}

/**
 * The Go peer's path, or undefined after printing a SKIPPED line when it is
 * unavailable. Under CI (CI=true) a missing peer is an error instead.
 */
export function requireGoPeer(): string | undefined {
  const path = goPeerPath();
  if (path) return path;
  if (process.env.CI === 'true') {
    throw new Error(
      'Go yamux interop peer is missing (needs golang-go and golang-github-hashicorp-yamux-dev): run `npm run setup:interop`',
    );
  }
  process.stdout.write('SKIPPED: Go yamux interop (run: npm run setup:interop)\n');
  return undefined;
}

/**
 * Byte i of stream k in the Go peer's deterministic data (source and
 * open-echo modes): the top byte of (i*2654435761 + k*40503) mod 2^32.
 */
function goPeerPatternByte(streamIndex: number, i: number): number {
  const x = (Math.imul(i >>> 0, 2654435761) + Math.imul(streamIndex >>> 0, 40503)) >>> 0;
  return x >>> 24;
}

/** `length` bytes of the Go peer's pattern for stream index k, starting at `offset`. */
export function goPeerPattern(streamIndex: number, length: number, offset = 0): Uint8Array {
  const out = new Uint8Array(length);
  for (let j = 0; j < length; j++) out[j] = goPeerPatternByte(streamIndex, offset + j);
  return out;
}

export interface GoPeerExit {
  code: number | null;
  signal: string | null;
  stderr: string;
}

export interface GoPeer {
  /** Resolves when `LISTENING host:port` is printed (only with -listen; rejects otherwise or if the peer exits first). */
  listening: Promise<{ host: string; port: number }>;
  /** Every stdout line so far, in order. */
  stdoutLines: string[];
  /** First stdout line (already printed or still to come) matching; rejects on timeout or exit without a match. */
  waitForLine(predicate: ((line: string) => boolean) | RegExp | string, timeoutMs?: number): Promise<string>;
  /** Resolves once the process has exited and its output is drained. */
  exited: Promise<GoPeerExit>;
  /** SIGKILL the process if it is still running. */
  kill(): void;
  /** The spawned process. */
  child: ChildProcess;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of live) {
      try {
        c.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

function toPredicate(p: ((line: string) => boolean) | RegExp | string): (line: string) => boolean {
  if (typeof p === 'string') return (l) => l === p || l.startsWith(p);
  if (p instanceof RegExp) return (l) => p.test(l);
  return p;
}

const MAX_STDERR = 1 << 20;

/**
 * Spawns the Go peer with `args` (see spec/interop/go/README.md). The process
 * is SIGKILLed after `timeoutMs` (default 60 s) whatever happens; unless the
 * args set -timeout-s, the peer is also told to exit by itself shortly after
 * that. Rejects if the peer is unavailable or cannot be spawned.
 */
export function startGoPeer(args: string[], opts: { timeoutMs?: number } = {}): Promise<GoPeer> {
  const bin = goPeerPath();
  if (!bin) {
    return Promise.reject(new Error('Go yamux interop peer is missing: run `npm run setup:interop`'));
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const fullArgs = [...args];
  if (!fullArgs.some((a) => /^--?timeout-s(=|$)/.test(a))) {
    fullArgs.push('-timeout-s', String(Math.ceil(timeoutMs / 1000) + 1));
  }
  const wantsListen = fullArgs.some((a) => /^--?listen(=|$)/.test(a));

  installExitHook();
  const child = spawn(bin, fullArgs, { stdio: ['ignore', 'pipe', 'pipe'] });
  live.add(child);

  const stdoutLines: string[] = [];
  const lineWaiters = new Set<(line: string | null) => void>();
  let stderr = '';
  let partial = '';
  let ended = false;

  const pushLine = (line: string): void => {
    stdoutLines.push(line);
    for (const w of [...lineWaiters]) w(line);
  };

  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    partial += chunk;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      const line = partial.slice(0, nl).replace(/\r$/, '');
      partial = partial.slice(nl + 1);
      pushLine(line);
    }
  });
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    if (stderr.length < MAX_STDERR) stderr += chunk;
  });

  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null) {
      stderr += `\n[go-peer] killed after ${timeoutMs} ms timeout\n`;
      child.kill('SIGKILL');
    }
  }, timeoutMs);

  const exited = new Promise<GoPeerExit>((resolveExit) => {
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      live.delete(child);
      if (partial.length > 0) {
        pushLine(partial);
        partial = '';
      }
      ended = true;
      for (const w of [...lineWaiters]) w(null);
      resolveExit({ code, signal, stderr });
    });
  });

  const waitForLine = (predicate: ((line: string) => boolean) | RegExp | string, lineTimeoutMs = timeoutMs): Promise<string> => {
    const test = toPredicate(predicate);
    const found = stdoutLines.find(test);
    if (found !== undefined) return Promise.resolve(found);
    if (ended) {
      return Promise.reject(new Error(`go peer exited without a matching line; stdout:\n${stdoutLines.join('\n')}\nstderr:\n${stderr}`));
    }
    return new Promise<string>((res, rej) => {
      const t = setTimeout(() => {
        lineWaiters.delete(waiter);
        rej(
          new Error(
            `timed out after ${lineTimeoutMs} ms waiting for a go peer line; stdout:\n${stdoutLines.join('\n')}\nstderr:\n${stderr}`,
          ),
        );
      }, lineTimeoutMs);
      const waiter = (line: string | null): void => {
        if (line === null) {
          clearTimeout(t);
          lineWaiters.delete(waiter);
          rej(new Error(`go peer exited without a matching line; stdout:\n${stdoutLines.join('\n')}\nstderr:\n${stderr}`));
        } else if (test(line)) {
          clearTimeout(t);
          lineWaiters.delete(waiter);
          res(line);
        }
      };
      lineWaiters.add(waiter);
    });
  };

  const listening: Promise<{ host: string; port: number }> = wantsListen
    ? waitForLine((l) => l.startsWith('LISTENING '), timeoutMs).then((line) => {
        const addr = line.slice('LISTENING '.length).trim();
        const i = addr.lastIndexOf(':');
        const host = addr.slice(0, i).replace(/^\[(.*)\]$/, '$1');
        return { host, port: Number(addr.slice(i + 1)) };
      })
    : Promise.reject(new Error('go peer was not started with -listen'));
  // Don't let an unawaited rejection crash the test run.
  listening.catch(() => undefined);

  const kill = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };

  return new Promise<GoPeer>((res, rej) => {
    child.once('error', (err) => {
      clearTimeout(timer);
      live.delete(child);
      rej(err);
    });
    child.once('spawn', () => {
      res({ listening, stdoutLines, waitForLine, exited, kill, child });
    });
  });
}
