/**
 * rxmux from Effect: an echo server that takes the peer's channels as a Stream and echoes each through its Sink, and a
 * client written with Effect.gen that sends a few channels of data at once and checks the echoes with SHA-256. Both
 * ends speak over Effect's own sockets (NodeSocket, NodeSocketServer from @effect/platform-node-shared).
 *
 *   npx tsx examples/effect-echo.ts [--channels 4] [--bytes 1MiB]        both ends in one process, over loopback TCP
 *   npx tsx examples/effect-echo.ts server [--port 7000]                  echo server (Ctrl-C stops it)
 *   npx tsx examples/effect-echo.ts client --port 7000 [--channels 4]     client
 *
 * Exits 0 when every echo hashed equal to what was sent, 1 on a mismatch or an error (a tagged rxmux error, e.g.
 * MuxCarrierError when nothing listens).
 */
import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { NodeSocket, NodeSocketServer } from '@effect/platform-node-shared';
import { Console, Deferred, Effect, Fiber, Stream } from 'effect';
import type { Socket } from 'effect/socket';
import { fromSocket, type MuxSessionService, type RxmuxError } from '../src/effect.js';
import { mulberry32 } from '../src/testing.js';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    channels: { type: 'string', default: '4' },
    bytes: { type: 'string', default: '1MiB' },
  },
});
const mode = positionals[0] === 'server' || positionals[0] === 'client' ? positionals[0] : 'both';
const host = values.host;
const channels = Number(values.channels);
const bytes = parseSize(values.bytes);

function parseSize(text: string): number {
  const m = /^(\d+)(KiB|MiB)?$/.exec(text);
  if (!m) throw new Error(`--bytes: expected a size such as 65536, 64KiB or 1MiB, got ${text}`);
  return Number(m[1]) * (m[2] === 'MiB' ? 1024 * 1024 : m[2] === 'KiB' ? 1024 : 1);
}

/** Seeded bytes for channel k (reproducible runs). */
function payload(k: number): Uint8Array {
  const rng = mulberry32(k + 1);
  const out = new Uint8Array(bytes);
  for (let i = 0; i < bytes; i++) out[i] = Math.floor(rng() * 256);
  return out;
}

const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Hashes a Stream of chunks as they are pulled (pulling is what grants the peer credit). */
const hashStream = <E>(stream: Stream.Stream<Uint8Array, E>) =>
  Effect.suspend(() => {
    const hash = createHash('sha256');
    let n = 0;
    return Stream.runForEach(stream, (chunk) =>
      Effect.sync(() => {
        hash.update(chunk);
        n += chunk.byteLength;
      }),
    ).pipe(Effect.map(() => ({ bytes: n, sha: hash.digest('hex') })));
  });

/** One connection: a server session whose incoming channels, a Stream, are each echoed through their Sink. */
const serveConnection = (socket: Socket.Socket) =>
  Effect.scoped(
    Effect.gen(function* () {
      const session = yield* fromSocket(socket, { role: 'server' });
      yield* session.incoming.pipe(
        Stream.mapEffect(
          (request) =>
            Effect.scoped(
              Effect.gen(function* () {
                const channel = yield* request.accept({ meta: `echo of ${request.metaText}` });
                yield* channel.stream.pipe(Stream.run(channel.sink)); // ends with our FIN after the client's
                const { bytesOut } = yield* channel.stats;
                yield* Console.log(`server: channel ${channel.id} "${request.metaText}" echoed ${bytesOut} bytes`);
              }),
            ),
          { concurrency: 'unbounded' },
        ),
        Stream.runDrain,
      );
    }),
  ).pipe(Effect.catch((e: RxmuxError | Socket.SocketError) => Console.log(`server: a session ended with ${e._tag}: ${e.message}`)));

/** Listens, prints the address, serves every connection; interrupting it stops the server and closes its sessions. */
const server = (port: number, ready: (port: number) => Effect.Effect<unknown>) =>
  Effect.scoped(
    Effect.gen(function* () {
      const socketServer = yield* NodeSocketServer.make({ host, port });
      const address = socketServer.address;
      const bound = address._tag === 'UnixPathAddress' ? port : address.port;
      yield* Console.log(`server: echo server listening on ${host}:${bound}`);
      const serving = yield* Effect.forkChild(socketServer.run(serveConnection));
      yield* ready(bound);
      yield* Fiber.join(serving);
    }),
  );

/** One channel: sends the payload through send(stream) while hashing the echo; the channel lives in this scope. */
const echoChannel = (session: MuxSessionService, k: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const data = payload(k);
      const channel = yield* session.open({ meta: `payload ${k}` });
      const chunks = Stream.fromIterable(
        Array.from({ length: Math.ceil(bytes / 65536) }, (_, i) => data.subarray(i * 65536, (i + 1) * 65536)),
      );
      const [, echoed] = yield* Effect.all([channel.send(chunks), hashStream(channel.stream)], { concurrency: 2 });
      const sent = sha256(data);
      const ok = echoed.sha === sent && echoed.bytes === bytes;
      const reply = new TextDecoder().decode(channel.replyMeta);
      yield* Console.log(
        `client: channel ${channel.id} (server said "${reply}") sent ${bytes} bytes sha256 ${sent.slice(0, 16)}, got back ${echoed.bytes} bytes sha256 ${echoed.sha.slice(0, 16)}: ${ok ? 'match' : 'MISMATCH'}`,
      );
      return ok;
    }),
  );

/** The client, in Effect.gen: one session over one TCP connection, every channel at once; true when all matched. */
const client = (port: number) =>
  Effect.scoped(
    Effect.gen(function* () {
      const socket = yield* NodeSocket.makeNet({ host, port });
      const session = yield* fromSocket(socket, { role: 'client' });
      const started = Date.now();
      const results = yield* Effect.forEach(
        Array.from({ length: channels }, (_, k) => k),
        (k) => echoChannel(session, k),
        { concurrency: 'unbounded' },
      );
      const rtt = yield* session.ping();
      const stats = yield* session.stats;
      yield* session.close;
      const ok = results.every(Boolean);
      yield* Console.log(
        `client: ${channels} channels over one connection in ${Date.now() - started} ms, ${stats.bytesOut} bytes out, ${stats.bytesIn} in, ping ${rtt} ms`,
      );
      yield* Console.log(ok ? 'client: all echoes matched' : 'client: MISMATCH');
      return ok;
    }),
  );

const program: Effect.Effect<boolean, unknown> =
  mode === 'client'
    ? client(Number(values.port))
    : mode === 'server'
      ? Effect.as(
          server(Number(values.port), () => Effect.void),
          true,
        )
      : Effect.scoped(
          Effect.gen(function* () {
            // Both ends: the client runs once the server listens; leaving this scope interrupts the server.
            const listening = yield* Deferred.make<number>();
            yield* Effect.forkScoped(server(0, (port) => Deferred.succeed(listening, port)));
            return yield* client(yield* Deferred.await(listening));
          }),
        );

const fiber = Effect.runFork(
  program.pipe(
    Effect.catchTags({
      MuxCarrierError: (e: RxmuxError) => Effect.andThen(Console.error(`${e._tag}: ${e.message}`), Effect.succeed(false)),
    }),
  ),
);
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => fiber.interruptUnsafe());
fiber.addObserver((exit) => {
  if (exit._tag === 'Success') {
    process.exitCode = exit.value ? 0 : 1;
  } else if (mode === 'server' && exit.cause.reasons.every((r) => r._tag === 'Interrupt')) {
    console.log('server: stopped');
    process.exitCode = 0;
  } else {
    console.error(`effect-echo failed: ${String(exit.cause)}`);
    process.exitCode = 1;
  }
});
