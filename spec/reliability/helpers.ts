/**
 * Shared helpers of the reliability suites (fuzz, attacks, faults): raw headers, seeded chunking, error codes,
 * a gc() function for heap checks.
 */
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createSession, encodeFrame, formatFrame, MuxErrorCodes, type Frame, type Session, type SessionOptions } from '../../src/index.js';
import { mulberry32 } from '../../src/testing.js';
import { socketCarrier } from '../../src/carriers/node-socket.js';
import { concatBytes } from '../support/bytes.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;
/** The yamux initial window (and rxmux default receive window / high-water mark). */
export const WINDOW = 256 * KiB;

/** Every stable ERR_MUX_* code. */
export const KNOWN_CODES: ReadonlySet<string> = new Set(Object.values(MuxErrorCodes));

export { header } from '../support/frames.js';

/** Frames encoded back to back. */
export function wire(frames: readonly Frame[]): Uint8Array {
  return concat(frames.map(encodeFrame));
}

/** Cuts `bytes` into seeded random pieces of 1..max bytes (views, no copies); sometimes an empty piece too. */
export function chop(bytes: Uint8Array, seed: number, max = 64): Uint8Array[] {
  const rng = mulberry32(seed);
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.byteLength) {
    if (rng() < 0.02) out.push(new Uint8Array(0));
    const n = 1 + Math.floor(rng() * max);
    out.push(bytes.subarray(at, at + n));
    at += n;
  }
  return out;
}

/** Seeded pseudo-random bytes. */
export function seeded(n: number, seed: number): Uint8Array {
  const rng = mulberry32(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (rng() * 256) | 0;
  return out;
}

/** The code of a MuxError (or a marker for anything else), for compact assertions. */
export function codeOf(e: unknown): string {
  return e !== null && typeof e === 'object' && 'code' in e ? String((e as { code: unknown }).code) : `not a MuxError: ${String(e)}`;
}

/** One line per frame, for readable diffs of long frame lists. */
export function lines(frames: readonly Frame[]): string[] {
  return frames.map((fr) => formatFrame(fr, 4));
}

/** Lets queued promise callbacks run (microtasks only: no timer, no real time passes). */
export async function settle(): Promise<void> {
  for (let i = 0; i < 200; i++) await Promise.resolve();
}

let gcFn: (() => void) | undefined;

/**
 * A function that runs a full garbage collection: `global.gc` when node runs with --expose-gc, otherwise one
 * obtained by turning the flag on at run time and taking `gc` from a fresh context.
 */
function getGc(): () => void {
  if (gcFn) return gcFn;
  const g = (globalThis as { gc?: () => void }).gc;
  if (typeof g === 'function') return (gcFn = g);
  setFlagsFromString('--expose-gc');
  gcFn = runInNewContext('gc') as () => void;
  return gcFn;
}

/** Heap used after a few full collections, in bytes. */
export function heapAfterGc(): number {
  const gc = getGc();
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

/** A client and a server session over a loopback TCP connection, with their sockets (real time). */
interface TcpSessions {
  readonly client: Session;
  readonly server: Session;
  readonly clientSocket: Socket;
  readonly serverSocket: Socket;
  /** Destroys both sessions and sockets and closes the listener. */
  close(): Promise<void>;
}

export async function tcpSessions(options: Omit<SessionOptions, 'role'> = {}): Promise<TcpSessions> {
  const listener: Server = createServer();
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = listener.address() as AddressInfo;
  const accepted = once(listener, 'connection') as Promise<[Socket]>;
  const clientSocket = connect(port, '127.0.0.1');
  await once(clientSocket, 'connect');
  const [serverSocket] = await accepted;
  const client = createSession(socketCarrier(clientSocket), { ...options, role: 'client' });
  const server = createSession(socketCarrier(serverSocket), { ...options, role: 'server' });
  return {
    client,
    server,
    clientSocket,
    serverSocket,
    async close() {
      for (const s of [client, server]) if (!s.isClosed) s.destroy();
      for (const s of [clientSocket, serverSocket]) s.destroy();
      await Promise.all([clientSocket, serverSocket].map((s) => (s.closed ? undefined : once(s, 'close'))));
      await new Promise<void>((resolve) => listener.close(() => resolve()));
    },
  };
}

/** The parts joined into one new array. */
export const concat = concatBytes;
