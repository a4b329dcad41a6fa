/**
 * The package as its users get it: `npm pack` (which builds on prepack) into a scratch directory, installed into a
 * scratch project from the tarball (rxjs, ws and the type packages linked from this repository's node_modules, so
 * nothing is downloaded), then: what the tarball holds, publint and arethetypeswrong on it, ES module imports and
 * `require()` of every entry point, TypeScript against the installed declarations, and every ```ts block of the
 * README run as written: blocks that serve (they stop on SIGINT) get a client that drops without closing its
 * session, then well-behaved clients, and must still be serving, then exit cleanly on SIGINT.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect as netConnect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { firstValueFrom, lastValueFrom, switchMap, toArray } from 'rxjs';
import ts from 'typescript';
import WebSocket from 'ws';
import { encodeFrame, utf8, type Session } from '../../src/index.js';
import { connect } from '../../src/node.js';
import { f } from '../../src/testing.js';

const root = resolve(__dirname, '../..');
const tsx = join(root, 'node_modules/tsx/dist/cli.mjs');
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { name: string; version: string; license: string };

/**
 * Packages the scratch project takes from this repository's node_modules (linked, not downloaded): the peers (rxjs,
 * effect for rxmux/effect, rxmux/libp2p's optional peers) and what the README blocks import besides rxmux.
 */
const LINKED = [
  'rxjs',
  'tslib',
  'ws',
  '@types/node',
  '@types/ws',
  'undici-types',
  'effect',
  '@effect/platform-node-shared',
  // rxmux/libp2p's optional peers, and what its README block builds a node with.
  '@libp2p/interface',
  '@libp2p/utils',
  '@libp2p/tcp',
  '@libp2p/plaintext',
  'libp2p',
];

/** Node loads ES modules with require() (unflagged from 20.19 and 22.12). */
const REQUIRE_ESM = ((major: number, minor: number) => major > 22 || (major === 22 && minor >= 12) || (major === 20 && minor >= 19))(
  ...(process.versions.node.split('.').map(Number) as [number, number]),
);

let work: string;
let app: string;
let tarball: string;
let packedFiles: string[];

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): { status: number | null; out: string; err: string } {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
}

beforeAll(() => {
  const hadDist = existsSync(join(root, 'dist'));
  work = mkdtempSync(join(tmpdir(), 'rxmux-pkg-'));
  // npm pack runs prepack (the build) first: a clean clone packs a runnable package.
  const packed = run('npm', ['pack', '--json', '--pack-destination', work], root);
  if (packed.status !== 0) throw new Error(`npm pack failed:\n${packed.err}`);
  const info = JSON.parse(packed.out) as [{ filename: string; files: { path: string }[] }];
  tarball = join(work, info[0].filename);
  packedFiles = info[0].files.map((x) => x.path).sort();
  if (!hadDist) rmSync(join(root, 'dist'), { recursive: true, force: true });

  app = join(work, 'app');
  mkdirSync(app, { recursive: true });
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
  // --legacy-peer-deps: the rxjs peer is this repository's copy, linked below (after the install, which would prune it).
  const installed = run(
    'npm',
    ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--no-save', '--legacy-peer-deps', tarball],
    app,
  );
  if (installed.status !== 0) throw new Error(`npm install of the tarball failed:\n${installed.err}`);
  for (const name of LINKED) {
    mkdirSync(dirname(join(app, 'node_modules', name)), { recursive: true });
    symlinkSync(join(root, 'node_modules', name), join(app, 'node_modules', name), 'dir');
  }
}, 240_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

describe('the packed tarball', () => {
  it('holds the build, declarations, README, LICENSE and CHANGELOG, and no sources, specs or source maps', () => {
    for (const entry of ['index', 'node', 'web', 'testing', 'effect', 'libp2p']) {
      expect(packedFiles).toContain(`dist/${entry}.js`);
      expect(packedFiles).toContain(`dist/${entry}.d.ts`);
    }
    for (const file of ['README.md', 'LICENSE', 'CHANGELOG.md', 'package.json', 'docs/PROTOCOL.md']) expect(packedFiles).toContain(file);
    expect(
      packedFiles.filter((p) => /\.map$|^src\/|^spec\/|^examples\/|^bench\//.test(p) || (p.endsWith('.ts') && !p.endsWith('.d.ts'))),
    ).toEqual([]);
    for (const js of packedFiles.filter((p) => p.endsWith('.js'))) {
      expect(readFileSync(join(app, 'node_modules/rxmux', js), 'utf8')).not.toContain('sourceMappingURL');
    }
  });

  it('LICENSE matches the license in package.json; CHANGELOG.md has an entry for this version', () => {
    expect(pkg.license).toBe('MIT');
    expect(readFileSync(join(root, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n/);
    expect(readFileSync(join(root, 'CHANGELOG.md'), 'utf8')).toContain(`## [${pkg.version}]`);
  });

  it('publint finds nothing, and arethetypeswrong finds no problem beyond the package being ES modules', () => {
    const lint = run(
      process.execPath,
      [join(root, 'node_modules/publint/src/cli.js'), '--strict', '--pack', 'false', join(app, 'node_modules/rxmux')],
      root,
    );
    expect(`${lint.out}${lint.err}`).toContain('All good!');
    expect(lint.status).toBe(0);
    // cjs-resolves-to-esm: a CommonJS `require` gets the ES module (Node >= 20.19 loads it, see the next test).
    const attw = run(
      process.execPath,
      [
        join(root, 'node_modules/@arethetypeswrong/cli/dist/index.js'),
        tarball,
        '--ignore-rules',
        'cjs-resolves-to-esm',
        '--format',
        'table-flipped',
      ],
      root,
    );
    expect(`${attw.out}${attw.err}`).toContain('No problems found');
    expect(attw.status).toBe(0);
  }, 120_000);
});

describe('the installed package', () => {
  it('every entry point imports as an ES module', () => {
    const out = run(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `
      const core = await import('rxmux'), node = await import('rxmux/node'), web = await import('rxmux/web'), testing = await import('rxmux/testing'), effect = await import('rxmux/effect'), lp = await import('rxmux/libp2p');
      console.log(JSON.stringify([typeof core.multiplex, typeof core.MuxError, typeof node.listen, typeof node.socketCarrier, typeof web.websocketSessions, typeof web.toWebStreams, typeof testing.virtualPeer, typeof effect.make, typeof effect.fromSocket, typeof lp.rxmuxMuxer]));
    `,
      ],
      app,
    );
    expect(out.err).toBe('');
    expect(JSON.parse(out.out)).toEqual(Array(10).fill('function'));
  });

  it('require() gets the same module on Node >= 20.19 (require of an ES module); older Node says ERR_REQUIRE_ESM', () => {
    writeFileSync(
      join(app, 'require.cjs'),
      `
      try {
        const core = require('rxmux'), node = require('rxmux/node');
        console.log(JSON.stringify({ ok: [typeof core.createSession, typeof node.listen, new core.MuxError('ERR_MUX_LIMIT', 'x').code] }));
      } catch (e) { console.log(JSON.stringify({ code: e.code })); }
    `,
    );
    const out = JSON.parse(run(process.execPath, ['require.cjs'], app).out) as { ok?: string[]; code?: string };
    expect(out).toEqual(REQUIRE_ESM ? { ok: ['function', 'function', 'ERR_MUX_LIMIT'] } : { code: 'ERR_REQUIRE_ESM' });
  });

  it("type-checks a file that imports only rxmux/node in a project that lists no types (rxmux/node brings Node's)", () => {
    const dir = join(app, 'types-check');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'main.ts'), "import { listen } from 'rxmux/node';\nexport const server = listen({ port: 0 });\n");
    expect(typeErrors([join(dir, 'main.ts')], { types: [] })).toEqual([]);
  });

  it('a CommonJS TypeScript project (module nodenext) type-checks the import, compiles it to require(), and runs it', () => {
    const dir = join(app, 'cjs-project');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'cjs-project', private: true, type: 'commonjs' }));
    const main = join(dir, 'main.ts');
    writeFileSync(
      main,
      "import { createSession, MuxError } from 'rxmux';\nimport { memoryPair } from 'rxmux/testing';\nconst [a] = memoryPair();\ncreateSession(a, { role: 'client', keepAlive: false }).destroy();\nconsole.log(typeof createSession, new MuxError('ERR_MUX_LIMIT', 'x').code);\n",
    );
    const options: ts.CompilerOptions = {
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      target: ts.ScriptTarget.ES2022,
      strict: true,
      outDir: dir,
      typeRoots: [join(app, 'node_modules/@types')],
    };
    const program = ts.createProgram([main], options);
    const emitted = program.emit();
    expect(
      [...ts.getPreEmitDiagnostics(program), ...emitted.diagnostics].map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n')),
    ).toEqual([]);
    const js = readFileSync(join(dir, 'main.js'), 'utf8');
    expect(js).toContain('require("rxmux")');
    const out = run(process.execPath, ['main.js'], dir);
    if (REQUIRE_ESM) expect({ out: out.out.trim(), err: out.err }).toEqual({ out: 'function ERR_MUX_LIMIT', err: '' });
    else expect(out.err).toContain('ERR_REQUIRE_ESM');
  });

  it('every README block type-checks against the installed declarations', () => {
    const files = writeBlocks();
    expect(
      typeErrors(
        files.map((b) => b.file),
        {},
      ),
    ).toEqual([]);
  }, 120_000);

  it('TypeScript 7 (tsgo) agrees: the README blocks, and rxmux/node in a project that lists no types, type-check', () => {
    writeBlocks();
    const compilerOptions = {
      target: 'es2022',
      module: 'nodenext',
      moduleResolution: 'nodenext',
      lib: ['es2022', 'dom', 'dom.iterable'],
      strict: true,
      noEmit: true,
    };
    writeFileSync(
      join(app, 'tsconfig.readme.json'),
      JSON.stringify({ compilerOptions: { ...compilerOptions, types: ['node'] }, include: ['readme/*.ts'] }),
    );
    writeFileSync(
      join(app, 'tsconfig.notypes.json'),
      JSON.stringify({ compilerOptions: { ...compilerOptions, types: [] }, files: ['types-check/main.ts'] }),
    );
    mkdirSync(join(app, 'types-check'), { recursive: true });
    writeFileSync(
      join(app, 'types-check', 'main.ts'),
      "import { listen } from 'rxmux/node';\nexport const server = listen({ port: 0 });\n",
    );
    for (const project of ['tsconfig.readme.json', 'tsconfig.notypes.json']) {
      const r = run(process.execPath, [join(root, 'node_modules/@typescript/native-preview/bin/tsgo'), '-p', project], app);
      expect({ project, status: r.status, out: r.out }).toEqual({ project, status: 0, out: '' });
    }
  }, 120_000);
});

// ------------------------------------------------------------------------------------------------ README blocks

type Block = { index: number; file: string; code: string; prints: string[]; heading: string };

/** Writes every ```ts block of README.md, as written, into the scratch project. */
function writeBlocks(): Block[] {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const dir = join(app, 'readme');
  mkdirSync(dir, { recursive: true });
  const blocks: Block[] = [];
  let heading = '';
  let index = 0;
  for (const m of readme.matchAll(/^(#{2,3} .*)$|^```ts\n([\s\S]*?)^```$/gm)) {
    if (m[1] !== undefined) {
      heading = m[1].replace(/^#+ /, '');
      continue;
    }
    const code = m[2]!;
    index++;
    const file = join(dir, `block${index}.ts`);
    writeFileSync(file, code);
    blocks.push({ index, file, code, heading, prints: [...code.matchAll(/prints "([^"]+)"/g)].map((p) => p[1]!) });
  }
  return blocks;
}

function typeErrors(files: string[], extra: ts.CompilerOptions): string[] {
  const options: ts.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    lib: ['lib.es2022.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts', 'lib.dom.asynciterable.d.ts'],
    strict: true,
    noEmit: true,
    skipLibCheck: false,
    typeRoots: [join(app, 'node_modules/@types')],
    ...extra,
  };
  const host = ts.createCompilerHost(options);
  const program = ts.createProgram(files, options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${d.file.fileName.replace(app, '')}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

type Running = { child: ChildProcess; out: () => string; err: () => string; exited: Promise<number | null> };

function start(block: Block, env: NodeJS.ProcessEnv = {}): Running {
  const child = spawn(process.execPath, [tsx, block.file], {
    cwd: dirname(block.file),
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  return { child, out: () => out, err: () => err, exited };
}

/** Resolves once `running` printed every one of `texts`; rejects (with its output) if it exits first or takes over 30 s. */
async function printed(running: Running, texts: string[]): Promise<void> {
  const done = () => texts.every((t) => running.out().includes(t));
  await new Promise<void>((resolveWait, reject) => {
    const fail = (why: string) =>
      reject(new Error(`${why}; expected ${JSON.stringify(texts)}\nstdout:\n${running.out()}\nstderr:\n${running.err()}`));
    const timer = setTimeout(() => fail('timed out'), 30_000);
    const check = () => {
      if (!done()) return;
      clearTimeout(timer);
      running.child.stdout!.off('data', check);
      resolveWait();
    };
    running.child.stdout!.on('data', check);
    void running.exited.then((code) => {
      if (done()) check();
      else {
        clearTimeout(timer);
        fail(`exited with ${code}`);
      }
    });
    check();
  });
}

async function exitCode(running: Running): Promise<number | null> {
  const timer = setTimeout(() => running.child.kill('SIGKILL'), 30_000);
  const code = await running.exited;
  clearTimeout(timer);
  return code;
}

async function freePort(): Promise<number> {
  const srv = createServer().listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address() as AddressInfo;
  await new Promise((r) => srv.close(r));
  return port;
}

/** A TCP client that opens a channel, sends a few bytes and drops the connection without closing its session. */
async function vanishingTcpClient(port: number): Promise<void> {
  const socket = netConnect(port, '127.0.0.1');
  await once(socket, 'connect');
  socket.write(encodeFrame(f.open(1, 'echo')));
  socket.write(encodeFrame(f.data(1, 'half a message')));
  await once(socket, 'data'); // the accept (and maybe the echo): the server is using the channel
  socket.destroy();
  await once(socket, 'close');
}

/** A well-behaved client: opens a channel, sends `text`, returns the echo. */
async function tcpEcho(port: number, text: string): Promise<string> {
  return lastValueFrom(
    connect({ port, keepAlive: false }).pipe(
      switchMap(async (session: Session) => {
        const channel = await firstValueFrom(session.open({ meta: 'echo' }));
        const back = lastValueFrom(channel.incoming$.pipe(toArray()));
        await channel.write(text);
        channel.end();
        const echoed = (await back).map(utf8).join('');
        await session.close();
        return echoed;
      }),
    ),
  );
}

/** WebSocket clients that vanish: one cut without a close frame (1006), one going away (1001) as a closing tab does. */
async function vanishingWsClients(port: number): Promise<void> {
  for (const leave of [(ws: WebSocket) => ws.terminate(), (ws: WebSocket) => ws.close(1001)]) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/mux`);
    await once(ws, 'open');
    ws.send(encodeFrame(f.open(1, 'echo')));
    ws.send(encodeFrame(f.data(1, 'half a message')));
    await once(ws, 'message');
    leave(ws);
    await once(ws, 'close');
  }
}

describe('README blocks, run as written from the installed package', () => {
  const blocks = existsSync(join(root, 'README.md')) ? readmeBlocksForTitles() : [];

  function readmeBlocksForTitles(): { index: number; heading: string; kind: string }[] {
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const out: { index: number; heading: string; kind: string }[] = [];
    let heading = '';
    let index = 0;
    for (const m of readme.matchAll(/^(#{2,3} .*)$|^```ts\n([\s\S]*?)^```$/gm)) {
      if (m[1] !== undefined) heading = m[1].replace(/^#+ /, '');
      else out.push({ index: ++index, heading, kind: kindOf(m[2]!) });
    }
    return out;
  }

  function kindOf(code: string): string {
    if (code.includes("process.once('SIGINT'")) return code.includes("from 'ws'") ? 'ws-server' : 'tcp-server';
    if (code.includes('new WebSocket(')) return 'ws-client';
    return 'program';
  }

  it('there are blocks of every kind, and each says what it prints', () => {
    const kinds = blocks.map((b) => b.kind);
    for (const kind of ['program', 'tcp-server', 'ws-server', 'ws-client']) expect(kinds).toContain(kind);
    for (const b of writeBlocks())
      expect({ block: b.index, heading: b.heading, prints: b.prints.length > 0 }).toEqual({
        block: b.index,
        heading: b.heading,
        prints: true,
      });
  });

  it.each(blocks.filter((b) => b.kind === 'program'))(
    'block $index ($heading) runs to its end, printing what it says, with nothing on stderr',
    async ({ index }) => {
      const block = writeBlocks()[index - 1]!;
      const running = start(block);
      await printed(running, block.prints);
      expect(await exitCode(running)).toBe(0);
      expect(running.err()).toBe('');
    },
    60_000,
  );

  it.each(blocks.filter((b) => b.kind === 'tcp-server'))(
    'block $index ($heading) keeps serving after a client drops without closing its session, then stops cleanly on SIGINT',
    async ({ index }) => {
      const block = writeBlocks()[index - 1]!;
      const port = await freePort();
      const running = start(block, { PORT: String(port) });
      try {
        await printed(running, block.prints);
        await vanishingTcpClient(port);
        await vanishingTcpClient(port);
        expect(await tcpEcho(port, 'still serving')).toBe('still serving');
        expect(running.child.exitCode).toBeNull();
        running.child.kill('SIGINT');
        expect(await exitCode(running)).toBe(0);
        expect(running.err()).toBe('');
      } finally {
        running.child.kill('SIGKILL');
      }
    },
    90_000,
  );

  it.each(blocks.filter((b) => b.kind === 'ws-server'))(
    'block $index ($heading) keeps serving after WebSocket clients vanish (1006) or go away (1001); the WebSocket client block talks to it; SIGINT stops it cleanly',
    async ({ index }) => {
      const all = writeBlocks();
      const block = all[index - 1]!;
      const client = all.find((b) => kindOf(b.code) === 'ws-client')!;
      const port = await freePort();
      const running = start(block, { PORT: String(port) });
      try {
        await printed(running, block.prints);
        await vanishingWsClients(port);
        for (let i = 0; i < 2; i++) {
          const c = start(client, { PORT: String(port) });
          await printed(c, client.prints);
          expect(await exitCode(c)).toBe(0);
          expect(c.err()).toBe('');
        }
        expect(running.child.exitCode).toBeNull();
        running.child.kill('SIGINT');
        expect(await exitCode(running)).toBe(0);
        expect(running.err()).toBe('');
      } finally {
        running.child.kill('SIGKILL');
      }
    },
    90_000,
  );
});
