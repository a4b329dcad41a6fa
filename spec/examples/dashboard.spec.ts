/**
 * examples/dashboard/server.ts without a browser: the HTTP side, the session a WebSocket client gets (rxmux over
 * the `ws` package in Node, the same protocol the page speaks) and the ways the server stops. The page itself runs
 * in headless chromium in spec/browser/dashboard.spec.ts.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import WebSocket from 'ws';
import { createSession, jsonMessages, utf8, type Channel, type Session, type SessionState } from '../../src/index.js';
import { websocketCarrier } from '../../src/web.js';
import type { DownloadInfo, MetricSnapshot, ServerStats } from '../../examples/dashboard/protocol.js';
import { killAll, startExample, type RunningExample } from './run-example.js';

afterAll(killAll);

async function start(args: string[]): Promise<{ server: RunningExample; url: string; offered: Map<string, string> }> {
  const server = startExample('dashboard/server.ts', args, { env: { PORT: '0' } });
  const [, url] = await server.waitForLine(/^Dashboard: (http:\/\/127\.0\.0\.1:\d+\/)$/);
  const offered = new Map<string, string>();
  for (const line of server.lines) {
    const m = /^Dashboard: offering (\S+) \(\d+ bytes, sha256 ([0-9a-f]{64})\)$/.exec(line);
    if (m) offered.set(m[1]!, m[2]!);
  }
  return { server, url: url!, offered };
}

describe('examples/dashboard/server.ts', () => {
  it('serves the page with its script bundled for the browser, and the WebSocket session the page expects; stops on SIGINT', async () => {
    const { server, url, offered } = await start([]);
    const html = await fetch(url);
    expect(html.status).toBe(200);
    expect(await html.text()).toContain('<script type="module" src="/page.js"></script>');
    const js = await fetch(new URL('/page.js', url));
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    const bundle = await js.text();
    expect(bundle).not.toMatch(/\brequire\(|from ['"](rxjs|node:)/); // one self-contained ES module
    expect(bundle).toContain('/mux');
    expect((await fetch(new URL('/nope', url))).status).toBe(404);

    // A Node client speaking what the page speaks (resume on: its Hello is the first frame, which the server waits
    // for before it starts the session): one WebSocket, the server opens five channels.
    const session: Session = createSession(websocketCarrier(new WebSocket(`${url.replace('http', 'ws')}mux`)), {
      role: 'client',
      resume: true,
    });
    const opened: Channel[] = [];
    const requests = await lastValueFrom(session.incoming$.pipe(take(5), toArray()));
    for (const r of requests) opened.push(r.accept());
    expect(opened.map((c) => `${c.id} ${utf8(c.meta)}`)).toEqual([
      '2 metrics:cpu',
      '4 metrics:memory',
      '6 metrics:rates',
      '8 logs',
      '10 stats:server',
    ]);
    const cpu = await firstValueFrom(opened[0]!.incoming$.pipe(jsonMessages<MetricSnapshot>().decode));
    expect(Object.keys(cpu.latest)).toEqual(['host', 'user', 'system', 'process']);
    expect(cpu.history.host!.length).toBeGreaterThanOrEqual(1);
    const stats = await firstValueFrom(opened[4]!.incoming$.pipe(jsonMessages<ServerStats>().decode));
    expect(stats.channels.map((c) => c.meta)).toEqual(['metrics:cpu', 'metrics:memory', 'metrics:rates', 'logs', 'stats:server']);

    // A download: reply metadata with size and SHA-256, then exactly those bytes.
    const channel = await firstValueFrom(session.open({ meta: 'download:sample-8MiB.bin' }));
    channel.end();
    const info = JSON.parse(utf8(channel.replyMeta)) as DownloadInfo;
    expect(info).toEqual({ name: 'sample-8MiB.bin', size: 8 * 1024 * 1024, sha256: offered.get('sample-8MiB.bin') });
    const hash = createHash('sha256');
    let size = 0;
    for await (const chunk of channel) {
      hash.update(chunk);
      size += chunk.byteLength;
    }
    expect({ size, sha256: hash.digest('hex') }).toEqual({ size: info.size, sha256: info.sha256 });
    await expect(firstValueFrom(session.open({ meta: 'download:../etc/passwd' }))).rejects.toMatchObject({
      code: 'ERR_MUX_REJECTED',
      wireCode: 404,
      reason: 'no such file: ../etc/passwd',
    });

    const ended = firstValueFrom(session.closed$);
    const exit = await server.stop('SIGINT');
    expect({ code: exit.code, signal: exit.signal, stderr: exit.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(exit.stdout).toContain('Dashboard: stopping (SIGINT)\n');
    expect(exit.stdout).toMatch(/Dashboard: page 1 session closed\nDashboard: stopped\n$/);
    // The server closed the session gracefully: the client's session ends without an error.
    expect(await ended).toEqual({ error: undefined });
  });

  it('POST /kill-socket terminates the WebSocket; a client with resume on goes on where it was, byte-exact', async () => {
    const { server, url, offered } = await start([]);
    const ws = `${url.replace('http', 'ws')}mux`;
    const session: Session = createSession(websocketCarrier(new WebSocket(ws)), {
      role: 'client',
      resume: { reconnect: () => websocketCarrier(new WebSocket(ws)), retryDelay: 50 },
    });
    const states: SessionState[] = [];
    session.state$.subscribe((s) => states.push(s));
    session.incoming$.subscribe((r) => r.accept().end());
    // Refused: another method, another origin. Nothing is killed.
    expect((await fetch(new URL('/kill-socket', url))).status).toBe(405);
    expect((await fetch(new URL('/kill-socket', url), { method: 'POST', headers: { origin: 'http://example.com' } })).status).toBe(403);

    const channel = await firstValueFrom(session.open({ meta: 'download:sample-32MiB.bin' }));
    channel.end();
    const hash = createHash('sha256');
    let size = 0;
    let killed: Promise<Response> | undefined;
    for await (const chunk of channel) {
      hash.update(chunk);
      size += chunk.byteLength;
      killed ??= fetch(new URL('/kill-socket', url), { method: 'POST' }); // after the first chunk, mid-download
    }
    const answer = await killed!;
    expect({ status: answer.status, body: await answer.json() }).toEqual({ status: 200, body: { killed: 1 } });
    expect({ size, sha256: hash.digest('hex') }).toEqual({ size: 32 * 1024 * 1024, sha256: offered.get('sample-32MiB.bin') });
    expect(states).toEqual(['connected', 'suspended', 'resumed']);
    expect(session.stats().resumptions).toBe(1);
    await server.waitForLine(/^Dashboard: page 1 resumed on a new WebSocket \(resumption 1\)$/);
    expect(server.lines).toContain('Dashboard: killed 1 WebSocket(s)');
    expect(server.lines).toContain('Dashboard: page 1 suspended: WebSocket lost');

    const ended = firstValueFrom(session.closed$);
    const exit = await server.stop('SIGTERM');
    expect({ code: exit.code, signal: exit.signal, stderr: exit.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(exit.stdout).toMatch(/Dashboard: page 1 session closed\nDashboard: stopped\n$/);
    expect(await ended).toEqual({ error: undefined });
  }, 60_000);

  it('`npm run dashboard` stops when only npm gets the SIGINT (as from a process manager or an IDE terminal)', async () => {
    const npm = spawn('npm', ['run', '--silent', 'dashboard'], {
      env: { ...process.env, PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let out = '';
    npm.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
    const exited = new Promise<number | null>((resolveExit) => npm.once('close', (code) => resolveExit(code)));
    const killer = setTimeout(() => process.kill(-npm.pid!, 'SIGKILL'), 40_000); // the whole group npm started, if it hangs
    try {
      await new Promise<void>((resolveUp, rejectUp) => {
        const check = (): void => {
          if (/Dashboard: http:\/\/127\.0\.0\.1:\d+\//.test(out)) resolveUp();
        };
        npm.stdout!.on('data', check);
        void exited.then(() => rejectUp(new Error(`npm run dashboard exited early:\n${out}`)));
      });
      process.kill(npm.pid!, 'SIGINT'); // npm alone, not its process group
      await exited;
      expect(out).toContain('Dashboard: stopping (SIGINT)\nDashboard: stopped\n');
    } finally {
      clearTimeout(killer);
    }
  }, 60_000);

  it('stops by itself after --exit-after seconds with exit code 0', async () => {
    const { server } = await start(['--exit-after', '1']);
    const exit = await server.exited;
    expect({ code: exit.code, signal: exit.signal, stderr: exit.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(exit.stdout).toMatch(/Dashboard: stopping \(--exit-after 1\)\nDashboard: stopped\n$/);
  });
});
