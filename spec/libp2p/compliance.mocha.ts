/**
 * libp2p's own stream-muxer compliance suite (@libp2p/interface-compliance-tests, export `stream-muxer`: base,
 * close, streams, stress) against rxmux/libp2p on both ends, over the suite's in-memory connection pair. Run by
 * `npm run test:libp2p` (mocha: the suite is written for mocha and aegir's chai), which `npm test` calls.
 */
import '../interop/polyfills.js';
import tests from '@libp2p/interface-compliance-tests/stream-muxer';
import { rxmuxMuxer } from '../../src/libp2p.js';
import { expectPassed } from './mocha-globals.js';

expectPassed(46, 'rxmux/libp2p compliance');

tests({
  async setup() {
    return rxmuxMuxer()();
  },
  async teardown() {},
});
