/**
 * examples/libp2p-echo.ts, run as a child process: two js-libp2p nodes (TCP on 127.0.0.1, plaintext) whose streams
 * rxmux multiplexes, an echo protocol, one stream per message; both nodes stop and the process exits by itself.
 */
import { killAll, runExample } from './run-example.js';

afterAll(killAll);

describe('examples/libp2p-echo.ts', () => {
  it('echoes each message on its own libp2p stream over one rxmux-multiplexed connection, then stops both nodes', async () => {
    const run = await runExample('libp2p-echo.ts', ['alpha', 'beta gamma', 'δέλτα']);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toMatch(/^listener: \/echo\/1\.0\.0 on \/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\w+$/m);
    expect(run.stdout).toContain('dialer: sent "alpha", got back "alpha"');
    expect(run.stdout).toContain('dialer: sent "beta gamma", got back "beta gamma"');
    expect(run.stdout).toContain('dialer: sent "δέλτα", got back "δέλτα"');
    expect(run.stdout).toContain('dialer: 3 streams over one connection, muxer /yamux/1.0.0');
    expect(run.stdout).toMatch(/stopped\n$/);
  });
});
