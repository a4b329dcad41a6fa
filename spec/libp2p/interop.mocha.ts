/**
 * The compliance suite's scenarios with rxmux/libp2p on one end and @chainsafe/libp2p-yamux 8 on the other, over
 * real TCP sockets on 127.0.0.1, both directions: rxmux dialing (the outbound connection, yamux client) and rxmux
 * listening. Run with spec/libp2p/register-socket-pair.mjs loaded, which gives the suite socket pairs.
 */
import '../interop/polyfills.js';
import { yamux } from '@chainsafe/libp2p-yamux';
import type { MessageStream, StreamMuxerFactory } from '@libp2p/interface';
import tests from '@libp2p/interface-compliance-tests/stream-muxer';
import { rxmuxMuxer } from '../../src/libp2p.js';
import { expectPassed, mocha } from './mocha-globals.js';
import { prepareSocketPair, socketPairsMade, stopSocketPairs } from './socket-pair.js';

/** A factory that makes rxmux for one direction of the connection and @chainsafe/libp2p-yamux for the other. */
function mixed(rxmuxSide: 'outbound' | 'inbound'): StreamMuxerFactory {
  const rx = rxmuxMuxer()();
  const js = yamux()();
  return {
    protocol: rx.protocol,
    createStreamMuxer: (maConn: MessageStream) =>
      maConn.direction === rxmuxSide ? rx.createStreamMuxer(maConn) : js.createStreamMuxer(maConn),
  };
}

expectPassed(92, 'rxmux/libp2p x @chainsafe/libp2p-yamux over 127.0.0.1');
mocha.beforeEach(prepareSocketPair);
mocha.after(async () => {
  await stopSocketPairs();
  if (socketPairsMade() < 92) throw new Error(`only ${socketPairsMade()} socket pairs were used: the suite did not run over sockets`);
});

for (const side of ['outbound', 'inbound'] as const) {
  mocha.describe(
    side === 'outbound' ? 'rxmux dials, @chainsafe/libp2p-yamux listens' : '@chainsafe/libp2p-yamux dials, rxmux listens',
    () => {
      tests({
        async setup() {
          return mixed(side);
        },
        async teardown() {},
      });
    },
  );
}
