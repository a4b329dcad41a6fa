/**
 * Shared helpers for the yamux interop specs (go-yamux.spec.ts, libp2p-yamux.spec.ts):
 * real loopback TCP, a carrier wrapper that records every frame in both directions,
 * a strict plain-yamux check of what rxmux wrote, byte helpers (SHA-256, pattern
 * data) and a per-test resource list that afterEach disposes of.
 *
 * Everything here waits on events and promises: no sleeps, no polling.
 */
import { createHash } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { Observable, Subject } from 'rxjs';
import type { Carrier } from '../../src/carrier.js';
import type { Channel } from '../../src/channel/types.js';
import type { IncomingChannel } from '../../src/session/types.js';
import { FrameDecoder } from '../../src/frame/decode.js';
import { socketCarrier } from '../../src/carriers/node-socket.js';
import { createSession } from '../../src/session/multiplex.js';
import type { Session } from '../../src/session/types.js';
import type { SessionOptions } from '../../src/options.js';
import { INITIAL_WINDOW, MAX_U32 } from '../../src/frame/constants.js';

export const KiB = 1024;
export const MiB = 1024 * 1024;

/** Header fields of one frame seen on the wire (payload length for Data, delta/opaque/code otherwise). */
export interface FrameRecord {
  readonly type: number;
  readonly flags: number;
  readonly streamId: number;
  readonly length: number;
}

/** Frames rxmux wrote (`out`) and read (`in`), in order. */
export interface Recorder {
  readonly out: FrameRecord[];
  readonly in: FrameRecord[];
  /** Emits each inbound frame after the session has processed the chunk that carried it. */
  readonly in$: Subject<FrameRecord>;
  /** Emits each outbound frame as it is handed to the socket. */
  readonly out$: Subject<FrameRecord>;
  /** Called after every inbound chunk, once the session has processed it. */
  readonly afterChunk: Set<() => void>;
  /** Bytes that could not be decoded (must stay empty). */
  readonly decodeErrors: string[];
}

function recordOf(f: { type: string; flags: number; streamId: number } & Record<string, unknown>): FrameRecord {
  switch (f.type) {
    case 'data':
      return { type: 0, flags: f.flags, streamId: f.streamId, length: (f.data as Uint8Array).byteLength };
    case 'window-update':
      return { type: 1, flags: f.flags, streamId: f.streamId, length: f.delta as number };
    case 'ping':
      return { type: 2, flags: f.flags, streamId: f.streamId, length: f.opaque as number };
    default:
      return { type: 3, flags: f.flags, streamId: f.streamId, length: f.code as number };
  }
}

/** Wraps a carrier so that every frame written and read is recorded (headers only). */
export function recordingCarrier(inner: Carrier): { carrier: Carrier; rec: Recorder } {
  const rec: Recorder = { out: [], in: [], in$: new Subject(), out$: new Subject(), afterChunk: new Set(), decodeErrors: [] };
  const pendingIn: FrameRecord[] = [];
  const decOut = new FrameDecoder(
    (f) => {
      const r = recordOf(f as never);
      rec.out.push(r);
      rec.out$.next(r);
    },
    { maxFrameSize: MAX_U32 },
  );
  const decIn = new FrameDecoder((f) => pendingIn.push(recordOf(f as never)), { maxFrameSize: MAX_U32 });
  let outBroken = false;
  let inBroken = false;
  const carrier: Carrier = {
    incoming$: new Observable<Uint8Array>((subscriber) =>
      inner.incoming$.subscribe({
        next: (chunk) => {
          if (!inBroken) {
            try {
              decIn.push(chunk);
            } catch (e) {
              inBroken = true;
              rec.decodeErrors.push(`in: ${String(e)}`);
            }
          }
          subscriber.next(chunk);
          for (const r of pendingIn.splice(0)) {
            rec.in.push(r);
            rec.in$.next(r);
          }
          for (const hook of [...rec.afterChunk]) hook();
        },
        error: (e) => subscriber.error(e),
        complete: () => subscriber.complete(),
      }),
    ),
    drain$: inner.drain$,
    write(chunks) {
      if (!outBroken) {
        try {
          for (const c of chunks) decOut.push(c);
        } catch (e) {
          outBroken = true;
          rec.decodeErrors.push(`out: ${String(e)}`);
        }
      }
      return inner.write(chunks);
    },
    end: () => inner.end(),
    destroy: (e) => inner.destroy(e),
  };
  return { carrier, rec };
}

const FLAG_NAMES: Record<number, string> = { 1: 'SYN', 2: 'ACK', 4: 'FIN', 8: 'RST' };
const ALL_FLAGS = 1 | 2 | 4 | 8;

/**
 * Every reason the frames rxmux wrote are not plain yamux (empty when they are):
 * a frame type or flag outside yamux, a Data frame with SYN/ACK/RST carrying a payload
 * (that is the rxmux profile's metadata/reason), a Data frame carrying FIN, a Ping or
 * GoAway off stream 0, Data/WindowUpdate on stream 0, a Ping flag other than SYN/ACK,
 * or a GoAway code other than 0/1/2. A WindowUpdate|RST's length is its reset code (as go-yamux v5 sends it), so it
 * may be non-zero.
 */
function plainYamuxViolations(frames: readonly FrameRecord[]): string[] {
  const bad: string[] = [];
  frames.forEach((f, i) => {
    const where = `frame #${i} (type ${f.type}, flags 0x${f.flags.toString(16)}, stream ${f.streamId}, length ${f.length})`;
    if (f.type > 3) bad.push(`${where}: frame type outside yamux`);
    if ((f.flags & ~ALL_FLAGS) !== 0) bad.push(`${where}: flag bits outside yamux`);
    switch (f.type) {
      case 0:
        if (f.streamId === 0) bad.push(`${where}: Data on stream 0`);
        if (f.flags & (1 | 2 | 8) && f.length > 0) {
          const names = [1, 2, 8]
            .filter((b) => f.flags & b)
            .map((b) => FLAG_NAMES[b])
            .join('|');
          bad.push(`${where}: Data|${names} with a payload (rxmux-profile bytes)`);
        }
        if (f.flags & 4) bad.push(`${where}: FIN riding on a Data frame`);
        break;
      case 1:
        if (f.streamId === 0) bad.push(`${where}: WindowUpdate on stream 0`);
        break;
      case 2:
        if (f.streamId !== 0) bad.push(`${where}: Ping off stream 0`);
        if (f.flags !== 1 && f.flags !== 2) bad.push(`${where}: Ping flags must be SYN or ACK`);
        break;
      case 3:
        if (f.streamId !== 0) bad.push(`${where}: GoAway off stream 0`);
        if (f.flags !== 0) bad.push(`${where}: GoAway with flags`);
        if (f.length > 2) bad.push(`${where}: GoAway code outside 0..2`);
        break;
    }
  });
  return bad;
}

/** Asserts that everything rxmux wrote decoded cleanly and is plain yamux. */
export function expectPlainYamux(rec: Recorder): void {
  expect(rec.decodeErrors).toEqual([]);
  expect(plainYamuxViolations(rec.out)).toEqual([]);
}

/** Counts frames matching a partial record. */
/** Resolves once frames queued in this turn are written: a session writes them at the end of the current job. */
export function written(): Promise<void> {
  return new Promise((resolve) => queueMicrotask(resolve));
}

export function countFrames(frames: readonly FrameRecord[], match: Partial<FrameRecord>): number {
  return frames.filter((f) => Object.entries(match).every(([k, v]) => f[k as keyof FrameRecord] === v)).length;
}

/** Resolves once `n` frames matching `pred` have been recorded on `frames` (checked now and after each new one). */
export function waitForFrames(
  frames: readonly FrameRecord[],
  stream$: Subject<FrameRecord>,
  pred: (f: FrameRecord) => boolean,
  n = 1,
): Promise<FrameRecord[]> {
  const matching = (): FrameRecord[] => frames.filter(pred);
  const now = matching();
  if (now.length >= n) return Promise.resolve(now);
  return new Promise((resolve) => {
    const sub = stream$.subscribe(() => {
      const m = matching();
      if (m.length >= n) {
        sub.unsubscribe();
        resolve(m);
      }
    });
  });
}

// ------------------------------------------------------------------ TCP and sessions

/** Things a test started; {@link Resources.dispose} (afterEach) stops them all. */
export class Resources {
  private readonly sessions: Session[] = [];
  private readonly sockets: Socket[] = [];
  private readonly servers: Server[] = [];
  private readonly cleanups: (() => unknown)[] = [];

  session(s: Session): Session {
    this.sessions.push(s);
    return s;
  }

  socket(s: Socket): Socket {
    this.sockets.push(s);
    return s;
  }

  server(s: Server): Server {
    this.servers.push(s);
    return s;
  }

  /** Registers a cleanup step (run in reverse order of registration, awaited). */
  defer(fn: () => unknown): void {
    this.cleanups.push(fn);
  }

  async dispose(): Promise<void> {
    for (const s of this.sessions.splice(0)) s.destroy();
    for (const fn of this.cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch {
        // keep cleaning up
      }
    }
    for (const s of this.sockets.splice(0)) s.destroy();
    await Promise.all(
      this.servers.splice(0).map((srv) => new Promise<void>((resolve) => (srv.listening ? srv.close(() => resolve()) : resolve()))),
    );
  }
}

/** A loopback TCP server on an ephemeral port; `accepted` resolves with its first connection. */
export async function listenOnce(res: Resources): Promise<{ port: number; accepted: Promise<Socket> }> {
  let resolveSocket!: (s: Socket) => void;
  const accepted = new Promise<Socket>((r) => (resolveSocket = r));
  const server = res.server(
    createServer({ allowHalfOpen: false }, (socket) => {
      res.socket(socket);
      resolveSocket(socket);
    }),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  return { port: (server.address() as AddressInfo).port, accepted };
}

/** Connects to a loopback TCP port. */
export function connectTcp(res: Resources, host: string, port: number): Promise<Socket> {
  return new Promise<Socket>((resolve, reject) => {
    const socket = res.socket(connect({ host, port }));
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

/** An rxmux session (strict yamux profile, keep-alive off unless asked) over a TCP socket, with a frame recorder. */
export function yamuxSession(
  res: Resources,
  socket: Socket,
  options: Omit<SessionOptions, 'profile'>,
): { session: Session; rec: Recorder } {
  const { carrier, rec } = recordingCarrier(socketCarrier(socket));
  const session = res.session(createSession(carrier, { keepAlive: false, ...options, role: options.role, profile: 'yamux' }));
  return { session, rec };
}

// ------------------------------------------------------------------ bytes

/** Marks a promise as handled (a test that fails early must not leave an unhandled rejection behind); returns it. */
export function handled<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}

export function sha256Hex(...parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** Reads a channel to its end (the peer's FIN) and reports byte count, SHA-256 and chunk count. */
export function readChannel(ch: Channel, keep = 0): Promise<{ bytes: number; sha: string; chunks: number; head: Uint8Array }> {
  return handled(readChannelRaw(ch, keep));
}

async function readChannelRaw(ch: Channel, keep: number): Promise<{ bytes: number; sha: string; chunks: number; head: Uint8Array }> {
  const h = createHash('sha256');
  let bytes = 0;
  let chunks = 0;
  const kept: Uint8Array[] = [];
  let keptBytes = 0;
  for (;;) {
    const chunk = await ch.read();
    if (chunk === null) break;
    h.update(chunk);
    bytes += chunk.byteLength;
    chunks++;
    if (keptBytes < keep) {
      kept.push(chunk.slice(0, keep - keptBytes));
      keptBytes += Math.min(chunk.byteLength, keep - keptBytes);
    }
  }
  return { bytes, sha: h.digest('hex'), chunks, head: Buffer.concat(kept) };
}

/** Writes `data` in `chunk`-byte pieces, waiting whenever the channel's queue is above its high-water mark. */
export function writeAll(ch: Channel, data: Uint8Array, chunk = 64 * KiB): Promise<void> {
  return handled(writeAllRaw(ch, data, chunk));
}

async function writeAllRaw(ch: Channel, data: Uint8Array, chunk: number): Promise<void> {
  for (let at = 0; at < data.byteLength; at += chunk) {
    await ch.write(data.subarray(at, Math.min(at + chunk, data.byteLength)));
  }
}

/** Echo on an accepted or opened channel: every chunk read is written back; our FIN after the peer's. */
export function echoChannel(ch: Channel): Promise<number> {
  return handled(echoChannelRaw(ch));
}

async function echoChannelRaw(ch: Channel): Promise<number> {
  let n = 0;
  for (;;) {
    const chunk = await ch.read();
    if (chunk === null) break;
    n += chunk.byteLength;
    await ch.write(chunk);
  }
  ch.end();
  return n;
}

/** Handles each inbound open; the session's own end (often ERR_MUX_CARRIER once Go closes) is asserted elsewhere. */
export function onIncoming(session: Session, fn: (req: IncomingChannel) => void): void {
  session.incoming$.subscribe({ next: fn, error: () => undefined });
}

/** Accepts every inbound channel and echoes it, hashing what arrives; resolves per channel. */
export function acceptAndEcho(session: Session): Map<number, Promise<{ bytes: number; sha: string }>> {
  const results = new Map<number, Promise<{ bytes: number; sha: string }>>();
  onIncoming(session, (req) => {
    const ch = req.accept();
    results.set(
      ch.id,
      handled(
        (async () => {
          const h = createHash('sha256');
          let bytes = 0;
          for (;;) {
            const chunk = await ch.read();
            if (chunk === null) break;
            h.update(chunk);
            bytes += chunk.byteLength;
            await ch.write(chunk);
          }
          ch.end();
          return { bytes, sha: h.digest('hex') };
        })(),
      ),
    );
  });
  return results;
}

/** Deterministic test bytes (not the Go pattern): a xorshift stream seeded by `seed`. */
export function seededBytes(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** The first error a channel ends with (closed$), or undefined for a clean close. Records every emission. */
export function channelEnds(ch: Channel): { ends: unknown[]; done: Promise<unknown> } {
  const ends: unknown[] = [];
  const done = new Promise<unknown>((resolve) => {
    ch.closed$.subscribe((e) => {
      ends.push(e.error);
      resolve(e.error);
    });
  });
  return { ends, done };
}

/**
 * A stall-then-drain reader: the channel stays paused (bytes wait, no credit goes back) until the peer has used up
 * every byte of credit it has for this channel, as seen on the wire (256 KiB + every WindowUpdate delta rxmux wrote
 * for the channel − the payload bytes received), or until its FIN; then everything buffered is consumed at once.
 * The peer is thus blocked by flow control once per round (`fills`), and `maxBuffered` is the most rxmux held.
 */
export function stallingReader(
  ch: Channel,
  rec: Recorder,
): { result: Promise<{ bytes: number; sha: string; maxBuffered: number; fills: number }> } {
  const h = createHash('sha256');
  let bytes = 0;
  let maxBuffered = 0;
  let fills = 0;
  ch.pause();
  const peerCredit = (): number => {
    let granted = INITIAL_WINDOW;
    for (const f of rec.out) if (f.type === 1 && f.streamId === ch.id && !(f.flags & 8)) granted += f.length;
    return granted - ch.stats().bytesIn;
  };
  const result = new Promise<{ bytes: number; sha: string; maxBuffered: number; fills: number }>((resolve, reject) => {
    const check = (): void => {
      const st = ch.stats();
      maxBuffered = Math.max(maxBuffered, st.bufferedIn);
      if (st.readClosed) {
        ch.resume();
      } else if (st.bufferedIn > 0 && peerCredit() === 0) {
        fills++;
        ch.resume();
        ch.pause();
      }
    };
    rec.afterChunk.add(check);
    ch.incoming$.subscribe({
      next: (chunk) => {
        h.update(chunk);
        bytes += chunk.byteLength;
      },
      error: (e) => {
        rec.afterChunk.delete(check);
        reject(e);
      },
      complete: () => {
        rec.afterChunk.delete(check);
        resolve({ bytes, sha: h.digest('hex'), maxBuffered, fills });
      },
    });
    check();
  });
  return { result: handled(result) };
}

/** The lowest and highest value a channel's credit$ took until it completed. */
export function creditRange(ch: Channel): { min: () => number; max: () => number } {
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  ch.credit$.subscribe((c) => {
    min = Math.min(min, c);
    max = Math.max(max, c);
  });
  return { min: () => min, max: () => max };
}

/**
 * The Go peer's data pattern (see spec/interop/go/README.md): byte i of stream k is the top byte of
 * (i*2654435761 + k*40503) mod 2^32. Same bytes as goPeerPattern() in go-peer.ts, computed
 * incrementally (one addition per byte), so that 8 MiB take milliseconds rather than seconds.
 */
export function goPattern(streamIndex: number, length: number, offset = 0): Uint8Array {
  const out = new Uint8Array(length);
  let x = (Math.imul(offset >>> 0, 2654435761) + Math.imul(streamIndex >>> 0, 40503)) >>> 0;
  for (let j = 0; j < length; j++) {
    out[j] = x >>> 24;
    x = (x + 2654435761) >>> 0;
  }
  return out;
}

const goPatternShas = new Map<string, string>();

/** SHA-256 (hex) of {@link goPattern}(k, length), memoised. */
export function goPatternSha(streamIndex: number, length: number): string {
  const key = `${streamIndex}:${length}`;
  let sha = goPatternShas.get(key);
  if (sha === undefined) {
    sha = sha256Hex(goPattern(streamIndex, length));
    goPatternShas.set(key, sha);
  }
  return sha;
}
