/**
 * examples/effect-echo.ts, run as child processes: both ends in one process, then a server and a client as two
 * processes over loopback TCP, a client with no server, and a client against a peer that corrupts its echo.
 */
import { createServer } from 'node:net';
import type { Subscription } from 'rxjs';
import { listen } from '../../src/node.js';
import { killAll, runExample, startExample } from './run-example.js';

afterAll(killAll);

const MATCH =
  /^client: channel (\d+) \(server said "echo of payload (\d+)"\) sent (\d+) bytes sha256 ([0-9a-f]{16}), got back (\d+) bytes sha256 ([0-9a-f]{16}): match$/;

describe('examples/effect-echo.ts', () => {
  it('echoes every channel through Sinks and matches every SHA-256 when both ends run in one process', async () => {
    const run = await runExample('effect-echo.ts', ['--channels', '3', '--bytes', '256KiB']);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^server: echo server listening on 127\.0\.0\.1:\d+$/m);
    const matches = run.stdout
      .split('\n')
      .map((l) => MATCH.exec(l))
      .filter((m) => m !== null);
    expect(matches.map((m) => Number(m[1])).sort()).toEqual([1, 3, 5]);
    for (const m of matches) {
      expect(m[3]).toBe(String(256 * 1024));
      expect(m[5]).toBe(String(256 * 1024));
      expect(m[4]).toBe(m[6]);
    }
    // Different seeds per channel: three different payloads.
    expect(new Set(matches.map((m) => m[4])).size).toBe(3);
    for (const id of [1, 3, 5]) expect(run.stdout).toMatch(new RegExp(`^server: channel ${id} "payload \\d" echoed 262144 bytes$`, 'm'));
    expect(run.stdout).toMatch(/^client: 3 channels over one connection in \d+ ms, \d+ bytes out, \d+ in, ping \d+ ms$/m);
    expect(run.stdout).toMatch(/client: all echoes matched\n$/);
  });

  it('runs as a separate server and client, and the server stops cleanly on SIGINT', async () => {
    const server = startExample('effect-echo.ts', ['server', '--port', '0']);
    const [, port] = await server.waitForLine(/^server: echo server listening on 127\.0\.0\.1:(\d+)$/);
    const client = await runExample('effect-echo.ts', ['client', '--port', port!, '--channels', '2', '--bytes', '64KiB']);
    expect({ code: client.code, stderr: client.stderr }).toEqual({ code: 0, stderr: '' });
    expect(client.stdout).toMatch(/client: all echoes matched\n$/);
    await server.waitForLines(/^server: channel \d+ "payload \d" echoed 65536 bytes$/, 2);
    const exit = await server.stop('SIGINT');
    expect({ code: exit.code, signal: exit.signal, stderr: exit.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(exit.stdout).toMatch(/server: stopped\n$/);
  });

  it('a client with no server fails with exit code 1 and MuxCarrierError (ECONNREFUSED)', async () => {
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((r) => probe.close(() => r()));
    const run = await runExample('effect-echo.ts', ['client', '--port', String(port)]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^MuxCarrierError: socket failed to open: .*connect ECONNREFUSED 127\.0\.0\.1:\d+$/m);
  });

  it('a client whose echo comes back with one byte changed reports MISMATCH and exits 1', async () => {
    // A peer (RxJS side) that echoes every channel with the first byte flipped.
    let server: Subscription | undefined;
    const port = await new Promise<number>((resolve) => {
      server = listen({ port: 0, keepAlive: false, onListening: (a) => resolve(a.port) }).subscribe((session) =>
        session.incoming$.subscribe({
          next: (request) => {
            const ch = request.accept({ meta: `echo of ${new TextDecoder().decode(request.meta)}` });
            void (async () => {
              let first = true;
              for (let chunk = await ch.read(); chunk !== null; chunk = await ch.read()) {
                const out = chunk.slice();
                if (first) out[0] = (out[0]! ^ 0xff) & 0xff;
                first = false;
                await ch.write(out);
              }
              ch.end();
            })().catch(() => undefined);
          },
          error: () => undefined,
        }),
      );
    });
    try {
      const run = await runExample('effect-echo.ts', ['client', '--port', String(port), '--channels', '2', '--bytes', '64KiB']);
      expect(run.code).toBe(1);
      expect(run.stdout.match(/got back 65536 bytes sha256 [0-9a-f]{16}: MISMATCH$/gm)).toHaveLength(2);
      expect(run.stdout).toMatch(/client: MISMATCH\n$/);
    } finally {
      server?.unsubscribe();
    }
  });
});
