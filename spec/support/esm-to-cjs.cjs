/**
 * Jest transform for ESM-only packages under node_modules (effect and @effect/*): jest runs this repository's specs
 * as CommonJS, so their ES modules are converted to CommonJS with esbuild (a devDependency). Same code, same process.
 */
'use strict';
const { transformSync } = require('esbuild');
const { version } = require('esbuild/package.json');

module.exports = {
  process(source, filename) {
    const out = transformSync(source, { loader: 'js', format: 'cjs', target: 'node20', sourcefile: filename, sourcemap: 'inline' });
    return { code: out.code };
  },
  getCacheKey(source, filename) {
    return `esm-to-cjs:${version}:${filename}:${require('node:crypto').createHash('sha1').update(source).digest('hex')}`;
  },
};
