/**
 * End-to-end harness: two real sessions over a real carrier, in real time (the default asyncScheduler).
 *
 * Every pair made here is registered for cleanup: call `closeAll()` in `afterEach`, so servers, sockets and
 * sessions are gone before jest exits. Tests never sleep: they wait on events and promises.
 *
 * The carriers every e2e suite runs over are listed once, in {@link CARRIERS}.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { asyncScheduler, lastValueFrom } from 'rxjs';
import { createSession, memoryPair, type Channel, type MemoryCarrier, type Session, type SessionOptions } from '../../src/index.js';
import { mulberry32 } from '../../src/testing.js';
import { socketCarrier } from '../../src/node.js';
import { MuxError } from '../../src/errors.js';
import WebSocket, { WebSocketServer } from 'ws';
import { websocketCarrier } from '../../src/web.js';

/** Session options shared by both ends of a pair (the role is set by the pair). */
export type PairOptions = Omit<SessionOptions, 'role'>;

/** Two connected sessions: `client` (odd ids) and `server` (even ids). */
export interface SessionPair {
  readonly client: Session;
  readonly server: Session;
  /** Destroys both sessions and releases the carrier (sockets, server). Idempotent; `closeAll()` calls it. */
  close(): Promise<void>;
}

/** A carrier the e2e suites run over. */
interface CarrierKind {
  readonly name: string;
  /** Two connected sessions over a fresh carrier. */
  connect(options?: PairOptions): Promise<SessionPair>;
  /** Size of the single large one-way transfer, in bytes (what this carrier moves in reasonable time). */
  readonly largeTransfer: number;
}

// ------------------------------------------------------------------------------------------------ cleanup

const cleanups = new Set<() => Promise<void>>();

function register(cleanup: () => Promise<void>): () => Promise<void> {
  let done: Promise<void> | undefined;
  const run = (): Promise<void> => {
    cleanups.delete(run);
    return (done ??= cleanup());
  };
  cleanups.add(run);
  return run;
}

/** Closes every pair still open. Call it in `afterEach`. */
export async function closeAll(): Promise<void> {
  await Promise.all([...cleanups].map((c) => c()));
}

function destroySessions(...sessions: Session[]): void {
  for (const s of sessions) if (!s.isClosed) s.destroy();
}

// ------------------------------------------------------------------------------------------------ carriers

/** Two sessions over a loopback TCP connection (server on 127.0.0.1, port 0). */
export async function tcpPair(options: PairOptions = {}): Promise<SessionPair> {
  const server: Server = createServer();
  const sockets: Socket[] = [];
  const sessions: Session[] = [];
  const close = register(async () => {
    destroySessions(...sessions);
    for (const s of sockets) s.destroy();
    await Promise.all(sockets.map((s) => (s.closed ? undefined : once(s, 'close'))));
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  server.on('connection', (s) => sockets.push(s));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const clientSocket = connect(port, '127.0.0.1');
  sockets.push(clientSocket);
  await once(clientSocket, 'connect');
  const [serverSocket] = await accepted;
  const client = createSession(socketCarrier(clientSocket), { ...options, role: 'client' });
  const server_ = createSession(socketCarrier(serverSocket), { ...options, role: 'server' });
  sessions.push(client, server_);
  return { client, server: server_, close };
}

/** Chunking of the in-memory pair: seeded random pieces, so frame boundaries fall anywhere. */
const MEMORY_CHUNKING = { min: 1, max: 64 * 1024 } as const;

/** Two sessions over an in-memory pair in real time: asyncScheduler, latency 0, seeded random chunking, 1 MiB capacity. */
export async function memoryPairSessions(options: PairOptions = {}, seed = 7): Promise<SessionPair> {
  const [a, b]: [MemoryCarrier, MemoryCarrier] = memoryPair({
    scheduler: asyncScheduler,
    latency: 0,
    chunkSize: MEMORY_CHUNKING,
    seed,
    capacity: 1024 * 1024,
  });
  const client = createSession(a, { ...options, role: 'client' });
  const server = createSession(b, { ...options, role: 'server' });
  const close = register(async () => {
    destroySessions(client, server);
    // drain$ completes from a scheduled action once a carrier end is ended: wait for it so no timer outlives the test.
    await Promise.all([a, b].map((c) => lastValueFrom(c.drain$, { defaultValue: undefined })));
  });
  return { client, server, close };
}

/** Two sessions over a WebSocket (the `ws` package) on 127.0.0.1, through `websocketCarrier` from `rxmux/web`. */
async function websocketPair(options: PairOptions = {}): Promise<SessionPair> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  const sockets: WebSocket[] = [];
  const sessions: Session[] = [];
  const close = register(async () => {
    destroySessions(...sessions);
    for (const ws of sockets) ws.terminate();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });
  await once(wss, 'listening');
  const accepted = once(wss, 'connection') as Promise<[WebSocket]>;
  const clientWs = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  sockets.push(clientWs);
  const [[serverWs]] = await Promise.all([accepted, once(clientWs, 'open')]);
  sockets.push(serverWs);
  const client = createSession(websocketCarrier(clientWs), { ...options, role: 'client' });
  const server = createSession(websocketCarrier(serverWs), { ...options, role: 'server' });
  sessions.push(client, server);
  return { client, server, close };
}

/** The carriers every e2e suite runs over. */
export const CARRIERS: readonly CarrierKind[] = [
  { name: 'TCP', connect: (o) => tcpPair(o), largeTransfer: 256 * 1024 * 1024 },
  { name: 'memory pair', connect: (o) => memoryPairSessions(o), largeTransfer: 64 * 1024 * 1024 },
  { name: 'websocket', connect: (o) => websocketPair(o), largeTransfer: 64 * 1024 * 1024 },
];

// ------------------------------------------------------------------------------------------------ data

/** A seeded, reproducible byte stream: `next(n)` returns the next `n` bytes (a fresh buffer each call). */
export class SeededBytes {
  private readonly rng: () => number;
  private carry = 0;
  private carried = 0;

  constructor(seed: number) {
    this.rng = mulberry32(seed);
  }

  next(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let i = 0;
    while (i < n && this.carried > 0) {
      out[i++] = this.carry & 0xff;
      this.carry >>>= 8;
      this.carried--;
    }
    const rng = this.rng;
    for (const end = n - 3; i < end; i += 4) {
      const w = (rng() * 4294967296) >>> 0;
      out[i] = w & 0xff;
      out[i + 1] = (w >>> 8) & 0xff;
      out[i + 2] = (w >>> 16) & 0xff;
      out[i + 3] = w >>> 24;
    }
    if (i < n) {
      let w = (rng() * 4294967296) >>> 0;
      let left = 4;
      while (i < n) {
        out[i++] = w & 0xff;
        w >>>= 8;
        left--;
      }
      this.carry = w;
      this.carried = left;
    }
    return out;
  }
}

/** `total` seeded bytes cut into seeded random pieces of `min..max` bytes (0 allowed: zero-length writes). */
export function* seededChunks(seed: number, total: number, sizes: { min: number; max: number }): Generator<Uint8Array> {
  const bytes = new SeededBytes(seed);
  const rng = mulberry32(seed ^ 0x5bd1e995);
  const span = sizes.max - sizes.min + 1;
  let left = total;
  while (left > 0) {
    const n = Math.min(left, sizes.min + Math.floor(rng() * span));
    left -= n;
    yield bytes.next(n);
  }
}

/** A seeded integer in `[min, max]` for each call. */
export function seededInts(seed: number, min: number, max: number): () => number {
  const rng = mulberry32(seed);
  return () => min + Math.floor(rng() * (max - min + 1));
}

/** SHA-256 (hex) of some bytes, or of a sequence of chunks taken as one stream. */
export function sha256(data: Uint8Array | Iterable<Uint8Array>): string {
  const h = createHash('sha256');
  if (data instanceof Uint8Array) h.update(data);
  else for (const c of data) h.update(c);
  return h.digest('hex');
}

/** What went through a channel in one direction. */
export interface Tally {
  readonly bytes: number;
  /** Chunks (incoming$ emissions, or writes). */
  readonly chunks: number;
  readonly sha256: string;
}

/**
 * Reads a channel to its end: resolves after the peer's FIN with the bytes, chunk count and SHA-256 of
 * everything received; rejects with the channel's error. `onChunk` sees each chunk as it arrives.
 */
export function drain(channel: Channel, onChunk?: (chunk: Uint8Array) => void): Promise<Tally> {
  return new Promise<Tally>((resolve, reject) => {
    const h = createHash('sha256');
    let bytes = 0;
    let chunks = 0;
    channel.incoming$.subscribe({
      next: (c) => {
        h.update(c);
        bytes += c.byteLength;
        chunks++;
        onChunk?.(c);
      },
      error: reject,
      complete: () => resolve({ bytes, chunks, sha256: h.digest('hex') }),
    });
  });
}

/**
 * Writes every chunk (awaiting each write, so the producer is held by back-pressure), then (by default) ends
 * the write side. Resolves with the bytes, writes and SHA-256 of what was written.
 */
export async function pour(channel: Channel, chunks: Iterable<Uint8Array>, { end = true }: { end?: boolean } = {}): Promise<Tally> {
  const h = createHash('sha256');
  let bytes = 0;
  let writes = 0;
  for (const c of chunks) {
    h.update(c);
    bytes += c.byteLength;
    writes++;
    await channel.write(c);
  }
  if (end) channel.end();
  return { bytes, chunks: writes, sha256: h.digest('hex') };
}

/** Reads exactly `n` bytes with `read()` (pieces are joined); rejects if the channel ends first. */
export async function readExactly(channel: Channel, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let at = 0;
  while (at < n) {
    const c = await channel.read();
    if (c === null) throw new Error(`channel ${channel.id} ended after ${at} of ${n} bytes`);
    if (at + c.byteLength > n) throw new Error(`channel ${channel.id}: got ${at + c.byteLength} bytes, expected ${n}`);
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

// ------------------------------------------------------------------------------------------------ echo

/** An echo service on a session: accepts every open and writes back each chunk it reads, then ends. */
interface EchoServer {
  /** Channels accepted so far, in arrival order. */
  readonly channels: Channel[];
  /** One per accepted channel: resolves when its echo loop is over, with the channel's error (undefined after a clean end). */
  readonly done: Promise<MuxError | undefined>[];
  /** Stops accepting (channels already accepted keep echoing). */
  stop(): void;
}

/** Echoes one channel: pull-based, each `read()` is written back and awaited, so back-pressure holds both ways. */
async function echo(channel: Channel): Promise<MuxError | undefined> {
  try {
    for (;;) {
      const chunk = await channel.read();
      if (chunk === null) break;
      await channel.write(chunk);
    }
    channel.end();
    return undefined;
  } catch (e) {
    if (e instanceof MuxError) return e;
    throw e;
  }
}

/** Accepts every open on `session` and echoes it. */
export function echoServer(session: Session): EchoServer {
  const channels: Channel[] = [];
  const done: Promise<MuxError | undefined>[] = [];
  const sub = session.incoming$.subscribe({
    next: (req) => {
      const ch = req.accept();
      channels.push(ch);
      done.push(echo(ch));
    },
    error: () => undefined,
  });
  return { channels, done, stop: () => sub.unsubscribe() };
}

/** Accepts every open on `session` and hands the channel to `handle`. Returns the accepted channels. */
export function acceptAll(session: Session, handle: (channel: Channel) => void = () => undefined): Channel[] {
  const channels: Channel[] = [];
  session.incoming$.subscribe({
    next: (req) => {
      const ch = req.accept();
      channels.push(ch);
      handle(ch);
    },
    error: () => undefined,
  });
  return channels;
}
