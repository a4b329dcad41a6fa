/**
 * What the dashboard server does with one page's session: opens the metric, log and stats channels, and answers
 * the page's download requests. See protocol.ts for the channels.
 */
import { createHash } from 'node:crypto';
import { catchError, EMPTY, filter, interval, map, merge, mergeMap, Observable, switchMap, takeUntil, tap, type Subject } from 'rxjs';
import { jsonMessages, utf8, type ByteSource, type IncomingChannel, type Session } from '../../src/index.js';
import { mulberry32 } from '../../src/testing.js';
import { cpuSampler, memorySampler, ratesSampler } from './metrics.js';
import { DOWNLOADS, type DownloadInfo, type MetricSnapshot, type ServerStats } from './protocol.js';

export interface ServeOptions {
  /** Metric sampling interval, in ms. */
  readonly interval: number;
  /** Files offered for download, by name. */
  readonly files: ReadonlyMap<string, DownloadFile>;
  /** Server events, copied to every page's log tail. */
  readonly events: Subject<string>;
}

export interface DownloadFile {
  readonly bytes: Uint8Array;
  readonly sha256: string;
}

const time = (): string => new Date().toISOString().slice(11, 23);

/** The downloadable files of protocol.ts, generated from a seed (the same bytes on every start). */
export function makeFiles(): Map<string, DownloadFile> {
  const files = new Map<string, DownloadFile>();
  for (const { name, size } of DOWNLOADS) {
    const random = mulberry32(size);
    const bytes = new Uint8Array(size);
    const words = new Uint32Array(bytes.buffer);
    for (let i = 0; i < words.length; i++) words[i] = (random() * 0x1_0000_0000) >>> 0;
    files.set(name, { bytes, sha256: createHash('sha256').update(bytes).digest('hex') });
  }
  return files;
}

/**
 * Opens a channel with `meta` and sends `source` on it until the session ends. Metrics, logs and stats are
 * push-only sources: with the `sliding` strategy a stalled reader costs at most the high-water mark of queued
 * bytes on the server (the oldest messages are dropped), and the page's credit stops the rest.
 */
function stream(session: Session, meta: string, source: Observable<Uint8Array | string>): Observable<never> {
  return session.open({ meta }).pipe(
    switchMap((channel) => channel.send(source, { overflow: 'sliding' })),
    // The session closing ends these channels; nothing else to report.
    catchError(() => EMPTY),
  );
}

/** Synthetic access-log lines (seeded), a few per second, to give the log tail something to show. */
function accessLog(seed: number): Observable<string> {
  const random = mulberry32(seed);
  const paths = ['/api/orders', '/api/users', '/api/search?q=yamux', '/static/app.js', '/api/metrics', '/healthz'];
  const methods = ['GET', 'GET', 'GET', 'POST', 'PUT', 'DELETE'];
  return interval(120).pipe(
    filter(() => random() < 0.6),
    map(() => {
      const status = random() < 0.9 ? 200 : random() < 0.5 ? 404 : 500;
      const path = paths[Math.floor(random() * paths.length)]!;
      const id = path.startsWith('/api/orders') || path.startsWith('/api/users') ? `/${Math.floor(random() * 9000 + 1000)}` : '';
      const method = methods[Math.floor(random() * methods.length)]!;
      return `${time()} ${method.padEnd(6)} ${path}${id} ${status} ${Math.floor(random() * 80 + 2)}ms`;
    }),
  );
}

function serverStats(session: Session): ServerStats {
  const s = session.stats();
  return {
    t: Date.now(),
    session: {
      bytesIn: s.bytesIn,
      bytesOut: s.bytesOut,
      framesIn: s.framesIn,
      framesOut: s.framesOut,
      rtt: s.rtt,
      openChannels: s.openChannels,
    },
    channels: session.channels().map((ch) => {
      const c = ch.stats();
      return { id: c.id, meta: utf8(ch.meta), bytesOut: c.bytesOut, bytesIn: c.bytesIn, credit: c.credit, queuedOut: c.queuedOut };
    }),
  };
}

/** Answers `download:<name>`: reply metadata with size and SHA-256, then the bytes (pulled as credit allows), then FIN. */
function download(request: IncomingChannel, options: ServeOptions, sessionNo: number): Observable<never> {
  const meta = utf8(request.meta);
  if (!meta.startsWith('download:')) {
    request.reject('unknown request', 400);
    return EMPTY;
  }
  const name = meta.slice('download:'.length);
  const file = options.files.get(name);
  if (!file) {
    options.events.next(`${time()} [page ${sessionNo}] download ${name} refused: no such file`);
    request.reject(`no such file: ${name}`, 404);
    return EMPTY;
  }
  const info: DownloadInfo = { name, size: file.bytes.byteLength, sha256: file.sha256 };
  const channel = request.accept({ meta: JSON.stringify(info) });
  const started = performance.now();
  options.events.next(`${time()} [page ${sessionNo}] download ${name} started (${info.size} bytes) on channel ${channel.id}`);
  channel.closed$.subscribe(({ error }) => {
    const ms = Math.round(performance.now() - started);
    options.events.next(
      `${time()} [page ${sessionNo}] download ${name} ${error ? `failed: ${error.code}` : `done: ${channel.stats().bytesOut} bytes in ${ms} ms`}`,
    );
  });
  function* chunks(): Generator<Uint8Array> {
    for (let at = 0; at < file!.bytes.byteLength; at += 64 * 1024) yield file!.bytes.subarray(at, at + 64 * 1024);
  }
  const source: ByteSource = chunks();
  return channel.send(source).pipe(catchError(() => EMPTY));
}

/** Everything one page's session gets, for as long as it lives. Unsubscribing stops the sources. */
export function serveSession(session: Session, sessionNo: number, options: ServeOptions): Observable<never> {
  return new Observable<never>((subscriber) => {
    const json = jsonMessages<MetricSnapshot | ServerStats>();
    const every = (sample: () => MetricSnapshot): Observable<Uint8Array> => interval(options.interval).pipe(map(sample), json.encode);
    const rates = ratesSampler(session);
    const logs = merge(options.events, accessLog(sessionNo)).pipe(map((line) => `${line}\n`));
    const sub = merge(
      stream(session, 'metrics:cpu', every(cpuSampler())),
      stream(session, 'metrics:memory', every(memorySampler())),
      stream(session, 'metrics:rates', every(rates.sample)),
      stream(session, 'logs', logs),
      stream(
        session,
        'stats:server',
        interval(250).pipe(
          map(() => serverStats(session)),
          json.encode,
        ),
      ),
      session.incoming$.pipe(mergeMap((request) => download(request, options, sessionNo))),
    )
      .pipe(
        tap({ error: (e: Error) => options.events.next(`${time()} [page ${sessionNo}] ${e.message}`) }),
        catchError(() => EMPTY),
        // Ends with the session, not at the sources' next tick.
        takeUntil(session.closed$),
      )
      .subscribe(subscriber);
    return () => {
      sub.unsubscribe();
      rates.stop();
    };
  });
}
