/**
 * Runs the soak (scripts/soak.ts) for 30 s as a child process, the way `npm run soak -- --seconds 30` does, and
 * checks its verdict: exit code 0 and a PASS summary in which every channel verified both ways, nothing failed, no
 * channel stayed registered, both sessions closed cleanly and the heap after GC stayed within its margin.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const SECONDS = 30;

describe('soak over loopback TCP', () => {
  it(`${SECONDS} s of channels opening and closing with random sizes both ways: every byte verified, heap back near its start, exit 0`, async () => {
    const child = spawn(join(ROOT, 'node_modules', '.bin', 'tsx'), ['scripts/soak.ts', '--seconds', String(SECONDS)], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));

    const lines = out.trim().split('\n');
    const summary = lines.find((l) => l.startsWith('soak: PASS') || l.startsWith('soak: FAIL')) ?? '';
    const field = (name: string): number => Number(new RegExp(`(?:^|\\s)${name}=([\\d.]+)`).exec(summary)?.[1]);
    expect({ code, summary }).toMatchObject({ code: 0, summary: expect.stringMatching(/^soak: PASS /) });
    const channels = field('channels');
    expect(channels).toBeGreaterThan(1000);
    expect(field('verified')).toBe(channels);
    expect(field('failures')).toBe(0);
    expect(field('registered')).toBe(0);
    expect(field('seconds')).toBeGreaterThanOrEqual(SECONDS);
    expect(field('heapEndMiB') - field('heapStartMiB')).toBeLessThanOrEqual(field('heapAllowedGrowthMiB'));
    expect(summary).toContain('ends=client:clean,server:clean');
    // One progress line a second.
    expect(lines.filter((l) => /^t=\s*\d+s\s+channels=/.test(l)).length).toBeGreaterThanOrEqual(SECONDS - 2);
  }, 120_000);
});
