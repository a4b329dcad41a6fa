import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(__dirname, '../..');

/** The ```ts blocks of a Markdown file. */
function tsBlocks(markdown: string): string[] {
  return [...markdown.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

/** Points the package's public entry points at the sources, as a user's import would resolve after a build. */
function localImports(code: string): string {
  return code
    .replace(/from (['"])rxmux\/node\1/g, "from '../../src/node.js'")
    .replace(/from (['"])rxmux\/web\1/g, "from '../../src/web.js'")
    .replace(/from (['"])rxmux\/testing\1/g, "from '../../src/testing.js'")
    .replace(/from (['"])rxmux\/frame\1/g, "from '../../src/frame.js'")
    .replace(/from (['"])rxmux\/effect\1/g, "from '../../src/effect.js'")
    .replace(/from (['"])rxmux\/libp2p\1/g, "from '../../src/libp2p.js'")
    .replace(/from (['"])rxmux\1/g, "from '../../src/index.js'");
}

function typeErrors(files: string[]): string[] {
  const config = ts.readConfigFile(join(root, 'tsconfig.json'), ts.sys.readFile);
  const parsed = ts.parseJsonConfigFileContent(config.config, ts.sys, root);
  const program = ts.createProgram(files, { ...parsed.options, noEmit: true, noUnusedLocals: false });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const where = d.file ? `${d.file.fileName}:${d.file.getLineAndCharacterOfPosition(d.start ?? 0).line + 1}` : '';
    return `${where} ${ts.flattenDiagnosticMessageText(d.messageText, '\n')}`;
  });
}

describe('README examples', () => {
  const dir = join(root, '.tmp', 'readme-blocks');

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('every TypeScript block in README.md type-checks against the current API', () => {
    const blocks = tsBlocks(readFileSync(join(root, 'README.md'), 'utf8'));
    expect(blocks.length).toBeGreaterThanOrEqual(5);
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const files = blocks.map((code, i) => {
      const file = join(dir, `block${i + 1}.ts`);
      // Each block is its own module.
      writeFileSync(file, `${localImports(code)}\nexport {};\n`);
      return file;
    });
    expect(typeErrors(files)).toEqual([]);
  }, 60_000);
});
