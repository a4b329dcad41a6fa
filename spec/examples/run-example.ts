/**
 * Runs an example as a user would: a child process `node --import tsx examples/<file> ...` in the repository root,
 * with helpers to wait for stdout lines. Real processes, real sockets, real time; every wait is on a line, an exit
 * or a timeout that fails the test.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The repository root: walks up from the current directory (works under jest's CommonJS and as ESM). */
export function repoRoot(): string {
  let dir = resolve(process.cwd());
  for (;;) {
    if (existsSync(join(dir, 'examples')) && existsSync(join(dir, 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('examples/ not found above the current directory');
    dir = parent;
  }
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunningExample {
  readonly child: ChildProcess;
  /** Complete stdout lines so far. */
  readonly lines: string[];
  /** stdout so far. */
  stdout(): string;
  /** stderr so far. */
  stderr(): string;
  /** The first stdout line matching (already printed or to come); rejects on exit or after `timeoutMs`. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Resolves once `count` stdout lines match; rejects on exit or after `timeoutMs`. */
  waitForLines(pattern: RegExp, count: number, timeoutMs?: number): Promise<string[]>;
  /** Resolves once the process exited and its output is drained. */
  readonly exited: Promise<Exit>;
  /** Sends `signal` and waits for the exit; SIGKILLs after `graceMs`. */
  stop(signal?: NodeJS.Signals, graceMs?: number): Promise<Exit>;
}

const running = new Set<ChildProcess>();

/** Kills every example still running (call from afterAll / afterEach). */
export function killAll(): void {
  for (const child of running) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  running.clear();
}

/**
 * Starts `examples/<file>` with `args`. `timeoutMs` (default 60 s) SIGKILLs the process whatever happens.
 * stdout is not a TTY, so the examples print plain lines.
 */
export function startExample(
  file: string,
  args: string[] = [],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): RunningExample {
  const child = spawn(process.execPath, ['--import', 'tsx', join('examples', file), ...args], {
    cwd: repoRoot(),
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  let err = '';
  let partial = '';
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  let done = false;
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    out += s;
    partial += s;
    let nl: number;
    while ((nl = partial.indexOf('\n')) >= 0) {
      lines.push(partial.slice(0, nl));
      partial = partial.slice(nl + 1);
    }
    for (const w of [...waiters]) w();
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (err += s));
  const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const exited = new Promise<Exit>((resolveExit, rejectExit) => {
    child.once('error', rejectExit);
    child.once('close', (code, signal) => {
      clearTimeout(killer);
      running.delete(child);
      if (partial) lines.push(partial);
      done = true;
      for (const w of [...waiters]) w();
      resolveExit({ code, signal, stdout: out, stderr: err });
    });
  });
  /** Resolves with `test(lines)` once it is defined; rejects on exit or after `timeoutMs`. */
  const waitUntil = <T>(test: (lines: string[]) => T | undefined, what: string, timeoutMs: number): Promise<T> =>
    new Promise((resolveWait, rejectWait) => {
      const check = (): void => {
        const found = test(lines);
        if (found !== undefined) {
          cleanup();
          resolveWait(found);
        } else if (done) {
          cleanup();
          rejectWait(
            new Error(
              `examples/${file} exited (${String(child.exitCode ?? child.signalCode)}) before ${what}\nstdout:\n${out}\nstderr:\n${err}`,
            ),
          );
        }
      };
      const timer = setTimeout(() => {
        cleanup();
        rejectWait(
          new Error(`timed out after ${timeoutMs} ms waiting for ${what} from examples/${file}\nstdout:\n${out}\nstderr:\n${err}`),
        );
      }, timeoutMs);
      const cleanup = (): void => {
        clearTimeout(timer);
        waiters.delete(check);
      };
      waiters.add(check);
      check();
    });
  const waitForLine = (pattern: RegExp, timeoutMs = 30_000): Promise<RegExpExecArray> =>
    waitUntil(
      (all) => {
        for (const line of all) {
          const m = pattern.exec(line);
          if (m) return m;
        }
        return undefined;
      },
      `a line matching ${String(pattern)}`,
      timeoutMs,
    );
  const waitForLines = (pattern: RegExp, count: number, timeoutMs = 30_000): Promise<string[]> =>
    waitUntil(
      (all) => {
        const matching = all.filter((l) => pattern.test(l));
        return matching.length >= count ? matching : undefined;
      },
      `${count} lines matching ${String(pattern)}`,
      timeoutMs,
    );
  const stop = async (signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<Exit> => {
    if (!done) child.kill(signal);
    const force = setTimeout(() => child.kill('SIGKILL'), graceMs);
    try {
      return await exited;
    } finally {
      clearTimeout(force);
    }
  };
  return { child, lines, stdout: () => out, stderr: () => err, waitForLine, waitForLines, exited, stop };
}

/** Runs an example to its exit. */
export function runExample(
  file: string,
  args: string[] = [],
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<Exit> {
  return startExample(file, args, options).exited;
}
