/**
 * What each demo channel does, on each end. A {@link Flow} is the demo's record of one channel
 * (both ends live in this process, so the record holds the sender's and the receiver's view).
 */
import { createHash } from 'node:crypto';
import type { Observable } from 'rxjs';
import { isMuxError, type Channel, type Session } from '../../src/index.js';
import { KiB, now, seededChunks, sleep } from './data.js';

export type Direction = 'c→s' | 's→c' | 'c↔s';
export type FlowKind = 'bulk' | 'chat' | 'metrics' | 'refused';
export type FlowStatus = 'opening' | 'running' | 'done' | 'failed' | 'rejected';

/** One demo channel, as both ends see it. */
export class Flow {
  id = 0;
  status: FlowStatus = 'opening';
  /** The end that writes the payload, and the end that reads it (for chat: the client and the echoing server). */
  sender: Channel | undefined;
  receiver: Channel | undefined;
  /** The acceptor's reply metadata. */
  reply = '';
  error = '';

  /** Payload bytes handed to the channel by the sender / hashed by the receiver. */
  sentBytes = 0;
  recvBytes = 0;
  sendDigest = '';
  recvDigest = '';
  /** What the receiver reported back over the same channel after the sender's FIN ("sha256=… bytes=…"). */
  receiptDigest = '';
  receiptBytes = -1;

  /** Times in ms (performance.now()): open requested, receiver saw the last byte. */
  startedAt = 0;
  finishedAt = 0;

  /** Back-pressure observations: times the sender's credit fell to 0; most bytes the receiver held unread. */
  creditZeros = 0;
  maxBufferedIn = 0;
  maxReceiveWindow = 0;

  /** Chat: messages sent, echoes received and their round-trip latencies (ms); the echo direction's digests. */
  messages = 0;
  echoed = 0;
  readonly latencies: number[] = [];
  echoSendDigest = '';
  echoRecvDigest = '';

  /** The slow reader's progress over time (ms, bytes received). */
  readonly progressLog: { t: number; bytes: number }[] = [];

  /** Metrics: JSON lines received. */
  lines = 0;

  constructor(
    readonly meta: string,
    readonly kind: FlowKind,
    readonly dir: Direction,
    readonly openedBy: 'client' | 'server',
    /** Payload bytes expected (bulk), messages expected (chat), 0 when open-ended (metrics). */
    readonly total: number,
  ) {}

  /** True once this flow did what it should, with every checksum matching. */
  get verified(): boolean {
    switch (this.kind) {
      case 'refused':
        return this.status === 'rejected';
      case 'chat':
        return (
          this.status === 'done' &&
          this.echoed === this.messages &&
          this.sendDigest !== '' &&
          this.sendDigest === this.recvDigest &&
          this.recvDigest === this.echoSendDigest &&
          this.echoSendDigest === this.echoRecvDigest
        );
      default:
        return (
          this.status === 'done' &&
          this.sendDigest !== '' &&
          this.sendDigest === this.recvDigest &&
          this.receiptDigest === this.sendDigest &&
          this.receiptBytes === this.sentBytes &&
          this.recvBytes === this.sentBytes &&
          (this.total === 0 || this.recvBytes === this.total)
        );
    }
  }

  /** Seconds from the open request to the receiver's last byte. */
  get seconds(): number {
    return ((this.finishedAt || now()) - this.startedAt) / 1000;
  }

  fail(e: unknown): void {
    if (this.status === 'failed') return;
    this.status = 'failed';
    this.error = isMuxError(e) ? `${e.code}: ${e.message}` : e instanceof Error ? e.message : String(e);
  }
}

/** Resolves when an Observable completes (rejects on error). For `channel.send(...)`, which emits nothing. */
export function completion(source: Observable<unknown>): Promise<void> {
  return new Promise((resolve, reject) => source.subscribe({ error: reject, complete: () => resolve() }));
}

/** Reads a channel's inbound bytes until the peer's FIN, as text. */
export function readText(ch: Channel): Promise<string> {
  const decoder = new TextDecoder();
  let text = '';
  return new Promise((resolve, reject) =>
    ch.incoming$.subscribe({
      next: (chunk) => (text += decoder.decode(chunk, { stream: true })),
      error: reject,
      complete: () => resolve(text + decoder.decode()),
    }),
  );
}

/** Counts the times a channel's credit falls to 0 (the peer's window is used up: the sender must wait). */
function watchCredit(ch: Channel, flow: Flow): void {
  let last = -1;
  ch.credit$.subscribe((credit) => {
    if (credit === 0 && last !== 0) flow.creditZeros++;
    last = credit;
  });
}

/** The receiver's answer once it has everything: its own sha256 and byte count, sent back on the same channel. */
function receipt(digest: string, bytes: number): string {
  return `sha256=${digest} bytes=${bytes}\n`;
}

async function takeReceipt(ch: Channel, flow: Flow): Promise<void> {
  const text = await readText(ch);
  const m = /^sha256=([0-9a-f]{64}) bytes=(\d+)\n$/.exec(text);
  if (!m) throw new Error(`bad receipt ${JSON.stringify(text)}`);
  flow.receiptDigest = m[1]!;
  flow.receiptBytes = Number(m[2]);
}

/**
 * Sender of a bulk transfer: streams `flow.total` seeded bytes with `send()` (a pull source: the generator is
 * pulled only while the channel's queue is under its high-water mark), closes its write side, then reads the
 * receiver's receipt.
 */
export async function sendBulk(ch: Channel, flow: Flow, seed: number): Promise<void> {
  flow.sender = ch;
  watchCredit(ch, flow);
  const hash = createHash('sha256');
  try {
    await completion(
      ch.send(
        seededChunks(seed, flow.total, 64 * KiB, (chunk) => {
          hash.update(chunk);
          flow.sentBytes += chunk.byteLength;
        }),
      ),
    );
    flow.sendDigest = hash.digest('hex');
    await takeReceipt(ch, flow);
    if (flow.status === 'running') flow.status = 'done';
  } catch (e) {
    flow.fail(e);
  }
}

export interface ReceiveOptions {
  /** The slow reader: after each chunk, pause for as long as `rate` bytes per second allows (so at most that rate). */
  rate?: number;
  /** Sees each chunk after it is hashed. */
  onChunk?: (chunk: Uint8Array) => void;
}

/**
 * Receiver of a bulk transfer: hashes every byte until the sender's FIN, then writes its receipt back and
 * closes its own write side. Fast receivers subscribe to `incoming$`; the slow one pulls with `for await` and
 * sleeps between reads, so unread bytes pile up in the channel, bounded by its receive window.
 */
export async function receiveBulk(ch: Channel, flow: Flow, options: ReceiveOptions = {}): Promise<void> {
  flow.receiver = ch;
  const hash = createHash('sha256');
  const take = (chunk: Uint8Array): void => {
    hash.update(chunk);
    flow.recvBytes += chunk.byteLength;
    options.onChunk?.(chunk);
  };
  try {
    const rate = options.rate;
    if (rate !== undefined) {
      for await (const chunk of ch) {
        take(chunk);
        flow.progressLog.push({ t: now(), bytes: flow.recvBytes });
        // A fixed pause per chunk (no catching up after a stall): bytes pile up in the channel meanwhile.
        await sleep((chunk.byteLength / rate) * 1000);
        observeBuffer(ch, flow);
      }
    } else {
      await new Promise<void>((resolve, reject) => ch.incoming$.subscribe({ next: take, error: reject, complete: resolve }));
    }
    flow.finishedAt = now();
    flow.recvDigest = hash.digest('hex');
    await ch.write(receipt(flow.recvDigest, flow.recvBytes));
    ch.end();
  } catch (e) {
    flow.fail(e);
  }
}

/** Records the most bytes a receiver held unread, and its receive window then. */
export function observeBuffer(ch: Channel, flow: Flow): void {
  const s = ch.stats();
  flow.maxBufferedIn = Math.max(flow.maxBufferedIn, s.bufferedIn);
  flow.maxReceiveWindow = Math.max(flow.maxReceiveWindow, s.receiveWindow);
}

/**
 * Chat, client end: one short line every `intervalMs`, while the bulk transfers run; each echo's round trip
 * is timed. Closes its write side after the last line and waits for the server to close its side.
 */
export async function chatClient(ch: Channel, flow: Flow, count: number, intervalMs: number): Promise<void> {
  flow.sender = ch;
  const sentHash = createHash('sha256');
  const echoHash = createHash('sha256');
  const sentAt = new Map<number, number>();
  const decoder = new TextDecoder();
  let pending = '';
  const echoes = new Promise<void>((resolve, reject) =>
    ch.incoming$.subscribe({
      next: (chunk) => {
        echoHash.update(chunk);
        pending += decoder.decode(chunk, { stream: true });
        let nl: number;
        while ((nl = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, nl);
          pending = pending.slice(nl + 1);
          const n = Number(/^#(\d+) /.exec(line)?.[1]);
          const t = sentAt.get(n);
          if (t !== undefined) {
            flow.latencies.push(now() - t);
            sentAt.delete(n);
            flow.echoed++;
          }
        }
      },
      error: reject,
      complete: resolve,
    }),
  );
  try {
    for (let i = 1; i <= count; i++) {
      const bytes = Buffer.from(`#${i} hello from the client, line ${i} of ${count}\n`);
      sentHash.update(bytes);
      flow.sentBytes += bytes.byteLength;
      flow.messages++;
      sentAt.set(i, now());
      await ch.write(bytes);
      await sleep(intervalMs);
    }
    ch.end();
    flow.sendDigest = sentHash.digest('hex');
    await echoes;
    flow.echoRecvDigest = echoHash.digest('hex');
    flow.finishedAt = now();
    if (flow.status === 'running') flow.status = 'done';
  } catch (e) {
    flow.fail(e);
  }
}

/** Chat, server end: writes back every byte it receives; closes its side after the client's FIN. */
export function chatServer(ch: Channel, flow: Flow): void {
  flow.receiver = ch;
  const recvHash = createHash('sha256');
  const echoHash = createHash('sha256');
  ch.incoming$.subscribe({
    next: (chunk) => {
      // Copy: the chunk may be a view of the socket's buffer, and write() keeps a reference until it is sent.
      const copy = chunk.slice();
      recvHash.update(copy);
      echoHash.update(copy);
      flow.recvBytes += copy.byteLength;
      ch.write(copy).catch((e: unknown) => flow.fail(e));
    },
    error: (e: unknown) => flow.fail(e),
    complete: () => {
      flow.recvDigest = recvHash.digest('hex');
      flow.echoSendDigest = echoHash.digest('hex');
      ch.end();
    },
  });
}

/**
 * Metrics, server end: a JSON line of the server session's counters every `intervalMs` until `until`
 * settles, then FIN, then the client's receipt.
 */
export async function sendMetrics(ch: Channel, flow: Flow, session: Session, intervalMs: number, until: Promise<unknown>): Promise<void> {
  flow.sender = ch;
  const hash = createHash('sha256');
  let seq = 0;
  const tick = (): void => {
    const s = session.stats();
    const line = JSON.stringify({
      seq: ++seq,
      bytesIn: s.bytesIn,
      bytesOut: s.bytesOut,
      framesIn: s.framesIn,
      framesOut: s.framesOut,
      channels: s.openChannels,
      rtt: s.rtt,
    });
    const bytes = Buffer.from(`${line}\n`);
    hash.update(bytes);
    flow.sentBytes += bytes.byteLength;
    ch.write(bytes).catch((e: unknown) => flow.fail(e));
  };
  tick();
  const timer = setInterval(tick, intervalMs);
  try {
    await until;
  } finally {
    clearInterval(timer);
  }
  try {
    ch.end();
    flow.sendDigest = hash.digest('hex');
    await takeReceipt(ch, flow);
    if (flow.status === 'running') flow.status = 'done';
  } catch (e) {
    flow.fail(e);
  }
}

/** Metrics, client end: a bulk receiver that also counts lines. */
export function receiveMetrics(ch: Channel, flow: Flow): Promise<void> {
  return receiveBulk(ch, flow, {
    onChunk: (chunk) => {
      for (const byte of chunk) if (byte === 0x0a) flow.lines++;
    },
  });
}
