/**
 * `@libp2p/utils` for the compliance suite's interop run, with one export replaced: `multiaddrConnectionPair()`
 * returns two libp2p connections over a real TCP socket pair on 127.0.0.1 instead of the in-memory pair. The
 * suite creates its pair synchronously, so {@link prepareSocketPair} (a root `beforeEach` of the interop run)
 * connects one before each test. spec/libp2p/redirect-hooks.mjs points the suite's imports of `@libp2p/utils` here.
 */
import { once } from 'node:events';
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { MessageStreamDirection, MultiaddrConnection } from '@libp2p/interface';
import { logger } from '@libp2p/logger';
import { AbstractMultiaddrConnection } from '@libp2p/utils';

export * from '@libp2p/utils';

type Chunks = Parameters<AbstractMultiaddrConnection['sendData']>[0];

/** Most writes the slow-link emulation holds before `send()` answers false (as the in-memory pair's queue does). */
const HELD_CAPACITY = 5;

/**
 * A libp2p connection over a net.Socket, with the delivery timing of the suite's in-memory pair: that pair raises each
 * message in a task of its own, and the suite's scenarios attach readers after awaits that rely on it. TCP hands over
 * whatever has arrived in one read, so here every yamux frame read from the socket is raised in a task of its own
 * (setImmediate), in order. Without it, "close > can close a stream for writing" hangs for
 * @chainsafe/libp2p-yamux on both ends too: SYN, data and FIN arrive in one read, the FIN before the handler's reader
 * subscribes, and libp2p's async iterator never sees the 'remoteCloseWrite' that came before it.
 */
class SocketConnection extends AbstractMultiaddrConnection {
  private readonly socket: Socket;
  /** The suite's slow-sender case sets `delay` (ms), as on its in-memory pair: each write waits that long before it reaches the socket. */
  readonly local = { delay: 0 };
  private held: Uint8Array[] = [];
  private holdTimer: NodeJS.Timeout | undefined;
  private pending = new Uint8Array(0);
  private readonly frames: (Uint8Array | 'closed')[] = [];
  private raising = false;

  constructor(socket: Socket, direction: MessageStreamDirection) {
    super({
      remoteAddr: { toString: () => `/ip4/127.0.0.1/tcp/${String(socket.remotePort)}` } as never,
      direction,
      log: logger(`rxmux-compliance:${direction}`),
    });
    this.socket = socket;
    socket.setNoDelay(true);
    let failed: Error | undefined;
    socket.on('data', (buf: Buffer) => this.received(buf));
    socket.on('drain', () => this.safeDispatchEvent('drain'));
    socket.on('error', (err: Error) => {
      failed ??= err;
    });
    socket.on('close', () => {
      clearTimeout(this.holdTimer);
      this.frames.push('closed');
      this.closeError = failed;
      this.raise();
    });
  }

  private closeError: Error | undefined;

  /** Cuts the bytes read into whole yamux frames (12-byte header, then `length` payload bytes for Data) and queues them. */
  private received(buf: Buffer): void {
    let bytes = this.pending.byteLength ? concat(this.pending, buf) : new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
    for (;;) {
      if (bytes.byteLength < 12) break;
      const length = bytes[1] === 0 ? new DataView(bytes.buffer, bytes.byteOffset + 8, 4).getUint32(0) : 0;
      if (bytes.byteLength < 12 + length) break;
      this.frames.push(bytes.slice(0, 12 + length));
      bytes = bytes.subarray(12 + length);
    }
    this.pending = bytes.slice();
    this.raise();
  }

  /** Raises the queued frames, one per task (setImmediate), in order. */
  private raise(): void {
    if (this.raising || this.frames.length === 0) return;
    this.raising = true;
    setImmediate(() => {
      this.raising = false;
      const next = this.frames.shift();
      if (next === 'closed') {
        this.onTransportClosed(this.closeError);
        return;
      }
      // As the in-memory pair: bytes for a connection no longer open are dropped.
      if (next !== undefined && this.status === 'open') this.onData(next);
      this.raise();
    });
  }

  sendData(data: Chunks): { sentBytes: number; canSendMore: boolean } {
    let canSendMore = true;
    if (this.local.delay > 0 || this.held.length > 0) {
      for (const buf of data) this.held.push(buf.slice());
      this.releaseHeld();
      canSendMore = this.held.length <= HELD_CAPACITY;
    } else {
      for (const buf of data) canSendMore = this.socket.write(buf);
    }
    return { sentBytes: data.byteLength, canSendMore };
  }

  /** Slow link: writes one held chunk every `local.delay` ms, then 'drain'. */
  private releaseHeld(): void {
    if (this.holdTimer !== undefined) return;
    this.holdTimer = setTimeout(() => {
      this.holdTimer = undefined;
      const buf = this.held.shift();
      if (buf && !this.socket.destroyed) this.socket.write(buf);
      if (this.held.length > 0) this.releaseHeld();
      else this.safeDispatchEvent('drain');
    }, this.local.delay);
  }

  sendReset(): void {
    clearTimeout(this.holdTimer);
    this.socket.resetAndDestroy();
  }

  async sendClose(): Promise<void> {
    if (this.socket.destroyed) return;
    const closed = once(this.socket, 'close');
    this.socket.end();
    await closed;
  }

  sendPause(): void {
    this.socket.pause();
  }

  sendResume(): void {
    this.socket.resume();
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a);
  out.set(b, a.byteLength);
  return out;
}

interface Pool {
  server: Server | undefined;
  next: [Socket, Socket] | undefined;
  made: number;
  /** Every socket connected, so the run can end what a scenario left open. */
  sockets: Set<Socket>;
}

// Shared through globalThis: the suite's copy of this module and the spec's may be two module instances.
const pool: Pool = ((globalThis as Record<string, unknown>).__rxmuxSocketPairs ??= {
  server: undefined,
  next: undefined,
  made: 0,
  sockets: new Set(),
}) as Pool;

/** Connects the socket pair the next `multiaddrConnectionPair()` returns (listening on 127.0.0.1 only). */
export async function prepareSocketPair(): Promise<void> {
  if (pool.server === undefined) {
    pool.server = createServer();
    pool.server.listen(0, '127.0.0.1');
    await once(pool.server, 'listening');
  }
  const { port } = pool.server.address() as { port: number };
  const accepted = once(pool.server, 'connection') as Promise<[Socket]>;
  const dialed = connect(port, '127.0.0.1');
  await once(dialed, 'connect');
  const [inbound] = await accepted;
  for (const s of [dialed, inbound]) {
    pool.sockets.add(s);
    s.once('close', () => pool.sockets.delete(s));
  }
  pool.next = [dialed, inbound];
}

/** Destroys the sockets scenarios left open, and stops the listener. */
export async function stopSocketPairs(): Promise<void> {
  for (const s of pool.sockets) s.destroy();
  pool.sockets.clear();
  const server = pool.server;
  pool.server = undefined;
  if (server) await new Promise<void>((done) => server.close(() => done()));
}

/** How many socket pairs the suite took. */
export function socketPairsMade(): number {
  return pool.made;
}

/** The suite's connection pair, over the socket pair prepared for this test: [outbound, inbound]. */
export function multiaddrConnectionPair(): [MultiaddrConnection, MultiaddrConnection] {
  const next = pool.next;
  if (next === undefined) throw new Error('multiaddrConnectionPair: no socket pair prepared (prepareSocketPair runs before each test)');
  pool.next = undefined;
  pool.made++;
  return [new SocketConnection(next[0], 'outbound'), new SocketConnection(next[1], 'inbound')];
}
