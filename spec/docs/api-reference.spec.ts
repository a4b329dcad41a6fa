/**
 * The API reference: typedoc builds it for every entry point with warnings as errors (`npm run docs`), every exported
 * symbol documented: `typedoc.json` lists no symbol as intentionally undocumented, and no source file holds one.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '../..');
const typedoc = join(root, 'node_modules/typedoc/bin/typedoc');
const config = JSON.parse(readFileSync(join(root, 'typedoc.json'), 'utf8')) as {
  entryPoints: string[];
  intentionallyNotDocumented: string[];
};

/** Source folders whose every export must be documented: all of them. */
const FULLY_DOCUMENTED = ['src/'];

describe('API reference (typedoc)', () => {
  const out = mkdtempSync(join(tmpdir(), 'rxmux-api-'));
  afterAll(() => rmSync(out, { recursive: true, force: true }));

  it('builds for every entry point with warnings as errors, with a page per entry point and per public function', () => {
    const result = spawnSync(process.execPath, [typedoc, '--options', 'typedoc.json', '--out', join(out, 'html')], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(`${result.stdout}${result.stderr}`).not.toMatch(/\[(warning|error)\]/);
    expect(result.status).toBe(0);
    expect(config.entryPoints.sort()).toEqual([
      'src/effect.ts',
      'src/frame.ts',
      'src/index.ts',
      'src/libp2p.ts',
      'src/node.ts',
      'src/testing.ts',
      'src/web.ts',
    ]);
    for (const entry of ['index', 'frame', 'node', 'web', 'testing', 'effect', 'libp2p'])
      expect(existsSync(join(out, 'html', 'modules', `${entry}.html`))).toBe(true);
    for (const [entry, fn] of [
      ['index', 'multiplex'],
      ['node', 'listen'],
      ['web', 'websocketSessions'],
      ['testing', 'virtualPeer'],
      ['effect', 'make'],
      ['libp2p', 'rxmuxMuxer'],
    ] as const) {
      const page = join(out, 'html', 'functions', `${entry}.${fn}.html`);
      expect(existsSync(page)).toBe(true);
    }
  }, 120_000);

  it('leaves no exported symbol undocumented, and lists none as intentionally undocumented', () => {
    // The same build with the list emptied and warnings allowed: it must warn about nothing undocumented.
    expect(config.intentionallyNotDocumented).toEqual([]);
    const options = join(out, 'strictest.json');
    writeFileSync(
      options,
      JSON.stringify({ extends: [join(root, 'typedoc.json')], intentionallyNotDocumented: [], treatWarningsAsErrors: false }),
    );
    const run = spawnSync(process.execPath, [typedoc, '--options', options, '--out', join(out, 'html2')], { cwd: root, encoding: 'utf8' });
    expect(run.status).toBe(0);
    const text = `${run.stdout}${run.stderr}`.replace(/\x1b\[[0-9;]*m/g, '');
    const found = [...text.matchAll(/\[warning\] (\S+) \([^)]*\), defined in rxmux\/(\S+), does not have any documentation/g)].map((m) => ({
      name: m[1]!,
      file: m[2]!,
    }));
    expect(found.map((f) => f.name).sort()).toEqual([...config.intentionallyNotDocumented].sort());
    expect(found.filter((f) => FULLY_DOCUMENTED.some((dir) => f.file.startsWith(dir)))).toEqual([]);
  }, 120_000);
});
