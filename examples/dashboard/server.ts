/**
 * rxmux live dashboard: one WebSocket between this server and a browser page carries every live stream as its own
 * channel (metrics, a log tail, the server's view of the session) plus downloads the page asks for, each with its
 * own credit: pause one channel's reader in the page and watch the others keep flowing.
 *
 *   npm run dashboard                           prints "Dashboard: http://127.0.0.1:<port>/" (PORT=8080 to choose)
 *   npx tsx examples/dashboard/server.ts [--exit-after <seconds>] [--interval <ms>]
 *
 * HTTP and the WebSocket (path /mux) share one port on 127.0.0.1. The page's TypeScript (page.ts, importing rxmux,
 * rxmux/web and rxjs) is bundled with esbuild in memory at start. SIGINT/SIGTERM (or --exit-after) close every
 * session gracefully (FIN on each channel, GoAway, WebSocket close 1000), then the servers; the process exits 0.
 *
 * Sessions resume (`resume` on both ends): `POST /kill-socket` terminates every page's WebSocket abruptly (no close
 * frame, as a network drop would), the page opens a new one and its session goes on where it was, every channel
 * byte-exact. The page's "Kill the WebSocket" button posts it; so can `curl -X POST http://127.0.0.1:<port>/kill-socket`.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';
import { mergeMap, skip, Subject } from 'rxjs';
import { WebSocketServer } from 'ws';
import type { Session } from '../../src/index.js';
import { websocketSessions } from '../../src/web.js';
import { makeFiles, serveSession } from './serve.js';

const { values } = parseArgs({
  options: {
    'exit-after': { type: 'string' },
    interval: { type: 'string', default: '50' },
  },
});
const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));
const time = (): string => new Date().toISOString().slice(11, 23);

/** The page's script: page.ts and everything it imports (rxmux, rxmux/web, rxjs), bundled for the browser. */
async function bundlePage(): Promise<string> {
  const result = await build({
    entryPoints: [here('./page.ts')],
    bundle: true,
    write: false,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    sourcemap: 'inline',
    logLevel: 'silent',
  });
  return result.outputFiles[0]!.text;
}

async function main(): Promise<void> {
  const [script, html, css] = await Promise.all([
    bundlePage(),
    readFile(here('./page.html'), 'utf8'),
    readFile(here('./page.css'), 'utf8'),
  ]);
  const files = makeFiles();
  for (const [name, file] of files) console.log(`Dashboard: offering ${name} (${file.bytes.byteLength} bytes, sha256 ${file.sha256})`);
  const events = new Subject<string>();

  const assets: Record<string, { type: string; body: string }> = {
    '/': { type: 'text/html; charset=utf-8', body: html },
    '/page.js': { type: 'text/javascript; charset=utf-8', body: script },
    '/page.css': { type: 'text/css; charset=utf-8', body: css },
  };
  const http = createServer((req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/kill-socket') {
      killSockets(req, res);
      return;
    }
    if (path === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    const asset = assets[path];
    if (!asset || req.method !== 'GET') {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': asset.type, 'cache-control': 'no-store' }).end(asset.body);
  });

  // One session per page: websocketSessions() emits a session for each new WebSocket and routes a socket that
  // resumes (the page reconnecting after a lost one) to its suspended session; serveSession feeds each meanwhile.
  const wss = new WebSocketServer({ server: http, path: '/mux' });
  const sessions = new Set<Session>();
  let pages = 0;
  let stopping = false;
  wss.on('connection', (ws) => {
    if (stopping) ws.close(1001, 'server stopping');
  });
  const page = (n: number, what: string): void => {
    console.log(`Dashboard: page ${n} ${what}`);
    events.next(`${time()} [page ${n}] ${what}`);
  };
  // shutdownTimeout: a graceful close waits at most 1 s for queued bytes (a paused reader may never take them).
  // resume: a lost WebSocket suspends the session for up to 30 s (the default timeout) instead of failing it.
  const served = websocketSessions(wss, { shutdownTimeout: 1000, resume: true })
    .pipe(
      mergeMap((session) => {
        const n = ++pages;
        sessions.add(session);
        page(n, 'connected');
        // After `connected`: `suspended` when its WebSocket is lost, `resumed` when the page's new one took over.
        session.state$.pipe(skip(1)).subscribe((state) => {
          if (state === 'suspended') page(n, 'suspended: WebSocket lost');
          else if (state === 'resumed') page(n, `resumed on a new WebSocket (resumption ${session.stats().resumptions})`);
        });
        session.closed$.subscribe(({ error }) => {
          sessions.delete(session);
          console.log(`Dashboard: page ${n} session ${error ? `ended: ${error.message}` : 'closed'}`);
          events.next(`${time()} [page ${n}] ${error ? `session failed: ${error.code}` : 'session closed'}`);
        });
        return serveSession(session, n, { interval: Number(values.interval), files, events });
      }),
    )
    .subscribe();

  /**
   * `POST /kill-socket`: terminates every page's WebSocket (ws.terminate(): the TCP connection is destroyed, no close
   * frame), as a dropped network would. Answers `{"killed":<sockets>}`. Refused from another origin (403), for any
   * other method (405) and while stopping (503).
   */
  function killSockets(req: IncomingMessage, res: ServerResponse): void {
    const origin = req.headers.origin;
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    if (origin !== undefined && origin !== `http://${req.headers.host}`) {
      res.writeHead(403).end();
      return;
    }
    if (stopping) {
      res.writeHead(503).end();
      return;
    }
    const killed = [...wss.clients];
    for (const ws of killed) ws.terminate();
    console.log(`Dashboard: killed ${killed.length} WebSocket(s)`);
    events.next(`${time()} [server] POST /kill-socket: terminated ${killed.length} WebSocket(s)`);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ killed: killed.length }));
  }

  http.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
  await new Promise((resolve) => http.once('listening', resolve));
  const { port } = http.address() as AddressInfo;
  console.log(`Dashboard: http://127.0.0.1:${port}/`);

  const stop = async (why: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    clearTimeout(exitTimer);
    console.log(`Dashboard: stopping (${why})`);
    // Graceful close of every session: queued bytes, FIN on each channel, GoAway, then the WebSocket closes.
    await Promise.all([...sessions].map((s) => s.close()));
    served.unsubscribe(); // takes no more WebSockets
    // Each WebSocket is closing (code 1000): give the pages a second to answer, then cut the stragglers.
    await Promise.all(
      [...wss.clients].map(
        (ws) =>
          new Promise<void>((resolve) => {
            if (ws.readyState === ws.CLOSED) return resolve();
            const cut = setTimeout(() => ws.terminate(), 1000);
            ws.once('close', () => {
              clearTimeout(cut);
              resolve();
            });
          }),
      ),
    );
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    http.closeAllConnections();
    await new Promise<void>((resolve) => http.close(() => resolve()));
    events.complete();
    console.log('Dashboard: stopped');
  };
  const exitAfter = values['exit-after'] === undefined ? undefined : Number(values['exit-after']) * 1000;
  const exitTimer = exitAfter === undefined ? undefined : setTimeout(() => void stop(`--exit-after ${values['exit-after']}`), exitAfter);
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((e: Error) => {
  console.error(`Dashboard: ${e.message}`);
  process.exitCode = 1;
});
