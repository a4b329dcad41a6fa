/**
 * rxmux talking to a Go program that uses hashicorp/yamux: the strict `yamux` profile puts plain yamux frames on
 * the wire (no metadata, resets without reasons), so any yamux implementation is a peer.
 *
 *   npm run setup:interop                                   builds the Go peer to .tmp/interop/yamuxpeer
 *   .tmp/interop/yamuxpeer -role server -listen 127.0.0.1:7300 -mode echo
 *   npx tsx examples/go-yamux-client.ts --port 7300 [--streams 4] [--bytes 1MiB]
 *
 * Opens --streams streams at once on one TCP connection, writes --bytes of seeded data on each, half-closes,
 * reads the echo back and compares SHA-256 digests; then pings the Go session and closes. Exits 0 when every
 * stream came back intact.
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { lastValueFrom } from 'rxjs';
import type { Channel, Session } from '../src/index.js';
import { mulberry32 } from '../src/testing.js';
import { connect } from '../src/node.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    host: { type: 'string', default: '127.0.0.1' },
    streams: { type: 'string', default: '4' },
    bytes: { type: 'string', default: '1MiB' },
  },
});

function parseSize(text: string): number {
  const m = /^(\d+)(KiB|MiB)?$/i.exec(text);
  if (!m) throw new Error(`bad size: ${text}`);
  return Number(m[1]) * ({ kib: 1024, mib: 1024 * 1024 }[(m[2] ?? '').toLowerCase()] ?? 1);
}

/** `size` seeded pseudo-random bytes, in 64 KiB chunks. */
function* seeded(seed: number, size: number): Generator<Uint8Array> {
  const random = mulberry32(seed);
  for (let at = 0; at < size; at += 65536) {
    const chunk = new Uint8Array(Math.min(65536, size - at));
    for (let i = 0; i < chunk.length; i++) chunk[i] = (random() * 256) | 0;
    yield chunk;
  }
}

const sha256 = (chunks: Iterable<Uint8Array>): string => {
  const hash = createHash('sha256');
  for (const c of chunks) hash.update(c);
  return hash.digest('hex');
};

/** Sends the seeded bytes on one stream and checks that the Go side echoed exactly them. */
async function roundTrip(session: Session, k: number, size: number): Promise<boolean> {
  const channel: Channel = await lastValueFrom(session.open()); // yamux: WindowUpdate|SYN, no metadata
  // Read the echo while sending (the Go side echoes as it reads, so both directions must flow).
  const echoed = (async () => {
    const hash = createHash('sha256');
    let n = 0;
    for await (const chunk of channel) {
      hash.update(chunk);
      n += chunk.byteLength;
    }
    return { n, sha: hash.digest('hex') };
  })();
  // send() pulls the generator only while the channel has room (memory stays bounded whatever --bytes is), then FIN.
  await lastValueFrom(channel.send(seeded(k, size)), { defaultValue: undefined });
  const back = await echoed;
  const sent = sha256(seeded(k, size));
  const got = back.sha;
  const ok = back.n === size && got === sent;
  console.log(`stream ${channel.id}: sent ${size} bytes, echoed ${back.n} bytes, sha256 ${ok ? 'ok' : 'MISMATCH'} ${got.slice(0, 16)}…`);
  return ok;
}

async function main(): Promise<number> {
  if (!values.port) throw new Error('usage: go-yamux-client.ts --port N [--host H] [--streams N] [--bytes SIZE]');
  const streams = Number(values.streams);
  const size = parseSize(values.bytes);
  const session = await new Promise<Session>((resolve, reject) =>
    connect({ port: Number(values.port), host: values.host, profile: 'yamux' }).subscribe({ next: resolve, error: reject }),
  );
  console.log(`connected to ${values.host}:${values.port} (profile ${session.profile}, role ${session.role})`);
  const started = performance.now();
  const results = await Promise.all(Array.from({ length: streams }, (_, k) => roundTrip(session, k, size)));
  const seconds = (performance.now() - started) / 1000;
  const rtt = await lastValueFrom(session.ping());
  const { bytesOut, bytesIn, framesOut, framesIn } = session.stats();
  await session.close();
  const ok = results.every(Boolean);
  console.log(
    `ping ${rtt} ms; ${bytesOut} bytes / ${framesOut} frames out, ${bytesIn} bytes / ${framesIn} frames in, ${seconds.toFixed(2)} s`,
  );
  console.log(ok ? `all ${streams} streams echoed intact by the Go yamux peer` : 'SOME STREAMS FAILED');
  return ok ? 0 : 1;
}

main().then(
  (code) => (process.exitCode = code),
  (e: Error) => {
    console.error(`error: ${e.message}`);
    process.exitCode = 1;
  },
);
