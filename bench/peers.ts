/**
 * One adapter per peer, all with the same tiny channel API, so every workload runs the same code over each of them.
 *
 * Every peer runs over loopback TCP (127.0.0.1, port 0) with TCP_NODELAY on both ends. Each adapter drives its
 * library at its defaults; {@link Overrides} lists the only changes, made where a default makes a workload
 * impossible (they are also written into the results notes by bench/run.ts).
 *
 * Peer packages are imported lazily, so a worker loads only the library it measures.
 */
import { once } from 'node:events';
import { createRequire } from 'node:module';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { PeerName, Producer } from './common.js';

/** Bytes as a peer delivers them (libp2p delivers Uint8ArrayList). Only `byteLength` is read; echo writes it back as is. */
export interface Chunk {
  readonly byteLength: number;
}

/** The channel API every workload uses. */
export interface Chan {
  /** Queues bytes. Returns a promise when the producer must wait (back-pressure), else undefined. */
  write(data: Chunk): Promise<void> | undefined;
  /** Half-closes the write side. */
  end(): void;
  /** Sets the one reader: `onData` for each chunk, `onEnd` once the peer half-closed and every byte was delivered. */
  read(onData: (chunk: Chunk) => void, onEnd: () => void): void;
}

export interface OpenerSide {
  /** A new channel (for raw: a new TCP connection). */
  open(): Promise<Chan>;
}

/** Changes from a peer's defaults, made only where a default makes a workload impossible. */
export interface Overrides {
  /** The workload keeps this many channels open at once (idle): raise open-stream caps to it. */
  openChannels?: number;
}

/** How the opener drives its channels. */
export interface OpenerMode {
  /** Bulk producer mode (see PRODUCERS in common.ts). Default `await`. */
  producer?: Producer;
}

export interface Peer {
  /**
   * Loads the peer's modules (the worker calls it before its memory baseline, so module code is not counted as
   * per-channel memory; listen/connect import them again from the module cache).
   */
  load(): Promise<void>;
  /** Listens on 127.0.0.1:0 and calls `onChannel` for each channel the opener opens. Resolves with the port. */
  listen(onChannel: (ch: Chan) => void, overrides: Overrides, onError: (e: unknown) => void): Promise<number>;
  /** Connects to the acceptor (for the muxers: one TCP connection carrying every channel). */
  connect(port: number, overrides: Overrides, onError: (e: unknown) => void, mode?: OpenerMode): Promise<OpenerSide>;
  /** How the peer is driven, for the results notes. */
  note: string;
  /** The change from the peer's defaults `overrides` cause, if any (for the results notes). */
  overrideNote(overrides: Overrides): string | undefined;
}

const HOST = '127.0.0.1';

async function listenOn(server: net.Server): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => resolve());
  });
  return (server.address() as net.AddressInfo).port;
}

async function connectTcp(port: number, allowHalfOpen = false): Promise<net.Socket> {
  const socket = net.connect({ port, host: HOST, allowHalfOpen, noDelay: true });
  socket.setNoDelay(true);
  await once(socket, 'connect');
  return socket;
}

/*
 * The Chan wrappers are classes (methods on the prototype, one small object per channel, no per-channel closures),
 * so the harness adds as little as possible to the idle figures; that little is the same for every peer.
 */

/** A Node Duplex (socket, bpmux duplex, HTTP/2 stream) as a Chan. */
class DuplexChan implements Chan {
  constructor(
    private readonly s: Duplex,
    onError: (e: unknown) => void,
  ) {
    s.on('error', onError);
  }
  write(d: Chunk): Promise<void> | undefined {
    return this.s.write(d as Uint8Array) ? undefined : (once(this.s, 'drain') as Promise<unknown> as Promise<void>);
  }
  end(): void {
    this.s.end();
  }
  read(onData: (chunk: Chunk) => void, onEnd: () => void): void {
    this.s.on('data', onData);
    this.s.on('end', onEnd);
  }
}

const duplexChan = (s: Duplex, onError: (e: unknown) => void): Chan => new DuplexChan(s, onError);

// ------------------------------------------------------------------------------------------------ raw

/**
 * The baseline: plain net.Socket. One TCP connection per channel: one-channel workloads (bulk1, rtt) use one
 * connection; multi-channel ones (bulk64, open, idle) use one connection per channel.
 */
const raw: Peer = {
  load: async () => undefined,
  async listen(onChannel, _ov, onError) {
    const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
      socket.setNoDelay(true);
      onChannel(duplexChan(socket, onError));
    });
    server.on('error', onError);
    return listenOn(server);
  },
  async connect(port, _ov, onError) {
    return { open: async () => duplexChan(await connectTcp(port, true), onError) };
  },
  note: 'raw: net.Socket, one TCP connection per channel (bulk1 and rtt: one connection; bulk64: 64 parallel connections; hol: 9, one echo and 8 bulk, so the kernel and the event loop are the only things shared; open and idle: a new connection per channel)',
  overrideNote: () => undefined,
};

// ------------------------------------------------------------------------------------------------ rxmux

const rxmux: Peer = {
  async load() {
    await Promise.all([import('../src/index.js'), import('../src/node.js'), import('rxjs')]);
  },
  async listen(onChannel, ov, onError) {
    const { createSession } = await import('../src/index.js');
    const { socketCarrier } = await import('../src/node.js');
    const server = net.createServer((socket) => {
      const session = createSession(socketCarrier(socket), { role: 'server', ...rxmuxOptions(ov) });
      session.incoming$.subscribe({ next: (req) => onChannel(rxChan(req.accept(), onError)), error: onError });
    });
    server.on('error', onError);
    return listenOn(server);
  },
  async connect(port, ov, onError, mode) {
    const { createSession } = await import('../src/index.js');
    const { socketCarrier } = await import('../src/node.js');
    const session = createSession(socketCarrier(await connectTcp(port)), { role: 'client', ...rxmuxOptions(ov) });
    return rxOpener(session, onError, mode);
  },
  note: "rxmux: src/ through createSession(socketCarrier(socket)), default profile 'rxmux', session and carrier defaults (TCP_NODELAY); producer await: Channel.write awaited, incoming$ subscribed; producer drain: the opener's channels through toDuplex(channel) (rxmux/node, default 16 KiB high-water marks), write() until false, then 'drain'",
  overrideNote: (ov) =>
    ov.openChannels && ov.openChannels > 4096
      ? `rxmux: maxOpen raised from 4096 to ${ov.openChannels} on both ends (the default caps open channels below the workload)`
      : undefined,
};

/** rxmux with session resumption on at both ends (`resume: true`): the same path plus the resumption layer. */
const rxmuxResume: Peer = {
  load: () => rxmux.load(),
  async listen(onChannel, ov, onError) {
    const { createSession } = await import('../src/index.js');
    const { socketCarrier } = await import('../src/node.js');
    const server = net.createServer((socket) => {
      const session = createSession(socketCarrier(socket), { role: 'server', resume: true, ...rxmuxOptions(ov) });
      session.incoming$.subscribe({ next: (req) => onChannel(rxChan(req.accept(), onError)), error: onError });
    });
    server.on('error', onError);
    return listenOn(server);
  },
  async connect(port, ov, onError, mode) {
    const { createSession } = await import('../src/index.js');
    const { socketCarrier } = await import('../src/node.js');
    const session = createSession(socketCarrier(await connectTcp(port)), { role: 'client', resume: true, ...rxmuxOptions(ov) });
    return rxOpener(session, onError, mode);
  },
  note: 'rxmux-resume: as rxmux, with `resume: true` on both ends (replay store of 8 MiB, acknowledgements every 16 KiB): the cost of resumption when nothing is cut',
  overrideNote: (ov) => rxmux.overrideNote(ov),
};

/** Session options of the rxmux peers: `RXMUX_OPTS` (JSON, for comparing settings; bench/README.md), then the overrides. */
function rxmuxOptions(ov: Overrides): Record<string, unknown> {
  const extra: unknown = process.env.RXMUX_OPTS ? JSON.parse(process.env.RXMUX_OPTS) : {};
  if (extra === null || typeof extra !== 'object' || Array.isArray(extra)) throw new Error('RXMUX_OPTS must be a JSON object');
  return { ...extra, ...(ov.openChannels && ov.openChannels > 4096 ? { maxOpen: ov.openChannels } : {}) };
}

type RxChannel = import('../src/index.js').Channel;

class RxChan implements Chan {
  constructor(
    private readonly ch: RxChannel,
    private readonly onError: (e: unknown) => void,
  ) {}
  write(d: Chunk): Promise<void> {
    return this.ch.write(d as Uint8Array);
  }
  end(): void {
    this.ch.end();
  }
  read(onData: (chunk: Chunk) => void, onEnd: () => void): void {
    this.ch.incoming$.subscribe({ next: onData, complete: onEnd, error: this.onError });
  }
}

const rxChan = (ch: RxChannel, onError: (e: unknown) => void): Chan => new RxChan(ch, onError);

/** The opener side over an rxmux session: channels as Channel (producer await) or as toDuplex(channel) (drain). */
async function rxOpener(
  session: import('../src/index.js').Session,
  onError: (e: unknown) => void,
  mode: OpenerMode | undefined,
): Promise<OpenerSide> {
  const { firstValueFrom } = await import('rxjs');
  const { toDuplex } = await import('../src/node.js');
  session.closed$.subscribe(({ error }) => error && onError(error));
  if (mode?.producer === 'drain') return { open: async () => duplexChan(toDuplex(await firstValueFrom(session.open())), onError) };
  return { open: async () => rxChan(await firstValueFrom(session.open()), onError) };
}

// ------------------------------------------------------------------------------------------------ bpmux

const bpmux: Peer = {
  async load() {
    await import('bpmux');
  },
  async listen(onChannel, _ov, onError) {
    const { BPMux } = (await import('bpmux')).default;
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      const mux = new BPMux(socket);
      mux.on('error', onError);
      mux.on('handshake', (duplex: Duplex, _data: unknown, delay: unknown) => {
        // `delay` is null for duplexes this side created; only the peer's are channels to accept.
        if (delay) onChannel(duplexChan(duplex, onError));
      });
    });
    server.on('error', onError);
    return listenOn(server);
  },
  async connect(port, _ov, onError) {
    const { BPMux } = (await import('bpmux')).default;
    const mux = new BPMux(await connectTcp(port));
    mux.on('error', onError);
    return { open: async () => duplexChan(mux.multiplex(), onError) };
  },
  note: 'bpmux: BPMux over the net.Socket at its defaults (per-duplex Node highWaterMark 16 KiB, which is also its per-stream window); data written before the handshake answer is buffered by bpmux',
  overrideNote: () => undefined,
};

// ------------------------------------------------------------------------------------------------ libp2p-yamux

type Libp2pStream = import('@libp2p/interface').Stream;

/** A MultiaddrConnection over a net.Socket, modelled on @libp2p/tcp: one socket.write per buffer. */
async function socketMaConn(socket: net.Socket, direction: 'inbound' | 'outbound') {
  const { AbstractMultiaddrConnection } = await import('@libp2p/utils');
  const { defaultLogger } = await import('@libp2p/logger');
  const { multiaddr } = await import('@multiformats/multiaddr');
  type List = Parameters<InstanceType<typeof AbstractMultiaddrConnection>['sendData']>[0];

  class SocketMaConn extends AbstractMultiaddrConnection {
    constructor() {
      super({
        remoteAddr: multiaddr(`/ip4/${HOST}/tcp/${socket.remotePort ?? 0}`),
        direction,
        log: defaultLogger().forComponent(`bench:maconn:${direction}`),
      });
      socket.on('data', (buf: Buffer) => this.onData(buf));
      socket.on('drain', () => this.safeDispatchEvent('drain'));
      socket.on('end', () => this.onRemoteCloseWrite());
      socket.on('close', () => this.onTransportClosed());
      socket.on('error', () => undefined);
    }
    sendData(data: List): { sentBytes: number; canSendMore: boolean } {
      let canSendMore = true;
      for (const buf of data) canSendMore = socket.write(buf);
      return { sentBytes: data.byteLength, canSendMore };
    }
    sendReset(): void {
      socket.resetAndDestroy();
    }
    async sendClose(): Promise<void> {
      socket.end();
    }
    sendPause(): void {
      socket.pause();
    }
    sendResume(): void {
      socket.resume();
    }
  }
  return new SocketMaConn();
}

/** The libp2p muxer of one connection: @chainsafe/libp2p-yamux, or rxmux through rxmux/libp2p (`rxmuxMuxer`). */
async function libp2pMuxer(
  socket: net.Socket,
  direction: 'inbound' | 'outbound',
  ov: Overrides,
  impl: 'yamux' | 'rxmux' = 'yamux',
): Promise<import('@libp2p/interface').StreamMuxer> {
  const caps = ov.openChannels && ov.openChannels > 1000 ? { maxInboundStreams: ov.openChannels, maxOutboundStreams: ov.openChannels } : {};
  const maConn = await socketMaConn(socket, direction);
  if (impl === 'rxmux') {
    const { rxmuxMuxer } = await import('../src/libp2p.js');
    return rxmuxMuxer(caps)().createStreamMuxer(maConn);
  }
  const { yamux } = await import('@chainsafe/libp2p-yamux');
  return yamux(caps)().createStreamMuxer(maConn);
}

class Libp2pChan implements Chan {
  constructor(
    private readonly stream: Libp2pStream,
    private readonly onError: (e: unknown) => void,
  ) {}
  write(d: Chunk): Promise<void> | undefined {
    return this.stream.send(d as Uint8Array) ? undefined : this.stream.onDrain();
  }
  end(): void {
    this.stream.close().catch(this.onError);
  }
  read(onData: (chunk: Chunk) => void, onEnd: () => void): void {
    // 'message' carries the bytes in evt.data (a Uint8Array or Uint8ArrayList); 'end' comes once the remote closed
    // its write side and every byte was delivered.
    this.stream.addEventListener('message', (evt) => onData(evt.data));
    this.stream.addEventListener('end', onEnd);
  }
}

const libp2pChan = (stream: Libp2pStream, onError: (e: unknown) => void): Chan => new Libp2pChan(stream, onError);

/** A peer driven through libp2p's stream API (createStream, send/onDrain, 'message'), with either muxer. */
function libp2pPeer(impl: 'yamux' | 'rxmux', note: string): Peer {
  const name = impl === 'rxmux' ? 'rxmux-libp2p' : 'libp2p-yamux';
  return {
    async load() {
      await Promise.all([
        impl === 'rxmux' ? import('../src/libp2p.js') : import('@chainsafe/libp2p-yamux'),
        import('@libp2p/utils'),
        import('@libp2p/logger'),
        import('@multiformats/multiaddr'),
      ]);
    },
    async listen(onChannel, ov, onError) {
      const server = net.createServer((socket) => {
        socket.setNoDelay(true);
        libp2pMuxer(socket, 'inbound', ov, impl).then(
          (muxer) => muxer.addEventListener('stream', (evt) => onChannel(libp2pChan(evt.detail, onError))),
          onError,
        );
      });
      server.on('error', onError);
      return listenOn(server);
    },
    async connect(port, ov) {
      const muxer = await libp2pMuxer(await connectTcp(port), 'outbound', ov, impl);
      return { open: async () => libp2pChan(await muxer.createStream(), () => undefined) };
    },
    note,
    overrideNote: (ov) =>
      ov.openChannels && ov.openChannels > 1000
        ? `${name}: maxInboundStreams and maxOutboundStreams raised from 1000 to ${ov.openChannels} (the defaults cap open streams below the workload)`
        : undefined,
  };
}

const libp2p: Peer = {
  async load() {
    await Promise.all([
      import('@chainsafe/libp2p-yamux'),
      import('@libp2p/utils'),
      import('@libp2p/logger'),
      import('@multiformats/multiaddr'),
    ]);
  },
  async listen(onChannel, ov, onError) {
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      libp2pMuxer(socket, 'inbound', ov).then(
        (muxer) => muxer.addEventListener('stream', (evt) => onChannel(libp2pChan(evt.detail, onError))),
        onError,
      );
    });
    server.on('error', onError);
    return listenOn(server);
  },
  async connect(port, ov) {
    const muxer = await libp2pMuxer(await connectTcp(port), 'outbound', ov);
    return { open: async () => libp2pChan(await muxer.createStream(), () => undefined) };
  },
  note: 'libp2p-yamux: @chainsafe/libp2p-yamux 8 muxer over a minimal MultiaddrConnection on the net.Socket (bench/peers.ts: one socket.write per buffer, like @libp2p/tcp), Promise.withResolvers polyfilled on Node 20, muxer defaults; stream.send() with onDrain() for back-pressure, "message" events read',
  overrideNote: (ov) =>
    ov.openChannels && ov.openChannels > 1000
      ? `libp2p-yamux: maxInboundStreams and maxOutboundStreams raised from 1000 to ${ov.openChannels} (the defaults cap open streams below the workload)`
      : undefined,
};

// ------------------------------------------------------------------------------------------------ http2

const http2Peer: Peer = {
  async load() {
    await import('node:http2');
  },
  async listen(onChannel, _ov, onError) {
    const http2 = await import('node:http2');
    const h2 = http2.createServer();
    h2.on('error', onError);
    h2.on('sessionError', onError);
    h2.on('stream', (stream) => {
      stream.respond({ ':status': 200 });
      onChannel(duplexChan(stream, onError));
    });
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      h2.emit('connection', socket);
    });
    server.on('error', onError);
    return listenOn(server);
  },
  async connect(port, _ov, onError) {
    const http2 = await import('node:http2');
    const socket = await connectTcp(port);
    const client = http2.connect(`http://${HOST}:${port}`, { createConnection: () => socket });
    client.on('error', onError);
    await once(client, 'connect');
    return { open: async () => duplexChan(client.request({ ':method': 'POST', ':path': '/' }), onError) };
  },
  note: 'http2: node:http2, one client session over the net.Socket (server: http2.createServer() fed the accepted socket), each channel a POST stream the server answers at once with 200; defaults (65,535-byte initial stream and connection windows)',
  overrideNote: () => undefined,
};

// ------------------------------------------------------------------------------------------------ WebSocket

/** An HTTP server on 127.0.0.1:0 with a `ws` WebSocketServer (defaults: no permessage-deflate); one callback per socket. */
async function wsListen(onSocket: (ws: import('ws').WebSocket) => void, onError: (e: unknown) => void): Promise<number> {
  const http = await import('node:http');
  const { WebSocketServer } = await import('ws');
  const server = http.createServer();
  const wss = new WebSocketServer({ server });
  wss.on('error', onError);
  wss.on('connection', (ws) => onSocket(ws));
  server.on('error', onError);
  return listenOn(server as unknown as net.Server);
}

async function wsConnect(port: number): Promise<import('ws').WebSocket> {
  const { WebSocket } = await import('ws');
  const ws = new WebSocket(`ws://${HOST}:${port}/`);
  await once(ws, 'open');
  return ws;
}

/** How `ws` masks and unmasks frames here: with the native `bufferutil` when it loads (a devDependency) and WS_NO_BUFFER_UTIL is unset, else in JavaScript. */
function wsMasking(): string {
  if (process.env.WS_NO_BUFFER_UTIL) return "masking in ws's JavaScript fallback (WS_NO_BUFFER_UTIL is set): far slower";
  try {
    createRequire(import.meta.url)('bufferutil');
    return 'masking through bufferutil (native, as the ws README recommends)';
  } catch {
    return "masking in ws's JavaScript fallback (bufferutil did not load): far slower";
  }
}

/**
 * The WebSocket baseline: a `ws` connection per channel, its bytes through createWebSocketStream (a Duplex: one
 * binary message per write), no multiplexing. `ws` sets TCP_NODELAY itself.
 */
const wsRaw: Peer = {
  async load() {
    await import('ws');
  },
  async listen(onChannel, _ov, onError) {
    const { createWebSocketStream } = await import('ws');
    return wsListen((ws) => onChannel(duplexChan(createWebSocketStream(ws), onError)), onError);
  },
  async connect(port, _ov, onError) {
    const { createWebSocketStream } = await import('ws');
    return { open: async () => duplexChan(createWebSocketStream(await wsConnect(port)), onError) };
  },
  // A getter: only the orchestrator reads the notes, so workers never load bufferutil for it.
  get note() {
    return `ws-raw: the \`ws\` package at its defaults (no permessage-deflate; ${wsMasking()}, for rxmux-ws alike), one WebSocket connection per channel (bulk1: one; bulk64: 64; hol: 9), bytes through createWebSocketStream (write() false, then drain): the baseline of rxmux-ws`;
  },
  overrideNote: () => undefined,
};

const rxmuxWs: Peer = {
  async load() {
    await Promise.all([import('../src/index.js'), import('../src/web.js'), import('../src/node.js'), import('rxjs'), import('ws')]);
  },
  async listen(onChannel, ov, onError) {
    const { createSession } = await import('../src/index.js');
    const { websocketCarrier } = await import('../src/web.js');
    return wsListen((ws) => {
      const session = createSession(websocketCarrier(ws), { role: 'server', ...rxmuxOptions(ov) });
      session.incoming$.subscribe({ next: (req) => onChannel(rxChan(req.accept(), onError)), error: onError });
    }, onError);
  },
  async connect(port, ov, onError, mode) {
    const { createSession } = await import('../src/index.js');
    const { websocketCarrier } = await import('../src/web.js');
    const session = createSession(websocketCarrier(await wsConnect(port)), { role: 'client', ...rxmuxOptions(ov) });
    return rxOpener(session, onError, mode);
  },
  note: "rxmux-ws: rxmux over websocketCarrier (rxmux/web, defaults: 1 MiB high-water mark, drain from ws's send callbacks) on one `ws` connection; channels driven as for rxmux (await / drain)",
  overrideNote: (ov) => rxmux.overrideNote(ov),
};

/** Go hashicorp/yamux runs as its own binary (bench/go/benchpeer), started by bench/harness.ts, not through this API. */
const goYamux: Peer = {
  load: async () => undefined,
  listen: () => Promise.reject(new Error('go-yamux runs as a Go binary (bench/go), not in a Node worker')),
  connect: () => Promise.reject(new Error('go-yamux runs as a Go binary (bench/go), not in a Node worker')),
  note: 'go-yamux: hashicorp/yamux (Debian golang-github-hashicorp-yamux-dev) on both ends, driven by bench/go/benchpeer (built by npm run setup:interop), yamux.DefaultConfig() (256 KiB stream window, keep-alive on), one goroutine per channel, blocking Write (its writer is a FIFO of frames: producer await only), TCP_NODELAY (Go default); CPU from getrusage, idle memory from the Go heap (runtime.MemStats.HeapAlloc after runtime.GC) and RSS',
  overrideNote: () => undefined,
};

export const PEER_IMPLS: Record<PeerName, Peer> = {
  raw,
  rxmux,
  'rxmux-resume': rxmuxResume,
  bpmux,
  'libp2p-yamux': libp2p,
  'rxmux-libp2p': libp2pPeer(
    'rxmux',
    'rxmux-libp2p: rxmux through rxmux/libp2p (rxmuxMuxer() defaults: yamux profile, preserveWrites) over the same MultiaddrConnection as libp2p-yamux, driven by the same code (stream.send() with onDrain(), "message" events read)',
  ),
  http2: http2Peer,
  'go-yamux': goYamux,
  'ws-raw': wsRaw,
  'rxmux-ws': rxmuxWs,
};
