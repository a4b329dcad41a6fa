/**
 * examples/port-forward.ts, run as two child processes (remote and local) in front of an echo server that the
 * test runs: many TCP clients go through the forwarder at once, over one multiplexed connection.
 */
import { createHash } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { mulberry32 } from '../../src/util/random.js';
import { killAll, startExample, type RunningExample } from './run-example.js';

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** A TCP echo server that counts the connections it accepted. */
async function echoServer(): Promise<{ server: Server; port: number; connections: () => number }> {
  let n = 0;
  const server = createServer({ allowHalfOpen: true }, (socket: Socket) => {
    n++;
    socket.pipe(socket);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, port: (server.address() as AddressInfo).port, connections: () => n };
}

/** Connects, sends `data`, half-closes, and resolves with everything read until the server's end. */
function roundTrip(port: number, data: Uint8Array): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    socket.on('data', (b: Buffer) => chunks.push(b));
    socket.on('end', () => {
      socket.end();
      resolve(Buffer.concat(chunks));
    });
    socket.on('error', reject);
    socket.end(data);
  });
}

/** Resolves with true if the server closes the connection without sending a byte. */
function closedWithoutData(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    let got = 0;
    const socket = connect({ port, host: '127.0.0.1' });
    socket.on('data', (b: Buffer) => (got += b.byteLength));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(got === 0));
  });
}

async function startPair(remoteArgs: string[], to: string): Promise<{ remote: RunningExample; local: RunningExample; port: number }> {
  const remote = startExample('port-forward.ts', ['remote', '--port', '0', ...remoteArgs]);
  const [, muxPort] = await remote.waitForLine(/^remote: listening for mux connections on 127\.0\.0\.1:(\d+)$/);
  const local = startExample('port-forward.ts', ['local', '--listen', '0', '--via', `127.0.0.1:${muxPort}`, '--to', to]);
  const [, port] = await local.waitForLine(/^local: forwarding 127\.0\.0\.1:(\d+) → /);
  return { remote, local, port: Number(port) };
}

const servers: Server[] = [];
afterAll(() => {
  killAll();
  for (const s of servers) s.close();
});

describe('examples/port-forward.ts', () => {
  it('carries 24 concurrent TCP connections to the target over one multiplexed connection, byte for byte', async () => {
    const target = await echoServer();
    servers.push(target.server);
    const { remote, local, port } = await startPair([], `127.0.0.1:${target.port}`);
    const random = mulberry32(42);
    const sizes = Array.from({ length: 24 }, (_, i) => (i === 0 ? 1 : i === 1 ? 1024 * 1024 : Math.floor(random() * 200_000)));
    const payloads = sizes.map((n) => new Uint8Array(n).map(() => (random() * 256) | 0));
    const echoed = await Promise.all(payloads.map((p) => roundTrip(port, p)));
    expect(echoed.map((e) => e.byteLength)).toEqual(sizes);
    expect(echoed.map(sha256)).toEqual(payloads.map(sha256));
    expect(target.connections()).toBe(24);

    // Each side logs every forwarded connection once it is done; the remote saw one mux connection only.
    await local.waitForLines(/^local: #\d+ channel \d+ done \(\d+ B sent, \d+ B received\)$/, 24);
    await remote.waitForLines(/^remote: #\d+ channel \d+ → 127\.0\.0\.1:\d+ done \(\d+ B in, \d+ B out\)$/, 24);
    const localExit = await local.stop('SIGTERM');
    const remoteExit = await remote.stop('SIGTERM');
    for (const exit of [localExit, remoteExit]) {
      expect({ code: exit.code, signal: exit.signal, stderr: exit.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    }
    const remoteOut = remoteExit.stdout;
    expect(remoteOut.match(/^remote: mux connection accepted$/gm)).toHaveLength(1);
    expect(remoteOut.match(/^remote: #\d+ channel \d+ → 127\.0\.0\.1:\d+ done \(\d+ B in, \d+ B out\)$/gm)).toHaveLength(24);
    expect(remoteOut).toContain(`done (${1024 * 1024} B in, ${1024 * 1024} B out)`);
    expect(remoteOut).toMatch(/remote: stopped after 24 channels\n$/);
    const localOut = localExit.stdout;
    expect(localOut.match(/^local: #\d+ channel \d+ done \(\d+ B sent, \d+ B received\)$/gm)).toHaveLength(24);
    expect(localOut).toMatch(/local: stopped after 24 connections\n$/);
  });

  it('refuses a target that the remote does not allow: the local client is closed and both sides log the reason', async () => {
    const target = await echoServer();
    servers.push(target.server);
    const other = await echoServer();
    servers.push(other.server);
    const { remote, local, port } = await startPair(['--allow', `127.0.0.1:${other.port}`], `127.0.0.1:${target.port}`);
    expect(await closedWithoutData(port)).toBe(true);
    await local.waitForLine(
      new RegExp(`^local: #1 refused: open of channel 1 was rejected: target 127\\.0\\.0\\.1:${target.port} is not allowed$`),
    );
    await remote.waitForLine(new RegExp(`^remote: #1 refused 127\\.0\\.0\\.1:${target.port} \\(not allowed\\)$`));
    expect(target.connections()).toBe(0);
    const [l, r] = [await local.stop('SIGINT'), await remote.stop('SIGINT')];
    expect([l.code, r.code]).toEqual([0, 0]);
  });
});
