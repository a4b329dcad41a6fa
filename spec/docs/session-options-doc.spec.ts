/**
 * The README's "Session options" table matches the code: every option is listed, each default is the one in
 * SESSION_DEFAULTS, and each numeric range is the one the validation enforces (both ends accepted, one past refused).
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSession, SESSION_DEFAULTS, type SessionOptions } from '../../src/index.js';
import { memoryPair } from '../../src/testing.js';

const readme = readFileSync(resolve(__dirname, '../../README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## Session options'), readme.indexOf('## Error handling'));
const rows = [...section.matchAll(/^\| `(\w+)` \| ([^|]+) \| ([^|]+) \| [^|]+ \|$/gm)].map((m) => ({
  name: m[1]!,
  def: m[2]!.trim(),
  range: m[3]!.trim(),
}));

/** Starts (then destroys) a session with one option set: the validation is what createSession runs. */
function accepts(options: Partial<SessionOptions>): boolean {
  const [a] = memoryPair();
  try {
    createSession(a, { role: 'client', keepAlive: false, ...options } as SessionOptions).destroy();
    return true;
  } catch (e) {
    expect(e).toMatchObject({ code: 'ERR_MUX_INVALID_OPTION' });
    return false;
  }
}

describe('README session options table', () => {
  it('lists every option, role and scheduler included', () => {
    // frameTimeout's default is another option's value (keepAliveTimeout), so it is not in SESSION_DEFAULTS.
    expect(rows.map((r) => r.name).sort()).toEqual([...Object.keys(SESSION_DEFAULTS), 'role', 'scheduler', 'frameTimeout'].sort());
  });

  it('gives each default as SESSION_DEFAULTS has it', () => {
    for (const { name, def } of rows) {
      if (name === 'role' || name === 'scheduler') continue;
      const shown = def.replace(/ \(.*\)$/, '').replace(/`/g, '');
      if (name === 'frameTimeout') {
        // "`keepAliveTimeout` (10000)": that option's value, and its default in parentheses.
        expect(shown).toBe('keepAliveTimeout');
        expect(def).toContain(`(${SESSION_DEFAULTS.keepAliveTimeout})`);
        continue;
      }
      const value = (SESSION_DEFAULTS as Record<string, unknown>)[name];
      expect({ name, shown }).toEqual({ name, shown: typeof value === 'string' ? `'${value}'` : String(value) });
    }
  });

  it.each(rows.filter((r) => /^\S+ – \d+$/.test(r.range)))(
    'the range of $name is what the validation enforces ($range)',
    ({ name, range }) => {
      const [lowText, highText] = range.split(' – ') as [string, string];
      const low = lowText.startsWith('`')
        ? (SESSION_DEFAULTS as unknown as Record<string, number>)[lowText.replace(/`/g, '')]!
        : Number(lowText);
      const high = Number(highText);
      const extra: Partial<SessionOptions> = name === 'receiveWindow' ? { maxReceiveWindow: 2 ** 32 - 1 } : {};
      expect(accepts({ ...extra, [name]: low })).toBe(true);
      expect(accepts({ ...extra, [name]: high })).toBe(true);
      expect(accepts({ ...extra, [name]: low - 1 })).toBe(false);
      if (high < Number.MAX_SAFE_INTEGER) expect(accepts({ ...extra, [name]: high + 1 })).toBe(false);
    },
  );
});
