/**
 * examples/tcp-echo.ts, run as child processes: one process holding both ends, then a server and a client as two
 * processes talking over loopback TCP.
 */
import { createServer } from 'node:net';
import { killAll, runExample, startExample } from './run-example.js';

afterAll(killAll);

describe('examples/tcp-echo.ts', () => {
  it('echoes every message on its own channel of one connection when both ends run in one process', async () => {
    const run = await runExample('tcp-echo.ts', ['alpha', 'beta gamma', 'δέλτα']);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^server: echo server listening on 127\.0\.0\.1:\d+$/m);
    expect(run.stdout).toContain('client: channel 1 (server said "echo #1") sent "alpha", got back "alpha"');
    expect(run.stdout).toContain('client: channel 3 (server said "echo #3") sent "beta gamma", got back "beta gamma"');
    expect(run.stdout).toContain('client: channel 5 (server said "echo #5") sent "δέλτα", got back "δέλτα"');
    // The server logs each channel with the opener's metadata and the bytes it echoed (UTF-8 bytes, not characters).
    expect(run.stdout).toContain('server: channel 1 "message 1" echoed 5 bytes');
    expect(run.stdout).toContain('server: channel 5 "message 3" echoed 10 bytes');
    expect(run.stdout).toMatch(/^client: 3 channels over one connection, \d+ bytes out, \d+ in, ping \d+ ms$/m);
    expect(run.stdout).toMatch(/client: all echoes matched\n$/);
  });

  it('runs as a separate server and client, and the server stops cleanly on SIGINT', async () => {
    const server = startExample('tcp-echo.ts', ['server', '--port', '0']);
    const [, port] = await server.waitForLine(/^server: echo server listening on 127\.0\.0\.1:(\d+)$/);
    const client = await runExample('tcp-echo.ts', ['client', '--port', port!, 'one', 'two']);
    expect({ code: client.code, stderr: client.stderr }).toEqual({ code: 0, stderr: '' });
    expect(client.stdout).toContain('sent "one", got back "one"');
    expect(client.stdout).toContain('sent "two", got back "two"');
    await server.waitForLine(/^server: channel 3 "message 2" echoed 3 bytes$/);
    const exit = await server.stop('SIGINT');
    expect({ code: exit.code, signal: exit.signal, stderr: exit.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    expect(exit.stdout).toMatch(/server: stopped\n$/);
  });

  it('client fails with exit code 1 and a connection error when no server listens', async () => {
    // Find a free port by binding and releasing it: nothing listens there afterwards.
    const probe = createServer();
    await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((r) => probe.close(() => r()));
    const run = await runExample('tcp-echo.ts', ['client', '--port', String(port)]);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/connect to 127\.0\.0\.1:\d+ failed: connect ECONNREFUSED/);
  });
});
