/**
 * Two js-libp2p nodes in one process, TCP on 127.0.0.1 with plaintext encryption, multiplexed by rxmux
 * (`rxmux/libp2p`, yamux on the wire): the listener serves an echo protocol, the dialer opens one stream per
 * message, sends it, half-closes, and reads the echo back.
 *
 *   npx tsx examples/libp2p-echo.ts [message ...]
 *
 * js-libp2p 3 calls Promise.withResolvers, which Node 20 lacks: the example adds it when missing.
 */
import { plaintext } from '@libp2p/plaintext';
import { tcp } from '@libp2p/tcp';
import { createLibp2p, type Libp2p } from 'libp2p';
import { rxmuxMuxer } from '../src/libp2p.js';

const ECHO = '/echo/1.0.0';

if (typeof (Promise as { withResolvers?: unknown }).withResolvers !== 'function') {
  Object.assign(Promise, {
    withResolvers<T>() {
      let resolve!: (value: T) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    },
  });
}

function node(): Promise<Libp2p> {
  return createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [plaintext()],
    streamMuxers: [rxmuxMuxer()],
  });
}

const messages = process.argv.slice(2);
if (messages.length === 0) messages.push('hello', 'from rxmux');

const listener = await node();
const dialer = await node();
try {
  // The echo handler: every chunk goes straight back, then the write side closes after the dialer's FIN.
  await listener.handle(ECHO, async (stream) => {
    for await (const chunk of stream) stream.send(chunk instanceof Uint8Array ? chunk : chunk.subarray());
    await stream.close();
  });
  const address = listener.getMultiaddrs()[0]!;
  console.log(`listener: ${ECHO} on ${address.toString()}`);

  for (const message of messages) {
    const stream = await dialer.dialProtocol(address, ECHO);
    stream.send(new TextEncoder().encode(message));
    await stream.close();
    const parts: Uint8Array[] = [];
    for await (const chunk of stream) parts.push(chunk instanceof Uint8Array ? chunk : chunk.subarray());
    const echoed = new TextDecoder().decode(Buffer.concat(parts));
    console.log(`dialer: sent "${message}", got back "${echoed}"`);
    if (echoed !== message) process.exitCode = 1;
  }
  const [connection] = dialer.getConnections();
  console.log(`dialer: ${messages.length} streams over one connection, muxer ${connection?.multiplexer ?? 'none'}`);
} finally {
  await dialer.stop();
  await listener.stop();
}
console.log('stopped');
