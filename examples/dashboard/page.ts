/**
 * The dashboard page (bundled for the browser by server.ts with esbuild). Plain DOM and RxJS.
 *
 * It connects one WebSocket to /mux and runs an rxmux client session over it. The server opens the metric, log
 * and stats channels (see protocol.ts); the page accepts them by metadata and renders each one as it arrives. The
 * page opens `download:<name>` channels itself. Each metric card has a "Pause reader" button: `channel.pause()`
 * stops delivering that channel's bytes, so no credit goes back to the server; once the server has used the
 * channel's window it stops sending on it, while every other channel keeps flowing.
 *
 * The session resumes (`resume` on both ends): when the WebSocket is lost (the server's `POST /kill-socket`, which
 * the "Kill the WebSocket" button posts, or a network drop), the session is suspended, not failed: channels stay
 * open, a download waits where it was. `resume.reconnect` opens a new WebSocket to the same URL, the session resumes
 * on it, and every channel goes on byte-exact. The status badge shows `session.state$`.
 */
import {
  catchError,
  concatWith,
  defer,
  EMPTY,
  exhaustMap,
  finalize,
  from,
  ignoreElements,
  interval,
  map,
  switchMap,
  takeUntil,
  tap,
} from 'rxjs';
import { jsonMessages, multiplex, utf8, utf8Lines, type Channel, type IncomingChannel, type Session } from '../../src/index.js';
import { websocketCarrier, type WebSocketLike } from '../../src/web.js';
import {
  DOWNLOADS,
  METRIC_FAMILIES,
  MISSING_DOWNLOAD,
  type DownloadInfo,
  type MetricFamily,
  type MetricSnapshot,
  type ServerStats,
} from './protocol.js';

const COLORS = ['#4fc3f7', '#66d19e', '#ffb454', '#c792ea'];
const el = <T extends HTMLElement = HTMLElement>(selector: string, root: ParentNode = document): T => root.querySelector(selector) as T;

function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(1)} MiB`;
}

/** Text for HTML (channel metadata comes from the peer). */
function esc(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

type Status = 'connecting' | 'connected' | 'suspended' | 'resumed' | 'closed' | 'failed';

/** The status badge: `data-state` is the state, `data-history` every state shown so far (space-separated). */
function setStatus(state: Status, text: string): void {
  const status = el('#status');
  status.dataset.state = state;
  status.dataset.history = status.dataset.history ? `${status.dataset.history} ${state}` : state;
  status.textContent = text;
}

/** The session's connection state on the badge; `data-resumptions` counts the resumes. */
function showState(session: Session): void {
  let lostAt = 0;
  session.state$.subscribe((state) => {
    const resumptions = session.stats().resumptions;
    el('#status').dataset.resumptions = String(resumptions);
    if (state === 'connected') setStatus('connected', 'connected · 1 WebSocket');
    else if (state === 'suspended') {
      lostAt = performance.now();
      setStatus('suspended', 'suspended · WebSocket lost, reconnecting…');
    } else if (state === 'resumed') {
      const gap = Math.round(performance.now() - lostAt);
      setStatus('resumed', `resumed · ${resumptions} resumption${resumptions === 1 ? '' : 's'} (last gap ${gap} ms)`);
    }
    // closed: the end of the session (clean or failed) is shown by its subscriber below.
  });
}

/** Readers the page paused, by channel id (shown in the table). */
const pausedReaders = new Set<number>();
/** The latest report on `stats:server`, by channel id. */
let serverView = new Map<number, ServerStats['channels'][number]>();

// ------------------------------------------------------------------------------------------------ metrics

function drawChart(canvas: HTMLCanvasElement, family: MetricFamily, snapshot: MetricSnapshot): void {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(canvas.clientWidth * dpr));
  const h = Math.max(1, Math.round(canvas.clientHeight * dpr));
  if (canvas.width !== w || canvas.height !== h) Object.assign(canvas, { width: w, height: h });
  const g = canvas.getContext('2d')!;
  g.clearRect(0, 0, w, h);
  // Shared: one axis for all lines. Each: every line against its own peak, so a burst on one does not flatten the others.
  const peak = (values: readonly number[]): number => Math.max(1e-9, ...values) * 1.15;
  const shared = peak(family.series.flatMap((s) => snapshot.history[s.name] ?? []));
  const topOf = (name: string): number => (family.scale === 'each' ? peak(snapshot.history[name] ?? []) : shared);
  g.strokeStyle = '#223041';
  g.lineWidth = 1;
  for (let i = 1; i < 4; i++) {
    g.beginPath();
    g.moveTo(0, (h * i) / 4);
    g.lineTo(w, (h * i) / 4);
    g.stroke();
  }
  family.series.forEach(({ name }, i) => {
    const points = snapshot.history[name] ?? [];
    g.strokeStyle = COLORS[i % COLORS.length]!;
    g.lineWidth = 1.6 * dpr;
    g.beginPath();
    const top = topOf(name);
    points.forEach((v, j) => {
      const x = w - (points.length - 1 - j) * (w / 159);
      const y = h - (v / top) * h;
      j === 0 ? g.moveTo(x, y) : g.lineTo(x, y);
    });
    g.stroke();
  });
  g.fillStyle = '#8294a8';
  g.font = `${11 * dpr}px system-ui, sans-serif`;
  const label =
    family.scale === 'each' ? 'each line scaled to its own peak' : `${shared.toFixed(shared < 10 ? 1 : 0)} ${family.series[0]!.unit}`;
  g.fillText(label, 4 * dpr, 12 * dpr);
  canvas.dataset.scale = family.scale;
  canvas.dataset.tops = family.series.map(({ name }) => topOf(name).toFixed(3)).join(' ');
}

/** A card for one `metrics:<family>` channel: a chart, the latest values, a message counter and a pause button. */
function metricCard(channel: Channel, family: MetricFamily): void {
  const card = el<HTMLTemplateElement>('#metric-card').content.firstElementChild!.cloneNode(true) as HTMLElement;
  card.dataset.family = family.id;
  card.dataset.channel = String(channel.id);
  el('.title', card).textContent = family.title;
  el('.meta', card).textContent = `${utf8(channel.meta)} · channel ${channel.id}`;
  const slot = [...el('#metrics').children].find(
    (c) => METRIC_FAMILIES.findIndex((f) => f.id === (c as HTMLElement).dataset.family) > METRIC_FAMILIES.indexOf(family),
  );
  el('#metrics').insertBefore(card, slot ?? null);
  const canvas = el<HTMLCanvasElement>('canvas', card);
  const legend = el('.legend', card);
  const note = el('.note', card);
  const button = el<HTMLButtonElement>('button.pause', card);
  let count = 0;
  let dropped = 0;
  let lastSeq = 0;
  let latest: MetricSnapshot | undefined;
  let drawPending = false;

  button.onclick = () => {
    const paused = card.dataset.paused !== 'true';
    card.dataset.paused = String(paused);
    button.textContent = paused ? 'Resume reader' : 'Pause reader';
    if (paused) {
      channel.pause(); // bytes wait in the channel (at most its window); no credit goes back to the server
      pausedReaders.add(channel.id);
      note.textContent = 'reader paused: no credit returned, the server stops at the window';
    } else {
      pausedReaders.delete(channel.id);
      channel.resume();
    }
  };

  channel.incoming$.pipe(jsonMessages<MetricSnapshot>().decode).subscribe({
    next: (snapshot) => {
      count++;
      if (lastSeq > 0 && snapshot.seq > lastSeq + 1) dropped += snapshot.seq - lastSeq - 1;
      lastSeq = snapshot.seq;
      latest = snapshot;
      card.dataset.count = String(count);
      el('.count', card).textContent = `${count} messages`;
      if (card.dataset.paused !== 'true') {
        note.textContent = dropped > 0 ? `${dropped} stale snapshots dropped by the server while paused (overflow: sliding)` : '';
      }
      if (!drawPending) {
        drawPending = true;
        requestAnimationFrame(() => {
          drawPending = false;
          if (!latest) return;
          drawChart(canvas, family, latest);
          legend.innerHTML = family.series
            .map(({ name, unit }, i) => {
              const peakText =
                family.scale === 'each' ? ` <small>(peak ${Math.max(0, ...(latest!.history[name] ?? [])).toFixed(1)})</small>` : '';
              return `<span><i style="background:${COLORS[i % COLORS.length]}"></i>${name} <b>${(latest!.latest[name] ?? 0).toFixed(1)}</b> ${unit}${peakText}</span>`;
            })
            .join('');
        });
      }
    },
    error: (e: Error) => (note.textContent = `channel failed: ${e.message}`),
    complete: () => (note.textContent = 'the server ended this channel'),
  });
}

// ------------------------------------------------------------------------------------------------ logs, server stats

function logTail(channel: Channel): void {
  const box = el('#logs');
  const pre = el('#log-lines');
  const lines: string[] = [];
  let count = 0;
  channel.incoming$.pipe(utf8Lines()).subscribe({
    next: (line) => {
      count++;
      lines.push(line);
      if (lines.length > 14) lines.shift();
      pre.textContent = lines.join('\n');
      box.dataset.count = String(count);
      el('.count', box).textContent = `${count} lines`;
    },
    error: (e: Error) => (pre.textContent += `\n[channel failed: ${e.message}]`),
  });
}

function serverStats(channel: Channel): void {
  let count = 0;
  const counter = el('#stats-count');
  channel.incoming$.pipe(jsonMessages<ServerStats>().decode).subscribe({
    next: (report) => {
      count++;
      serverView = new Map(report.channels.map((c) => [c.id, c]));
      counter.dataset.count = String(count);
      counter.textContent = `${count} server reports`;
    },
    error: () => (serverView = new Map()), // the session ended: the status line says how
  });
}

// ------------------------------------------------------------------------------------------------ the channel table

/** Bytes read by the page (received less still buffered) per channel at the previous render, for the read rate. */
const previous = new Map<number, { at: number; read: number }>();
/** Channels that have left the session (a finished download, say): their final row, kept for a while. */
const finished = new Map<number, string>();
/** The channels on the table at the previous render, by id. */
let shown = new Map<number, Channel>();
const FINISHED_KEPT = 6;

/** One table row. A channel that left the session shows its final counters, "finished", and a read rate of 0. */
function row(ch: Channel, now: number, done: boolean): string {
  const s = ch.stats();
  const read = s.bytesIn - s.bufferedIn; // what the page consumed: nothing while its reader is paused
  const before = previous.get(ch.id);
  const rate = done || !before ? 0 : Math.max(0, ((read - before.read) * 1000) / Math.max(now - before.at, 1));
  previous.set(ch.id, { at: now, read });
  const server = done ? undefined : serverView.get(ch.id);
  const paused = pausedReaders.has(ch.id);
  const cell = (cls: string, value: number | undefined, text = value === undefined ? '–' : bytes(value)): string =>
    `<td class="${cls}${value === 0 && cls === 'server-credit' ? ' zero' : ''}" data-value="${value ?? ''}">${text}</td>`;
  const state = done ? 'finished' : s.state;
  return `<tr data-id="${ch.id}" data-meta="${esc(utf8(ch.meta))}" data-paused="${paused}" data-state="${state}"${done ? ' class="finished"' : ''}>
      <td>${ch.id}</td><td><code>${esc(utf8(ch.meta))}</code></td><td>${ch.origin === 'local' ? 'page' : 'server'}</td><td class="state">${state}</td>
      ${cell('bytes-in', s.bytesIn)}${cell('bytes-out', s.bytesOut)}${cell('rate-in', Math.round(rate), `${bytes(Math.round(rate))}/s`)}
      ${cell('buffered', s.bufferedIn)}${cell('window', s.receiveWindow)}${cell('server-credit', server?.credit)}${cell('server-queued', server?.queuedOut)}
      <td class="${paused ? 'reader-paused' : ''}">${done ? '–' : paused ? 'paused' : 'reading'}</td></tr>`;
}

function renderTable(session: Session): void {
  const now = performance.now();
  const current = new Map(
    session
      .channels()
      .sort((a, b) => a.id - b.id)
      .map((ch) => [ch.id, ch] as const),
  );
  const rows = [...current.values()].map((ch) => row(ch, now, false));
  for (const [id, ch] of shown) {
    if (current.has(id) || finished.has(id)) continue;
    finished.set(id, row(ch, now, true));
    previous.delete(id);
    while (finished.size > FINISHED_KEPT) finished.delete(finished.keys().next().value!);
  }
  shown = current;
  el('#channels tbody').innerHTML = [...rows, ...[...finished.values()].reverse()].join('');
  const t = session.stats();
  el('#totals').textContent =
    `${t.openChannels} channels · in ${bytes(t.bytesIn)} (${t.framesIn} frames) · out ${bytes(t.bytesOut)} (${t.framesOut} frames) · rtt ${t.rtt < 0 ? '–' : `${t.rtt} ms`}${
      t.resumptions > 0 ? ` · ${t.resumptions}× resumed, ${bytes(t.replayedBytes)} replayed` : ''
    }`;
}

// ------------------------------------------------------------------------------------------------ downloads

function toHex(buffer: ArrayBuffer): string {
  return [...new Uint8Array(buffer)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function download(session: Session, name: string): void {
  const box = el('#download');
  const bar = el('#download-bar');
  const status = el('#download-status');
  const buttons = [...document.querySelectorAll<HTMLButtonElement>('#download-buttons button')];
  for (const b of buttons) b.disabled = true;
  box.dataset.state = 'opening';
  box.dataset.name = name;
  bar.style.width = '0';
  status.textContent = `opening download:${name}…`;
  el('#download-sha').textContent = '';
  const started = performance.now();
  // Suspensions during this download (the session resumes: the bytes go on where they stopped).
  let interruptions = 0;
  box.dataset.bytes = '0';
  box.dataset.interruptions = '0';
  delete box.dataset.bytesAtSuspend;
  const watch = session.state$.subscribe((state) => {
    if (state !== 'suspended') return;
    interruptions++;
    box.dataset.interruptions = String(interruptions);
    box.dataset.bytesAtSuspend ??= box.dataset.bytes ?? '0';
  });
  session
    .open({ meta: `download:${name}` })
    .pipe(
      switchMap((channel) => {
        channel.end(); // the page sends nothing on it
        const info = JSON.parse(utf8(channel.replyMeta)) as DownloadInfo;
        const data = new Uint8Array(info.size);
        let got = 0;
        box.dataset.state = 'running';
        let frame = 0;
        const show = (): void => {
          frame = 0;
          bar.style.width = `${((got / info.size) * 100).toFixed(1)}%`;
          box.dataset.bytes = String(got);
          status.textContent = `${bytes(got)} of ${bytes(info.size)} on channel ${channel.id}`;
        };
        return channel.incoming$.pipe(
          tap({
            next: (chunk) => {
              data.set(chunk, got);
              got += chunk.byteLength;
              frame ||= requestAnimationFrame(show); // the DOM at most once a frame
            },
            complete: () => {
              cancelAnimationFrame(frame);
              show();
            },
          }),
          ignoreElements(),
          concatWith(defer(() => from(crypto.subtle.digest('SHA-256', data)))),
          map((digest) => ({ info, got, actual: toHex(digest) })),
        );
      }),
      finalize(() => watch.unsubscribe()),
    )
    .subscribe({
      next: ({ info, got, actual }) => {
        const seconds = (performance.now() - started) / 1000;
        const ok = got === info.size && actual === info.sha256;
        box.dataset.state = ok ? 'verified' : 'mismatch';
        box.dataset.sha256 = actual;
        const across = interruptions === 0 ? '' : ` across ${interruptions} lost WebSocket${interruptions === 1 ? '' : 's'}`;
        status.textContent = ok
          ? `✓ ${info.name}: ${bytes(got)} in ${seconds.toFixed(2)} s (${bytes(got / seconds)}/s)${across}, SHA-256 verified`
          : `✗ ${info.name}: SHA-256 mismatch (${bytes(got)} received)`;
        el('#download-sha').textContent = `sha256 ${actual}`;
      },
      error: (e: Error & { code?: string }) => {
        box.dataset.state = 'error';
        status.textContent = `✗ ${e.code ?? 'error'}: ${e.message}`;
        for (const b of buttons) b.disabled = false;
      },
      complete: () => {
        for (const b of buttons) b.disabled = false;
      },
    });
}

// ------------------------------------------------------------------------------------------------ the session

function accept(request: IncomingChannel): void {
  const meta = utf8(request.meta);
  const family = METRIC_FAMILIES.find((f) => meta === `metrics:${f.id}`);
  const channel = family || meta === 'logs' || meta === 'stats:server' ? request.accept() : undefined;
  if (!channel) {
    request.reject(`this page does not know ${meta}`, 400);
    return;
  }
  channel.end(); // the page only reads these channels
  if (family) metricCard(channel, family);
  else if (meta === 'logs') logTail(channel);
  else serverStats(channel);
}

function run(session: Session): void {
  showState(session);
  session.incoming$.subscribe({ next: accept, error: () => undefined }); // a failed session shows in the status line
  interval(250)
    .pipe(takeUntil(session.closed$))
    .subscribe(() => renderTable(session));
  // A ping a second keeps the RTT in stats() fresh (one lost with a WebSocket fails alone; the next goes on the new one).
  interval(1000)
    .pipe(
      exhaustMap(() => session.ping(5000).pipe(catchError(() => EMPTY))),
      takeUntil(session.closed$),
    )
    .subscribe();
  // Asks the server to terminate this page's WebSocket (POST /kill-socket): the session suspends, then resumes.
  const kill = el<HTMLButtonElement>('#kill-socket');
  kill.disabled = false;
  kill.onclick = () => void fetch('/kill-socket', { method: 'POST' }).catch(() => undefined);
  session.closed$.subscribe(() => (kill.disabled = true));
  const buttons = el('#download-buttons');
  for (const { name } of DOWNLOADS) buttons.insertAdjacentHTML('beforeend', `<button type="button" data-file="${name}">${name}</button>`);
  buttons.insertAdjacentHTML(
    'beforeend',
    `<button type="button" data-file="${MISSING_DOWNLOAD}">${MISSING_DOWNLOAD} (not on the server)</button>`,
  );
  buttons.onclick = (event) => {
    const name = (event.target as HTMLElement).dataset.file;
    if (name) download(session, name);
  };
}

// (The cast: WebSocketLike.send takes Uint8Array<ArrayBufferLike>, which TypeScript's DOM WebSocket.send does not accept.)
const socket = (): WebSocketLike => new WebSocket(`ws://${location.host}/mux`) as WebSocketLike;
// resume: a lost WebSocket suspends the session; reconnect opens a new one to the same URL, right away and then
// 250 ms, 500 ms, ... (at most 2 s) apart, until the session resumes or 30 s (the default timeout) pass.
const resume = { reconnect: () => websocketCarrier(socket()), retryDelay: (attempt: number) => Math.min(250 * attempt, 2000) };
multiplex(websocketCarrier(socket()), { role: 'client', resume }).subscribe({
  next: run,
  error: (e: Error) => setStatus('failed', `session failed: ${e.message}`),
  complete: () => setStatus('closed', 'the server closed the session'),
});
