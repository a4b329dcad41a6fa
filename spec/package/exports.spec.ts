import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');

/** Runs an ES module snippet in a child Node process (jest itself runs CommonJS). */
function runModule(code: string): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', code], { cwd: root, encoding: 'utf8' });
}

describe('the built package', () => {
  const hadDist = existsSync(join(root, 'dist'));

  beforeAll(() => {
    execFileSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], { cwd: root });
  }, 120_000);

  afterAll(() => {
    if (!hadDist) rmSync(join(root, 'dist'), { recursive: true, force: true });
  });

  it('resolves every subpath export (rxmux, rxmux/node, rxmux/web, rxmux/testing) to ES modules with declarations', () => {
    const out = runModule(`
      const core = await import('rxmux');
      const node = await import('rxmux/node');
      const web = await import('rxmux/web');
      const testing = await import('rxmux/testing');
      console.log(JSON.stringify({
        core: [typeof core.multiplex, typeof core.createSession, typeof core.MuxError, typeof core.decodeFrames],
        node: [typeof node.socketCarrier, typeof node.toDuplex, typeof node.listen, typeof node.connect],
        web: [typeof web.websocketCarrier, typeof web.toWebStreams],
        testing: [typeof testing.virtualPeer, typeof testing.memoryPair, typeof testing.f],
      }));
    `);
    expect(JSON.parse(out)).toEqual({
      core: ['function', 'function', 'function', 'function'],
      node: ['function', 'function', 'function', 'function'],
      web: ['function', 'function'],
      testing: ['function', 'function', 'object'],
    });
    for (const entry of ['index', 'node', 'web', 'testing']) expect(existsSync(join(root, 'dist', `${entry}.d.ts`))).toBe(true);
  });

  it('runs a session between two in-memory carriers from the built code', () => {
    const out = runModule(`
      import { createSession, memoryPair } from 'rxmux';
      const [a, b] = memoryPair();
      const client = createSession(a, { role: 'client', keepAlive: false });
      const server = createSession(b, { role: 'server', keepAlive: false });
      server.incoming$.subscribe((req) => { const ch = req.accept({ meta: 'ok' }); ch.send(ch).subscribe(); });
      client.open({ meta: 'echo' }).subscribe((ch) => {
        let text = '';
        ch.incoming$.subscribe({ next: (d) => (text += new TextDecoder().decode(d)), complete: async () => {
          console.log(text + ' ' + new TextDecoder().decode(ch.replyMeta));
          await client.close();
        } });
        void ch.write('hello').then(() => ch.end());
      });
    `);
    expect(out.trim()).toBe('hello ok');
  });
});
