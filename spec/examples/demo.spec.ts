/**
 * Runs the README's demo (examples/demo.ts) in quick mode as a child process, the way a user would,
 * and checks what it reports. Real sockets and real time: the demo itself is the subject here.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** The repository root: walks up from the current directory (works under jest's CommonJS and as ESM). */
function repoRoot(): string {
  let dir = resolve(process.cwd());
  for (;;) {
    if (existsSync(join(dir, 'examples', 'demo.ts'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('examples/demo.ts not found above the current directory');
    dir = parent;
  }
}

function runDemo(args: string[]): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/demo.ts', ...args], {
      cwd: repoRoot(),
      env: { ...process.env, DEMO_QUICK: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 55_000,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', fail);
    child.on('close', (code, signal) => done({ code, signal, stdout, stderr }));
  });
}

/** The summary table's row for a channel (the line after "Summary" that names it), or undefined. */
function summaryRow(stdout: string, channel: string): string | undefined {
  const table = stdout.slice(stdout.indexOf('\nSummary\n'));
  const name = channel.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return table.split('\n').find((line) => new RegExp(`^\\s*(\\d+|–) ${name}( |$)`).test(line));
}

describe('the demo (npm run demo -- --quick)', () => {
  let run: Run;

  beforeAll(async () => {
    run = await runDemo(['--quick']);
  }, 60_000);

  it('exits with code 0 on its own, with nothing on stderr', () => {
    expect({ code: run.code, signal: run.signal, stderr: run.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
  });

  it('lists every channel opened from both ends in the summary, each one verified', () => {
    const channels = ['upload:fileA', 'upload:fileB', 'slow-reader', 'chat', 'upload:backup', 'download:report', 'metrics'];
    const rows = channels.map((c) => summaryRow(run.stdout, c));
    expect(rows.every((r) => r !== undefined)).toBe(true);
    for (const row of rows) expect(row).toMatch(/ ✓ (verified [0-9a-f]{12}…|rejected as expected)/);
    expect(run.stdout).not.toContain('✗');
  });

  it('reports which end opened each channel and its direction', () => {
    expect(summaryRow(run.stdout, 'upload:fileA')).toMatch(/ c→s +client /);
    expect(summaryRow(run.stdout, 'chat')).toMatch(/ c↔s +client /);
    expect(summaryRow(run.stdout, 'download:report')).toMatch(/ s→c +server /);
    expect(summaryRow(run.stdout, 'metrics')).toMatch(/ s→c +server /);
  });

  it('shows the oversized upload refused by the server with its code and reason', () => {
    expect(summaryRow(run.stdout, 'upload:backup')).toContain('rejected as expected: ERR_MUX_REJECTED 413 "quota exceeded: 8GiB > 1GiB"');
  });

  it('shows the slow reader held back by credit, with its unread bytes within its receive window', () => {
    const lines = run.stdout.split('\n');
    const at = lines.findIndex((l) => l.includes('slow-reader back-pressure'));
    expect(at).toBeGreaterThan(0);
    const line = `${lines[at]} ${lines[at + 1]}`;
    expect(line).toMatch(/✓ slow-reader back-pressure: the sender's credit fell to 0 [1-9]\d*×/);
    const m = /never held more than ([\d.]+) KiB unread \(its window: ([\d.]+) (KiB|MiB)\)/.exec(line);
    expect(m).not.toBeNull();
    const held = Number(m![1]) * 1024;
    const window = Number(m![2]) * (m![3] === 'MiB' ? 1024 * 1024 : 1024);
    expect(held).toBeGreaterThan(0);
    expect(held).toBeLessThanOrEqual(window);
  });

  it('prints plain progress lines without terminal escape codes when stdout is not a terminal', () => {
    expect(run.stdout).not.toContain('\x1b[');
    expect(run.stdout).toMatch(/^\[ *\d+\.\ds\] server accepts #1 "upload:fileA \S+" → "ok: storing fileA/m);
  });

  it('judges the chat echo round trip under load against its target, p50 from 30 messages, p99 left unjudged in quick mode', () => {
    expect(run.stdout).toMatch(/chat echo round trip under load: p50 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms over 30 messages/);
    expect(run.stdout).toMatch(/p50 [\d.]+ ms \(target ≤ 0\.5 ms\): (met|missed, [\d.]+× the target \(the verdict fails only above 10×\))/);
    expect(run.stdout).toMatch(/p99 [\d.]+ ms \(target ≤ 2 ms\): not judged \(30 messages; p99 needs at least 100\)/);
  });

  it('cuts its own connection once mid-run (RST), resumes, and still verifies every checksum', () => {
    expect(run.stdout).toMatch(/connection cut \(TCP RST\) mid-transfer: both sessions suspended/);
    expect(run.stdout).toMatch(/session resumed \d+ ms after the cut: [\d.]+ (B|KiB|MiB) replayed/);
    expect(run.stdout).toMatch(
      /✓ connection cut once mid-transfer and resumed in \d+ ms \([\d.]+ (B|KiB|MiB) replayed\), every checksum verified after it/,
    );
  });

  it('prints session totals, an RTT from ping, a graceful close and a passing result', () => {
    expect(run.stdout).toMatch(/^ {2}client: bytes out [\d,]+ .*frames out [\d,]+, in [\d,]+/m);
    expect(run.stdout).toMatch(/^ {2}server: bytes out [\d,]+ .*frames out [\d,]+, in [\d,]+/m);
    expect(run.stdout).toMatch(/rtt \(session\.ping, client→server\): \d+ ms idle/);
    expect(run.stdout).toContain('✓ sessions closed gracefully');
    expect(run.stdout).toMatch(/\nRESULT: PASS: all 7 channels verified/);
  });
});
