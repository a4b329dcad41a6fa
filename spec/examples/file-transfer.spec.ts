/**
 * examples/file-transfer.ts, run as child processes: the one-process run with a generated 20 MiB file, then a
 * receiver and a sender as two processes with a file the test wrote.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mulberry32 } from '../../src/util/random.js';
import { killAll, runExample, startExample } from './run-example.js';

const MiB = 1024 * 1024;
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'rxmux-example-ft-'));
});
afterAll(() => {
  killAll();
  rmSync(work, { recursive: true, force: true });
});

describe('examples/file-transfer.ts', () => {
  it('sends a generated 20 MiB file with plain progress lines and ends with a verified checksum', async () => {
    const run = await runExample('file-transfer.ts');
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    // stdout is not a terminal: plain lines, no escape codes, about one per 10% and ending at 100%.
    expect(run.stdout).not.toContain('\x1b[');
    const progress = run.stdout.split('\n').filter((l) => /^send random-20971520\.bin /.test(l));
    const percents = progress.map((l) => Number(/ (\d+)% /.exec(l)![1]));
    expect(percents.length).toBeGreaterThanOrEqual(10);
    expect(percents.length).toBeLessThanOrEqual(12);
    expect(percents).toEqual([...percents].sort((a, b) => a - b));
    expect(progress[progress.length - 1]).toMatch(/^send random-20971520\.bin 100% 20\.0 MiB \/ 20\.0 MiB +[\d.]+ MiB\/s$/);
    expect(run.stdout).toMatch(
      /^sender: random-20971520\.bin 20\.0 MiB sent in [\d.]+ s \([\d.]+ MiB\/s\); the receiver verified its SHA-256$/m,
    );
    const sent = /^sha256 sent +([0-9a-f]{64})$/m.exec(run.stdout)?.[1];
    const received = /^sha256 received +([0-9a-f]{64})$/m.exec(run.stdout)?.[1];
    expect(sent).toBeDefined();
    expect(received).toBe(sent);
    expect(run.stdout).toMatch(/checksum verified\n$/);
    // The temporary directory holding both copies is removed.
    const dir = /^sender: (\/.*)\/random-20971520\.bin \(20\.0 MiB\)$/m.exec(run.stdout)?.[1];
    expect(dir).toBeDefined();
    expect(existsSync(dir!)).toBe(false);
  });

  it('stores a file sent by a separate sender process, byte for byte, and the receiver stops on SIGTERM', async () => {
    const random = mulberry32(7);
    const data = new Uint8Array(3 * MiB + 12345).map(() => (random() * 256) | 0);
    const source = join(work, 'report.bin');
    writeFileSync(source, data);
    const inbox = join(work, 'inbox');
    rmSync(inbox, { recursive: true, force: true });
    mkdirSync(inbox);
    const receiver = startExample('file-transfer.ts', ['receive', '--port', '0', '--dir', inbox]);
    const [, port] = await receiver.waitForLine(/^receiver: listening on 127\.0\.0\.1:(\d+), storing in /);
    const sender = await runExample('file-transfer.ts', ['send', '--port', port!, source]);
    expect({ code: sender.code, stderr: sender.stderr }).toEqual({ code: 0, stderr: '' });
    expect(sender.stdout).toMatch(/^send report\.bin 100% 3\.0 MiB \/ 3\.0 MiB /m);
    expect(sender.stdout).toContain('the receiver verified its SHA-256');
    await receiver.waitForLine(/^receiver: .*report\.bin stored, SHA-256 checked$/);
    expect(sha256(readFileSync(join(inbox, 'report.bin')))).toBe(sha256(data));
    expect(existsSync(join(inbox, 'report.bin.part'))).toBe(false);
    const exit = await receiver.stop('SIGTERM');
    expect({ code: exit.code, signal: exit.signal, stderr: exit.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(exit.stdout).toMatch(/^receive report\.bin 100% 3\.0 MiB \/ 3\.0 MiB /m);
  });
});
