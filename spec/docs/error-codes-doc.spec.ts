/** The README's "Error codes" table lists exactly the codes of MuxErrorCodes. */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { MuxErrorCodes } from '../../src/index.js';

const readme = readFileSync(resolve(__dirname, '../../README.md'), 'utf8');
const section = readme.slice(readme.indexOf('## Error codes'), readme.indexOf('## Wire protocol and profiles'));

describe('README error codes table', () => {
  it('lists every ERR_MUX_* code once, and no other', () => {
    const listed = [...section.matchAll(/^\| `(ERR_MUX_\w+)` \|/gm)].map((m) => m[1]);
    expect([...listed].sort()).toEqual(Object.values(MuxErrorCodes).sort());
  });
});
