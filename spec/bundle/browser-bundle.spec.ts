/**
 * The core (`rxmux`) and `rxmux/web` bundle for browsers with no Node built-ins: esbuild, platform 'browser',
 * nothing external but rxjs.
 */
import { build, type Metafile, type OutputFile } from 'esbuild';
import { join } from 'node:path';

const root = join(__dirname, '..', '..');

interface Bundle {
  readonly errors: number;
  readonly outputs: OutputFile[];
  readonly metafile: Metafile;
}

async function bundle(entry: string): Promise<Bundle> {
  const result = await build({
    absWorkingDir: root,
    entryPoints: [entry],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    external: ['rxjs', 'rxjs/*'],
    write: false,
    metafile: true,
    logLevel: 'silent',
    outdir: 'out',
  });
  return { errors: result.errors.length, outputs: result.outputFiles, metafile: result.metafile };
}

/** Import or require specifiers in the bundle (static, dynamic and require). */
function specifiers(code: string): string[] {
  const found = new Set<string>();
  const patterns = [
    /\bfrom\s*["']([^"']+)["']/g,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /\bimport\s*["']([^"']+)["']/g,
    /\brequire\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const p of patterns) for (const m of code.matchAll(p)) found.add(m[1]!);
  return [...found];
}

describe.each(['src/index.ts', 'src/web.ts'])('browser bundle of %s', (entry) => {
  let result: Bundle;
  beforeAll(async () => {
    result = await bundle(entry);
  }, 60_000);

  it('builds without errors', () => {
    expect(result.errors).toBe(0);
    expect(result.outputs).toHaveLength(1);
    expect(result.outputs[0]!.text.length).toBeGreaterThan(1000);
  });

  it('imports nothing but rxjs', () => {
    const imports = specifiers(result.outputs[0]!.text);
    expect(imports.filter((s) => s !== 'rxjs' && !s.startsWith('rxjs/'))).toEqual([]);
    expect(imports).toContain('rxjs');
  });

  it('bundles only files from src/, and no Node built-in', () => {
    const inputs = Object.keys(result.metafile.inputs);
    expect(inputs.filter((f) => !f.startsWith('src/'))).toEqual([]);
    const text = result.outputs[0]!.text;
    expect(text).not.toMatch(/["']node:/);
    expect(text).not.toMatch(/["'](buffer|process|stream|net|fs|crypto|events|path|os)["']/);
    expect(text).not.toMatch(/\bprocess\.(env|nextTick|versions|platform)\b/);
    expect(text).not.toMatch(/\bBuffer\.(from|alloc|allocUnsafe|concat|isBuffer)\b/);
    expect(text).not.toMatch(/\b(setImmediate|__dirname|__filename)\b/);
  });
});
