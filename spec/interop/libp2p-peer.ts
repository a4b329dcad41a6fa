/**
 * Runs @chainsafe/libp2p-yamux (js-libp2p's yamux muxer, version 8) in-process over a real
 * net.Socket, for the interop spec libp2p-yamux.spec.ts.
 *
 * The package and its @libp2p/* dependencies are ESM-only while jest runs this repository's
 * specs as CommonJS (ts-jest). The muxer is therefore bundled once with esbuild (a
 * devDependency) into one CommonJS file, .tmp/interop/libp2p-yamux.cjs, and loaded with
 * require(): the same code, in the same process, no child process. The bundle is rebuilt
 * when the installed package is newer than it.
 *
 * Version 8 uses the libp2p "MessageStream" API: a muxer is created over a connection object
 * (AbstractMultiaddrConnection) that raises 'message' events with inbound bytes and implements
 * sendData/sendReset/sendClose/sendPause/sendResume; {@link libp2pOverSocket} adapts a
 * net.Socket to it. The muxer is a client when the connection's direction is 'outbound'.
 *
 * Import './polyfills.js' before calling anything here: the muxer calls Promise.withResolvers.
 */
import { buildSync } from 'esbuild';
import { existsSync, mkdirSync, renameSync, statSync } from 'node:fs';
import type { Socket } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import type { YamuxMuxerInit, yamux as yamuxFn } from '@chainsafe/libp2p-yamux';
import type { YamuxStream } from '@chainsafe/libp2p-yamux/stream';

export type { YamuxStream };
/** The muxer type `yamux()` creates. */
export type YamuxMuxer = ReturnType<ReturnType<ReturnType<typeof yamuxFn>>['createStreamMuxer']>;

interface Uint8ArrayListLike {
  readonly byteLength: number;
  [Symbol.iterator](): Iterator<Uint8Array>;
  subarray(): Uint8Array;
}

/** What the bundle exports (see ENTRY). */
interface Lib {
  yamux: typeof yamuxFn;
  AbstractMultiaddrConnection: new (init: Record<string, unknown>) => ConnBase;
  logger: (name: string) => unknown;
}

/** The parts of AbstractMultiaddrConnection the adapter uses. */
interface ConnBase {
  onData(data: Uint8Array): void;
  onTransportClosed(err?: Error): void;
  abort(err: Error): void;
  safeDispatchEvent(type: string): boolean;
  close(): Promise<void>;
  status: string;
}

const ENTRY = [
  "export { yamux } from '@chainsafe/libp2p-yamux';",
  "export { AbstractMultiaddrConnection } from '@libp2p/utils';",
  "export { logger } from '@libp2p/logger';",
].join('\n');

function repoRoot(): string {
  let dir = resolve(process.cwd());
  for (;;) {
    if (existsSync(join(dir, 'node_modules', '@chainsafe', 'libp2p-yamux', 'package.json'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('libp2p-peer: node_modules/@chainsafe/libp2p-yamux not found above the current directory');
    dir = parent;
  }
}

/** Installed version of @chainsafe/libp2p-yamux. */
export function libp2pYamuxVersion(): string {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return (require(join(repoRoot(), 'node_modules', '@chainsafe', 'libp2p-yamux', 'package.json')) as { version: string }).version;
}

let lib: Lib | undefined;

function load(): Lib {
  if (lib) return lib;
  const root = repoRoot();
  const out = join(root, '.tmp', 'interop', 'libp2p-yamux.cjs');
  const pkg = join(root, 'node_modules', '@chainsafe', 'libp2p-yamux', 'package.json');
  const fresh = existsSync(out) && statSync(out).mtimeMs >= statSync(pkg).mtimeMs;
  if (!fresh) {
    mkdirSync(dirname(out), { recursive: true });
    const tmp = `${out}.${process.pid}.tmp`;
    buildSync({
      stdin: { contents: ENTRY, resolveDir: root, loader: 'js', sourcefile: 'libp2p-yamux-entry.js' },
      bundle: true,
      format: 'cjs',
      platform: 'node',
      target: 'node20',
      outfile: tmp,
      logLevel: 'error',
    });
    renameSync(tmp, out);
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  lib = require(out) as Lib;
  return lib;
}

interface Libp2pEnd {
  muxer: YamuxMuxer;
  /** The connection under the muxer (closing or aborting it closes the socket). */
  conn: ConnBase;
}

/**
 * A libp2p yamux muxer over `socket`: `client` (odd ids; connection direction 'outbound') or `server`.
 * `init` is the muxer's config (enableKeepAlive, streamOptions.initialStreamWindowSize, ...).
 */
export function libp2pOverSocket(socket: Socket, role: 'client' | 'server', init: YamuxMuxerInit = {}): Libp2pEnd {
  const { yamux, AbstractMultiaddrConnection, logger } = load();

  class SocketConnection extends AbstractMultiaddrConnection {
    private readonly socket: Socket;

    constructor(s: Socket) {
      super({
        remoteAddr: { toString: () => `${String(s.remoteAddress)}:${String(s.remotePort)}` },
        direction: role === 'client' ? 'outbound' : 'inbound',
        log: logger(`rxmux-interop:libp2p-${role}`),
      });
      this.socket = s;
      s.setNoDelay(true);
      let failed: Error | undefined;
      s.on('data', (buf: Buffer) => this.onData(buf));
      s.on('drain', () => this.safeDispatchEvent('drain'));
      s.on('error', (err: Error) => {
        failed ??= err;
      });
      s.on('close', () => this.onTransportClosed(failed));
    }

    sendData(data: Uint8ArrayListLike): { sentBytes: number; canSendMore: boolean } {
      let canSendMore = true;
      for (const buf of data) canSendMore = this.socket.write(buf);
      return { sentBytes: data.byteLength, canSendMore };
    }

    sendReset(): void {
      this.socket.resetAndDestroy();
    }

    async sendClose(): Promise<void> {
      if (this.socket.destroyed) return;
      await new Promise<void>((done) => {
        this.socket.once('close', () => done());
        this.socket.end();
      });
    }

    sendPause(): void {
      this.socket.pause();
    }

    sendResume(): void {
      this.socket.resume();
    }
  }

  const conn = new SocketConnection(socket);
  const muxer = yamux(init)().createStreamMuxer(conn as never) as YamuxMuxer;
  return { muxer, conn };
}

/** A chunk from a libp2p stream (Uint8Array or Uint8ArrayList) as one Uint8Array. */
export function asBytes(chunk: Uint8Array | Uint8ArrayListLike): Uint8Array {
  return chunk instanceof Uint8Array ? chunk : chunk.subarray();
}
