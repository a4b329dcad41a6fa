/**
 * The demo's output: a live per-channel view (redrawn in place on a terminal, plain lines otherwise)
 * and the final summary.
 */
import { describePercentile, judgeChatLatency, nearestRank } from './latency.js';
import type { Session } from '../../src/index.js';
import { human, MiB, now, short } from './data.js';
import type { Flow } from './flows.js';

const ESC = '\x1b[';
const ANSI = /\x1b\[[0-9;?]*[A-Za-z]/g;

export interface Styles {
  bold(s: string): string;
  dim(s: string): string;
  green(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
}

function styles(color: boolean): Styles {
  const wrap = (code: string) => (s: string) => (color ? `${ESC}${code}m${s}${ESC}0m` : s);
  return { bold: wrap('1'), dim: wrap('2'), green: wrap('32'), red: wrap('31'), yellow: wrap('33') };
}

function visible(s: string): number {
  return [...s.replace(ANSI, '')].length;
}

/** Pads (or cuts) to `width` visible characters; `right` aligns right. */
function pad(s: string, width: number, right = false): string {
  const n = visible(s);
  if (n > width) return `${[...s.replace(ANSI, '')].slice(0, Math.max(0, width - 1)).join('')}…`;
  const fill = ' '.repeat(width - n);
  return right ? fill + s : s + fill;
}

/** Cuts a line to `cols` visible characters (so a redraw never wraps), keeping escape sequences. */
function fitLine(line: string, cols: number): string {
  if (visible(line) <= cols) return line;
  let out = '';
  let count = 0;
  for (let i = 0; i < line.length; ) {
    const m = /^\x1b\[[0-9;?]*[A-Za-z]/.exec(line.slice(i));
    if (m) {
      out += m[0];
      i += m[0].length;
      continue;
    }
    const ch = String.fromCodePoint(line.codePointAt(i)!);
    if (count < cols - 1) out += ch;
    else if (count === cols - 1) out += '…';
    count++;
    i += ch.length;
  }
  return `${out}${ESC}0m`;
}

function bar(fraction: number, width: number): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.round(f * width);
  return '█'.repeat(full) + '░'.repeat(width - full);
}

function rate(bytesPerSecond: number): string {
  if (bytesPerSecond >= 10 * MiB) return `${(bytesPerSecond / MiB).toFixed(0)} MiB/s`;
  if (bytesPerSecond >= 0.1 * MiB) return `${(bytesPerSecond / MiB).toFixed(1)} MiB/s`;
  return `${(bytesPerSecond / 1024).toFixed(1)} KiB/s`;
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export interface ViewModel {
  readonly flows: readonly Flow[];
  readonly client: Session;
  readonly server: Session;
  readonly address: string;
  readonly startedAt: number;
  /** RTT samples (ms) of pings sent while the transfers run. */
  readonly pings: readonly number[];
}

/** Live progress: redrawn in place ~10×/s on a terminal; one plain line per active channel ~1×/s otherwise. */
export class LiveView {
  private timer: ReturnType<typeof setInterval> | undefined;
  private drawn = 0;
  private readonly events: string[] = [];
  private readonly samples = new Map<Flow, { t: number; bytes: number }[]>();
  private readonly s: Styles;

  constructor(
    private readonly model: ViewModel,
    private readonly out: NodeJS.WriteStream,
    readonly tty: boolean,
  ) {
    this.s = styles(tty);
  }

  private get elapsed(): string {
    return `${((now() - this.model.startedAt) / 1000).toFixed(1)}s`;
  }

  start(): void {
    if (this.tty) this.out.write(`${ESC}?25l`);
    let ticks = 0;
    this.timer = setInterval(() => {
      ticks++;
      for (const flow of this.model.flows) this.sample(flow);
      if (this.tty) this.redraw();
      else if (ticks % 10 === 0) this.plain();
    }, 100);
  }

  /** Something happened (an open, an accept, a finish). */
  event(text: string): void {
    const line = `[${this.elapsed.padStart(5)}] ${text}`;
    if (this.tty) {
      this.events.push(line);
      if (this.events.length > 8) this.events.shift();
    } else {
      this.out.write(`${line}\n`);
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty) {
      this.redraw();
      this.out.write(`${ESC}?25h`);
    }
  }

  /** Restores the cursor (for an interrupted run). */
  abort(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.tty) this.out.write(`${ESC}?25h\n`);
  }

  /** Bytes (or messages, for chat) done so far. */
  private progress(flow: Flow): number {
    return flow.kind === 'chat' ? flow.echoed : flow.recvBytes;
  }

  /** Records a flow's progress (10×/s). */
  private sample(flow: Flow): void {
    const t = now();
    const list = this.samples.get(flow) ?? [];
    list.push({ t, bytes: flow.recvBytes });
    while (list.length > 2 && t - list[0]!.t > 1000) list.shift();
    this.samples.set(flow, list);
  }

  /** Bytes per second over about the last second (the average once the flow is done). */
  private speed(flow: Flow): number {
    if (flow.finishedAt > 0) return flow.recvBytes / flow.seconds;
    const list = this.samples.get(flow);
    if (!list || list.length < 2) return 0;
    const first = list[0]!;
    const last = list[list.length - 1]!;
    return last.t > first.t ? ((last.bytes - first.bytes) * 1000) / (last.t - first.t) : 0;
  }

  private row(flow: Flow): string {
    const s = this.s;
    const done = this.progress(flow);
    const sender = flow.sender?.stats();
    const receiver = flow.receiver?.stats();
    let progress: string;
    let amount: string;
    let speed: string;
    if (flow.kind === 'refused') {
      progress = flow.status === 'rejected' ? s.yellow(pad('rejected', 15)) : pad(flow.status, 15);
      amount = '';
      speed = '';
    } else if (flow.kind === 'metrics') {
      progress = pad(flow.status === 'done' ? 'ended' : 'streaming…', 15);
      amount = `${flow.lines} lines`;
      speed = rate(this.speed(flow));
    } else if (flow.kind === 'chat') {
      progress = `${bar(done / flow.total, 10)} ${`${Math.floor((100 * done) / flow.total)}%`.padStart(4)}`;
      amount = `${done}/${flow.total} msgs`;
      const last = flow.latencies[flow.latencies.length - 1];
      speed = last === undefined ? '' : `echo ${last.toFixed(0)} ms`;
    } else {
      progress = `${bar(done / flow.total, 10)} ${`${Math.floor((100 * done) / flow.total)}%`.padStart(4)}`;
      amount = `${(done / MiB).toFixed(1)}/${(flow.total / MiB).toFixed(1)} MiB`;
      speed = rate(this.speed(flow));
    }
    const mark = flow.status === 'failed' ? s.red('✗') : flow.verified ? s.green('✓') : flow.finishedAt > 0 ? '…' : ' ';
    const live = flow.kind !== 'refused' && flow.status !== 'opening';
    const cells = [
      pad(String(flow.id || ''), 3, true),
      pad(flow.meta, 21),
      pad(flow.dir, 3),
      pad(progress, 15),
      pad(amount, 13, true),
      pad(speed, 10, true),
      pad(live && sender ? short(sender.credit) : '', 6, true),
      pad(live && receiver ? short(receiver.receiveWindow) : '', 5, true),
      pad(live && receiver ? short(receiver.bufferedIn) : '', 5, true),
      pad(live && sender ? short(sender.queuedOut) : '', 5, true),
      mark,
    ];
    const line = cells.join(' ');
    return flow.status === 'done' && flow.verified ? s.dim(line.slice(0, -mark.length)) + mark : line;
  }

  private header(): string {
    return this.s.bold(
      [
        pad('id', 3, true),
        pad('channel', 21),
        pad('dir', 3),
        pad('progress', 15),
        pad('done', 13, true),
        pad('rate', 10, true),
        pad('credit', 6, true),
        pad('rwin', 5, true),
        pad('bufIn', 5, true),
        pad('queue', 5, true),
      ].join(' '),
    );
  }

  private sessionLine(name: string, session: Session): string {
    const st = session.stats();
    return `${name} out ${human(st.bytesOut)}, in ${human(st.bytesIn)}, frames ${st.framesOut} out / ${st.framesIn} in, ${st.openChannels} channels, rtt ${st.rtt < 0 ? '–' : `${st.rtt} ms`}`;
  }

  private redraw(): void {
    const m = this.model;
    const lines = [
      this.s.bold(`rxmux demo: ${m.flows.length} channels over one TCP connection (${m.address}), t=${this.elapsed}`),
      this.header(),
      ...m.flows.map((f) => this.row(f)),
      this.s.dim('credit: sender may still send · rwin: receive window · bufIn: received, unread · queue: not yet sent'),
      this.sessionLine('client', m.client),
      this.sessionLine('server', m.server),
      ...this.events.map((e) => this.s.dim(e)),
    ];
    const cols = this.out.columns || 120;
    let text = this.drawn > 0 ? `${ESC}${this.drawn}F` : '';
    for (const line of lines) text += `${ESC}2K${fitLine(line, cols)}\n`;
    text += `${ESC}J`;
    this.out.write(text);
    this.drawn = lines.length;
  }

  private plain(): void {
    const t = this.elapsed.padStart(5);
    for (const flow of this.model.flows) {
      if (flow.kind === 'refused' || flow.status !== 'running') continue;
      const sender = flow.sender?.stats();
      const receiver = flow.receiver?.stats();
      let what: string;
      if (flow.kind === 'chat') {
        what = `${flow.echoed}/${flow.total} msgs echoed`;
      } else if (flow.kind === 'metrics') {
        what = `${flow.lines} lines, ${rate(this.speed(flow))}`;
      } else {
        what = `${(flow.recvBytes / MiB).toFixed(1)}/${(flow.total / MiB).toFixed(1)} MiB ${String(Math.floor((100 * flow.recvBytes) / flow.total)).padStart(3)}% ${rate(this.speed(flow)).padStart(10)}`;
      }
      const st =
        sender && receiver
          ? ` credit ${short(sender.credit)} rwin ${short(receiver.receiveWindow)} bufIn ${short(receiver.bufferedIn)} queued ${short(sender.queuedOut)}`
          : '';
      this.out.write(`[${t}] ${pad(flow.meta, 21)} ${flow.dir} ${what}${st}\n`);
    }
    this.out.write(`[${t}] ${this.sessionLine('client', this.model.client)}\n`);
    this.out.write(`[${t}] ${this.sessionLine('server', this.model.server)}\n`);
  }
}

/** Final table and notes. Returns the text (plain unless `color`). */
export function summary(model: ViewModel, finalRtt: number | undefined, color: boolean): string {
  const s = styles(color);
  const lines: string[] = [];
  const head = [
    pad('id', 3, true),
    pad('channel', 21),
    pad('dir', 3),
    pad('opened by', 9),
    pad('bytes', 12, true),
    pad('seconds', 7, true),
    pad('MiB/s', 7, true),
    ' sha256',
  ];
  lines.push('', s.bold('Summary'), s.bold(head.join(' ')));
  for (const f of model.flows) {
    const ok = f.verified;
    let check: string;
    if (f.kind === 'refused') {
      check = ok ? `${s.green('✓')} rejected as expected: ${f.error}` : `${s.red('✗')} expected a rejection, got ${f.status} ${f.error}`;
    } else if (ok) {
      check = `${s.green('✓')} verified ${f.sendDigest.slice(0, 12)}…${f.kind === 'chat' ? ' (sent = received = echoed back)' : ' (sender = receiver = receipt)'}`;
    } else {
      const d = (x: string): string => x.slice(0, 12) || '–';
      check =
        f.status === 'done'
          ? `${s.red('✗')} MISMATCH: sender ${d(f.sendDigest)}, receiver ${d(f.recvDigest)}, ${f.kind === 'chat' ? `echo ${d(f.echoRecvDigest)}` : `receipt ${d(f.receiptDigest)}`}`
          : `${s.red('✗')} ${f.status}${f.error ? `: ${f.error}` : ''}`;
    }
    const bytes = f.kind === 'refused' ? 0 : f.kind === 'chat' ? f.sentBytes + f.recvBytes : f.recvBytes;
    const secs = f.finishedAt > 0 ? f.seconds : Number.NaN;
    lines.push(
      [
        pad(String(f.id || '–'), 3, true),
        pad(f.meta, 21),
        pad(f.dir, 3),
        pad(f.openedBy, 9),
        pad(f.kind === 'refused' ? '–' : bytes.toLocaleString('en-US'), 12, true),
        pad(Number.isNaN(secs) ? '–' : secs.toFixed(2), 7, true),
        pad(Number.isNaN(secs) ? '–' : bytes / MiB / secs < 0.1 ? '<0.1' : (bytes / MiB / secs).toFixed(1), 7, true),
        ` ${check}`,
      ].join(' '),
    );
  }

  lines.push('', s.bold('What happened'));
  const slow = model.flows.find((f) => f.meta.startsWith('slow-reader'));
  const fast = model.flows.filter((f) => f.kind === 'bulk' && f !== slow && f.finishedAt > 0);
  if (slow && fast.length > 0) {
    const lastFast = Math.max(...fast.map((f) => f.finishedAt));
    const fastSecs = (lastFast - model.startedAt) / 1000;
    const slowSecs = ((slow.finishedAt || now()) - model.startedAt) / 1000;
    const slowShare = slow.total > 0 ? Math.round((100 * progressAt(slow, lastFast)) / slow.total) : 0;
    const noHol = fastSecs < slowSecs;
    const speeds = fast.map((f) => f.recvBytes / MiB / f.seconds);
    lines.push(
      `  ${noHol ? s.green('✓') : s.yellow('!')} no head-of-line blocking: ${fast.map((f) => f.meta.split(' ')[0]).join(', ')} finished by t=${fastSecs.toFixed(2)}s` +
        ` (${Math.min(...speeds).toFixed(0)}-${Math.max(...speeds).toFixed(0)} MiB/s each),`,
      `    while slow-reader, on the same connection, was ${slowShare < 100 ? `at ${slowShare}%` : 'already done'} (it finished at t=${slowSecs.toFixed(2)}s)`,
    );
    const bounded = slow.maxBufferedIn <= slow.maxReceiveWindow && slow.maxReceiveWindow > 0;
    lines.push(
      `  ${bounded ? s.green('✓') : s.red('✗')} slow-reader back-pressure: the sender's credit fell to 0 ${slow.creditZeros}× (it waited for the reader);`,
      `    the reader never held more than ${human(slow.maxBufferedIn)} unread (its window: ${human(slow.maxReceiveWindow)})`,
    );
  }
  const chat = model.flows.find((f) => f.kind === 'chat');
  if (chat && chat.latencies.length > 0) {
    const verdict = judgeChatLatency(chat.latencies);
    const mark = (r: string): string => (r === 'met' ? s.green('✓') : r === 'far' ? s.red('✗') : r === 'missed' ? s.yellow('!') : '•');
    lines.push(
      `  ${verdict.farMiss ? s.red('✗') : '•'} chat echo round trip under load: p50 ${nearestRank(chat.latencies, 50).toFixed(2)} ms, p99 ${nearestRank(chat.latencies, 99).toFixed(2)} ms,` +
        ` max ${Math.max(...chat.latencies).toFixed(1)} ms over ${chat.latencies.length} messages`,
      ...verdict.percentiles.map((p) => `    ${mark(p.result)} ${describePercentile(p, verdict.samples)}`),
    );
  }
  const metrics = model.flows.find((f) => f.kind === 'metrics');
  if (metrics) lines.push(`  • metrics: ${metrics.lines} JSON lines of server counters pushed by the server while the transfers ran`);

  lines.push('', s.bold('Session totals'));
  for (const [name, session] of [
    ['client', model.client],
    ['server', model.server],
  ] as const) {
    const st = session.stats();
    lines.push(
      `  ${name}: bytes out ${st.bytesOut.toLocaleString('en-US')} (${human(st.bytesOut)}), in ${st.bytesIn.toLocaleString('en-US')} (${human(st.bytesIn)}),` +
        ` frames out ${st.framesOut.toLocaleString('en-US')}, in ${st.framesIn.toLocaleString('en-US')}; opened ${st.openedLocal}, accepted/refused ${st.openedRemote - st.refusedOpens}/${st.refusedOpens}`,
    );
  }
  const pings = model.pings;
  lines.push(
    `  rtt (session.ping, client→server): ${finalRtt === undefined ? 'n/a' : `${finalRtt} ms idle`}` +
      (pings.length > 0
        ? `; while the transfers ran: median ${percentile(pings, 50)} ms, max ${Math.max(...pings)} ms (${pings.length} pings)`
        : ''),
  );
  return lines.join('\n');
}

/** Bytes a flow had received at time `t`, from the progress log its receiver kept. */
function progressAt(flow: Flow, t: number): number {
  let best = 0;
  for (const p of flow.progressLog) if (p.t <= t) best = p.bytes;
  return best;
}
