/**
 * The live dashboard (examples/dashboard) in headless Debian chromium driven by playwright-core: a real server
 * process, a real browser, one WebSocket. Every wait polls the DOM (waitForFunction) or a stdout line; no fixed
 * sleeps. Writes docs/dashboard.png.
 *
 * Without /usr/bin/chromium: under CI=true the suite fails; locally it prints
 * "SKIPPED: browser test (run: apt-get install -y chromium)".
 */
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page, type WebSocket as PwWebSocket } from 'playwright-core';
import { killAll, repoRoot, startExample, type RunningExample } from '../examples/run-example.js';

/** Debian's chromium; RXMUX_CHROMIUM names another binary. */
const CHROMIUM = process.env.RXMUX_CHROMIUM ?? '/usr/bin/chromium';
const HAVE_CHROMIUM = existsSync(CHROMIUM);
const WINDOW = 256 * 1024;
const SCREENSHOT = join(repoRoot(), 'docs', 'dashboard.png');

/** Selectors of the elements whose `data-count` counts the messages (or lines) of each server channel. */
const COUNTERS = {
  'metrics:cpu': '[data-family="cpu"]',
  'metrics:memory': '[data-family="memory"]',
  'metrics:rates': '[data-family="rates"]',
  logs: '#logs',
  'stats:server': '#stats-count',
} as const;
type Counted = keyof typeof COUNTERS;

async function counts(page: Page): Promise<Record<Counted, number>> {
  return page.evaluate((selectors) => {
    const out: Record<string, number> = {};
    for (const [k, sel] of Object.entries(selectors))
      out[k] = Number((document.querySelector(sel) as HTMLElement | null)?.dataset.count ?? -1);
    return out;
  }, COUNTERS) as Promise<Record<Counted, number>>;
}

/** Waits until every named counter has reached at least its target. */
async function countersReach(page: Page, targets: Partial<Record<Counted, number>>, timeout = 20_000): Promise<void> {
  const wanted = Object.entries(targets).map(([k, min]) => [COUNTERS[k as Counted], min] as const);
  await page.waitForFunction(
    (pairs) => pairs.every(([sel, min]) => Number((document.querySelector(sel) as HTMLElement | null)?.dataset.count ?? -1) >= min),
    wanted,
    { timeout, polling: 100 },
  );
}

/** The table cell `cls` of the channel with metadata `meta`, as its data-value (NaN when absent). */
function cell(page: Page, meta: string, cls: string): Promise<number> {
  return page.evaluate(
    ([m, c]) => Number(document.querySelector(`#channels tr[data-meta="${m}"] td.${c}`)?.getAttribute('data-value') || NaN),
    [meta, cls] as const,
  );
}

describe('the live dashboard in headless chromium (examples/dashboard)', () => {
  if (!HAVE_CHROMIUM) {
    if (process.env.CI === 'true') {
      it(`needs chromium at ${CHROMIUM} (CI installs it: apt-get install -y chromium)`, () => {
        throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium`);
      });
    } else {
      it('SKIPPED: chromium is not installed (run: apt-get install -y chromium)', () => {
        process.stdout.write('SKIPPED: browser test (run: apt-get install -y chromium)\n');
        expect(HAVE_CHROMIUM).toBe(false);
      });
    }
    return;
  }

  let server: RunningExample;
  let browser: Browser;
  let page: Page;
  const sockets: PwWebSocket[] = [];
  const pageErrors: string[] = [];
  const offered = new Map<string, { size: number; sha256: string }>();

  beforeAll(async () => {
    server = startExample('dashboard/server.ts', ['--exit-after', '120'], { env: { PORT: '0' }, timeoutMs: 150_000 });
    const [, url] = await server.waitForLine(/^Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)$/);
    for (const line of server.lines) {
      const m = /^Dashboard: offering (\S+) \((\d+) bytes, sha256 ([0-9a-f]{64})\)$/.exec(line);
      if (m) offered.set(m[1]!, { size: Number(m[2]), sha256: m[3]! });
    }
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    page = await browser.newPage({ viewport: { width: 1400, height: 960 } });
    page.on('websocket', (ws) => sockets.push(ws));
    page.on('pageerror', (e) => pageErrors.push(e.message));
    await page.goto(url!);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    killAll();
  });

  it('connects over one WebSocket and every server-opened channel keeps updating', async () => {
    await page.waitForFunction(() => document.querySelector<HTMLElement>('#status')?.dataset.state === 'connected', undefined, {
      timeout: 20_000,
    });
    await countersReach(page, { 'metrics:cpu': 3, 'metrics:memory': 3, 'metrics:rates': 3, logs: 2, 'stats:server': 2 });
    const first = await counts(page);
    await countersReach(page, {
      'metrics:cpu': first['metrics:cpu'] + 10,
      'metrics:memory': first['metrics:memory'] + 10,
      'metrics:rates': first['metrics:rates'] + 10,
      logs: first.logs + 3,
      'stats:server': first['stats:server'] + 3,
    });
    // The channel table lists the five server-opened channels (even ids) with their metadata and growing byte counts.
    const rows = await page.$$eval('#channels tbody tr', (trs) =>
      trs.map((tr) => `${tr.getAttribute('data-id')} ${tr.getAttribute('data-meta')} ${tr.children[2]!.textContent}`),
    );
    expect(rows).toEqual([
      '2 metrics:cpu server',
      '4 metrics:memory server',
      '6 metrics:rates server',
      '8 logs server',
      '10 stats:server server',
    ]);
    const cpuBytes = await cell(page, 'metrics:cpu', 'bytes-in');
    await page.waitForFunction(
      (before) => Number(document.querySelector('#channels tr[data-meta="metrics:cpu"] td.bytes-in')?.getAttribute('data-value')) > before,
      cpuBytes,
      { timeout: 10_000 },
    );
    expect(sockets.map((ws) => new URL(ws.url()).pathname)).toEqual(['/mux']);
    expect(pageErrors).toEqual([]);
  });

  it('shows the refusal of a file the server does not have, with its code and reason', async () => {
    await page.click('#download-buttons button[data-file="missing.bin"]');
    await page.waitForFunction(() => document.querySelector<HTMLElement>('#download')?.dataset.state === 'error', undefined, {
      timeout: 10_000,
    });
    expect(await page.textContent('#download-status')).toBe(
      '✗ ERR_MUX_REJECTED: open of channel 1 was rejected: no such file: missing.bin',
    );
  });

  it('downloads a file on a page-opened channel with a progress bar and verifies its SHA-256 in the browser', async () => {
    const file = offered.get('sample-32MiB.bin');
    expect(file).toEqual({ size: 32 * 1024 * 1024, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    await page.waitForFunction(() => !document.querySelector<HTMLButtonElement>('#download-buttons button')?.disabled, undefined, {
      timeout: 10_000,
    });
    await page.click('#download-buttons button[data-file="sample-32MiB.bin"]');
    await page.waitForFunction(() => document.querySelector<HTMLElement>('#download')?.dataset.state === 'verified', undefined, {
      timeout: 40_000,
    });
    const result = await page.$eval('#download', (box) => ({
      bytes: Number((box as HTMLElement).dataset.bytes),
      sha256: (box as HTMLElement).dataset.sha256,
      bar: (document.querySelector('#download-bar') as HTMLElement).style.width,
      status: document.querySelector('#download-status')!.textContent,
    }));
    // crypto.subtle's digest of the bytes received equals the server's hash of the file.
    expect(result).toEqual({
      bytes: file!.size,
      sha256: file!.sha256,
      bar: '100%',
      status: expect.stringMatching(/^✓ sample-32MiB\.bin: 32\.0 MiB in [\d.]+ s \([\d.]+ MiB\/s\), SHA-256 verified$/),
    });
    // The finished download stays in the channel table, marked finished, with everything it received.
    await page.waitForFunction(
      () => document.querySelector<HTMLElement>('#channels tr[data-meta="download:sample-32MiB.bin"]')?.dataset.state === 'finished',
      undefined,
      { timeout: 10_000 },
    );
    expect(await cell(page, 'download:sample-32MiB.bin', 'bytes-in')).toBeGreaterThanOrEqual(file!.size);
    expect(await cell(page, 'download:sample-32MiB.bin', 'rate-in')).toBe(0);
    // The rates chart scales each line to its own peak: the download's burst on "in" does not set the scale of the others.
    const scale = await page.$eval('[data-family="rates"] canvas', (c) => ({
      scale: (c as HTMLElement).dataset.scale,
      tops: (c as HTMLElement).dataset.tops!.split(' ').map(Number),
    }));
    expect(scale.scale).toBe('each');
    expect(scale.tops).toHaveLength(4);
    expect(Math.max(...scale.tops)).toBeGreaterThan(100 * Math.min(...scale.tops));
    expect(await page.$eval('[data-family="cpu"] canvas', (c) => (c as HTMLElement).dataset.scale)).toBe('shared');
  });

  it('pausing one metric reader stalls only its channel: its server credit drops to 0 while the others keep flowing', async () => {
    await page.click('[data-family="cpu"] button.pause');
    const stalled = (await counts(page))['metrics:cpu'];
    // The server used up the window it had: it can send nothing more on this channel.
    await page.waitForFunction(
      () => document.querySelector('#channels tr[data-meta="metrics:cpu"] td.server-credit')?.getAttribute('data-value') === '0',
      undefined,
      { timeout: 30_000, polling: 100 },
    );
    const before = await counts(page);
    await countersReach(page, {
      'metrics:memory': before['metrics:memory'] + 20,
      'metrics:rates': before['metrics:rates'] + 20,
      logs: before.logs + 3,
      'stats:server': before['stats:server'] + 4,
    });
    expect((await counts(page))['metrics:cpu']).toBe(stalled);
    // What the paused channel holds in the page stays within its receive window; the other channels keep credit.
    const buffered = await cell(page, 'metrics:cpu', 'buffered');
    expect(buffered).toBeGreaterThan(WINDOW / 2);
    expect(buffered).toBeLessThanOrEqual(WINDOW);
    expect(await cell(page, 'metrics:cpu', 'server-credit')).toBe(0);
    expect(await cell(page, 'metrics:memory', 'server-credit')).toBeGreaterThan(0);
    expect(await cell(page, 'metrics:rates', 'server-credit')).toBeGreaterThan(0);
    expect(await page.getAttribute('#channels tr[data-meta="metrics:cpu"]', 'data-paused')).toBe('true');
    // The paused channel reads nothing: its read rate is 0 while the others read on.
    await page.waitForFunction(
      () => document.querySelector('#channels tr[data-meta="metrics:cpu"] td.rate-in')?.getAttribute('data-value') === '0',
      undefined,
      { timeout: 5_000 },
    );
    expect(await cell(page, 'metrics:memory', 'rate-in')).toBeGreaterThan(0);
    // Every column says what it shows.
    const titles = await page.$$eval('#channels thead th', (ths) => ths.map((th) => th.getAttribute('title') ?? ''));
    expect(titles.filter((t) => t.length < 10)).toEqual([]);
    expect(await page.textContent('#channels-legend')).toContain('read rate');

    mkdirSync(join(repoRoot(), 'docs'), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(20_000);
  });

  it('resuming the reader lets the stalled channel catch up and the server gets credit again', async () => {
    const stalled = (await counts(page))['metrics:cpu'];
    await page.click('[data-family="cpu"] button.pause');
    await countersReach(page, { 'metrics:cpu': stalled + 20 });
    await page.waitForFunction(
      () => Number(document.querySelector('#channels tr[data-meta="metrics:cpu"] td.server-credit')?.getAttribute('data-value')) > 0,
      undefined,
      { timeout: 10_000 },
    );
    expect(await page.getAttribute('[data-family="cpu"]', 'data-paused')).toBe('false');
  });

  it('keeps a download and the live streams going across a server-side kill of the WebSocket: suspended, then resumed', async () => {
    const file = offered.get('sample-32MiB.bin')!;
    const status = (): Promise<{ state?: string; history?: string; resumptions?: string; text: string | null }> =>
      page.$eval('#status', (b) => ({ ...(b as HTMLElement).dataset, text: b.textContent }));
    expect(await status()).toMatchObject({ state: 'connected', history: 'connected', resumptions: '0' });
    await page.waitForFunction(() => !document.querySelector<HTMLButtonElement>('#download-buttons button')?.disabled, undefined, {
      timeout: 10_000,
    });
    await page.click('#download-buttons button[data-file="sample-32MiB.bin"]');
    // Mid-download (some bytes in, most to come), the server terminates the page's WebSocket.
    await page.waitForFunction(
      () => {
        const box = document.querySelector<HTMLElement>('#download')!;
        return box.dataset.state === 'running' && Number(box.dataset.bytes) >= 1024 * 1024;
      },
      undefined,
      { timeout: 20_000, polling: 'raf' },
    );
    const before = await counts(page);
    // The log tail keeps only its last lines: record every line it shows from here on, so a line that scrolls out
    // before the check below is still seen.
    await page.evaluate(() => {
      const pre = document.querySelector('#log-lines')!;
      const w = window as unknown as { logSeen: string };
      w.logSeen = pre.textContent ?? '';
      new MutationObserver(() => (w.logSeen += `\n${pre.textContent ?? ''}`)).observe(pre, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });
    const killed = await fetch(new URL('/kill-socket', page.url()), { method: 'POST' });
    expect({ status: killed.status, body: await killed.json() }).toEqual({ status: 200, body: { killed: 1 } });
    await server.waitForLine(/^Dashboard: page 1 resumed on a new WebSocket \(resumption 1\)$/, 20_000);
    await page.waitForFunction(() => document.querySelector<HTMLElement>('#status')?.dataset.state === 'resumed', undefined, {
      timeout: 20_000,
    });
    expect(await status()).toEqual({
      state: 'resumed',
      history: 'connected suspended resumed',
      resumptions: '1',
      text: expect.stringMatching(/^resumed · 1 resumption \(last gap \d+ ms\)$/),
    });
    // The download finishes on the same channel with every byte, and crypto.subtle's SHA-256 is the server's.
    await page.waitForFunction(() => document.querySelector<HTMLElement>('#download')?.dataset.state === 'verified', undefined, {
      timeout: 40_000,
    });
    const result: Record<string, string | undefined> = await page.$eval('#download', (box) => ({
      ...(box as HTMLElement).dataset,
      status: box.querySelector('#download-status')!.textContent ?? '',
    }));
    expect(result).toMatchObject({
      state: 'verified',
      bytes: String(file.size),
      sha256: file.sha256,
      interruptions: '1',
      status: expect.stringMatching(
        /^✓ sample-32MiB\.bin: 32\.0 MiB in [\d.]+ s \([\d.]+ MiB\/s\) across 1 lost WebSocket, SHA-256 verified$/,
      ),
    });
    // The WebSocket was lost mid-download: the page had some of the file, not all of it.
    expect(Number(result.bytesAtSuspend)).toBeGreaterThanOrEqual(1024 * 1024);
    expect(Number(result.bytesAtSuspend)).toBeLessThan(file.size);
    // Every live stream keeps updating after the resume, on the same channels of the same session.
    const after = await counts(page);
    await countersReach(page, {
      'metrics:cpu': after['metrics:cpu'] + 10,
      'metrics:rates': after['metrics:rates'] + 10,
      logs: after.logs + 3,
      'stats:server': after['stats:server'] + 3,
    });
    expect(after['metrics:cpu']).toBeGreaterThan(before['metrics:cpu']);
    const rows = await page.$$eval('#channels tbody tr:not(.finished)', (trs) =>
      trs.map((tr) => `${tr.getAttribute('data-id')} ${tr.getAttribute('data-meta')}`),
    );
    expect(rows).toEqual(['2 metrics:cpu', '4 metrics:memory', '6 metrics:rates', '8 logs', '10 stats:server']);
    // The log tail shows the server's side of it: the kill, the suspension, the resume.
    await page.waitForFunction(
      () => /\[page 1\] resumed on a new WebSocket/.test((window as unknown as { logSeen: string }).logSeen),
      undefined,
      {
        timeout: 10_000,
      },
    );
    // The second WebSocket went to the same URL; the server never saw a second page.
    expect(sockets.map((ws) => new URL(ws.url()).pathname)).toEqual(['/mux', '/mux']);
    expect(server.lines.filter((l) => /^Dashboard: page \d+ connected$/.test(l))).toEqual(['Dashboard: page 1 connected']);
    expect(pageErrors).toEqual([]);
  }, 90_000);

  it("the page's Kill the WebSocket button does the same: a second suspension, a second resumption", async () => {
    const cpu = (await counts(page))['metrics:cpu'];
    await page.click('#kill-socket');
    await page.waitForFunction(() => document.querySelector<HTMLElement>('#status')?.dataset.resumptions === '2', undefined, {
      timeout: 20_000,
    });
    expect(await page.$eval('#status', (b) => [(b as HTMLElement).dataset.state, (b as HTMLElement).dataset.history])).toEqual([
      'resumed',
      'connected suspended resumed suspended resumed',
    ]);
    await countersReach(page, { 'metrics:cpu': cpu + 10 });
    expect(await page.textContent('#totals')).toMatch(/ · 2× resumed, [\d.]+ (B|KiB|MiB) replayed$/);
    expect(sockets).toHaveLength(3);
    expect(pageErrors).toEqual([]);
  }, 60_000);

  it('stops cleanly on SIGTERM while a reader is paused: the page sees the session closed and the server exits 0', async () => {
    await page.click('[data-family="memory"] button.pause');
    const exit = server.stop('SIGTERM');
    await page.waitForFunction(() => document.querySelector<HTMLElement>('#status')?.dataset.state === 'closed', undefined, {
      timeout: 15_000,
    });
    const { code, signal, stdout, stderr } = await exit;
    expect({ code, signal, stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(stdout).toContain('Dashboard: stopping (SIGTERM)\n');
    expect(stdout).toContain('Dashboard: page 1 session closed\n');
    expect(stdout).toMatch(/Dashboard: stopped\n$/);
    expect(pageErrors).toEqual([]);
  });
});
