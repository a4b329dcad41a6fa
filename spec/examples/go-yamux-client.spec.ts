/**
 * examples/go-yamux-client.ts against the Go hashicorp/yamux peer (spec/interop/go), both as child processes.
 * With CI=true a missing Go peer fails the suite; locally it prints
 * "SKIPPED: Go yamux interop (run: npm run setup:interop)" and the suite reports that.
 */
import { goPeerPath, requireGoPeer, startGoPeer, type GoPeer } from '../interop/go-peer.js';
import { killAll, runExample } from './run-example.js';

const GO_AVAILABLE = goPeerPath() !== undefined;

describe('examples/go-yamux-client.ts', () => {
  let peerBin: string | undefined;
  let peer: GoPeer | undefined;
  beforeAll(() => {
    // Prints the SKIPPED line when the peer is missing; throws under CI=true.
    peerBin = requireGoPeer();
  });
  afterAll(async () => {
    killAll();
    peer?.kill();
    if (peer) await peer.exited;
  });

  if (!GO_AVAILABLE && process.env.CI !== 'true') {
    it('SKIPPED: the Go yamux peer is not installed (run: npm run setup:interop)', () => {
      expect(peerBin).toBeUndefined();
    });
    return;
  }

  it('opens 4 streams to a Go yamux echo server with the yamux profile and gets every byte back', async () => {
    peer = await startGoPeer(['-role', 'server', '-listen', '127.0.0.1:0', '-mode', 'echo', '-streams', '4'], { timeoutMs: 40_000 });
    const { port } = await peer.listening;
    const run = await runExample('go-yamux-client.ts', ['--port', String(port), '--streams', '4', '--bytes', '512KiB']);
    expect({ code: run.code, stderr: run.stderr }).toEqual({ code: 0, stderr: '' });
    expect(run.stdout).toContain(`connected to 127.0.0.1:${port} (profile yamux, role client)`);
    const ok = run.stdout.match(/^stream (\d+): sent 524288 bytes, echoed 524288 bytes, sha256 ok [0-9a-f]{16}…$/gm) ?? [];
    expect(ok.map((l) => Number(/^stream (\d+)/.exec(l)![1])).sort((a, b) => a - b)).toEqual([1, 3, 5, 7]);
    expect(run.stdout).toMatch(/^ping \d+ ms; \d+ bytes \/ \d+ frames out, \d+ bytes \/ \d+ frames in, [\d.]+ s$/m);
    expect(run.stdout).toMatch(/all 4 streams echoed intact by the Go yamux peer\n$/);
    // The Go side echoed the four client streams (odd ids) in full, then saw the session end.
    await peer.waitForLine('DONE');
    for (const id of [1, 3, 5, 7]) expect(peer.stdoutLines).toContain(`ECHO ${id} 524288`);
    await peer.waitForLine(/^SESSION END /);
  });
});
