/**
 * rxmux/effect over Effect's own Socket (socketCarrier, fromSocket): NodeSocket and NodeSocketServer from
 * @effect/platform-node-shared on real loopback TCP. Data both ways on several channels, opens from both ends, a
 * graceful close seen cleanly by both sessions, a refused connection and a peer that vanishes as tagged errors.
 */
import { createServer, type AddressInfo, type Server, type Socket as NetSocket } from 'node:net';
import { NodeSocket } from '@effect/platform-node-shared';
import { Deferred, Effect, Fiber, Layer, Stream } from 'effect';
import type { Socket } from 'effect/socket';
import { createSession } from '../../src/index.js';
import { socketCarrier as nodeSocketCarrier } from '../../src/node.js';
import { fromSocket, layer, MuxSession, type MuxSessionService } from '../../src/effect.js';
import { seeded } from './support.js';
import { chunked, hashStream, runLive, serveSockets, sha256 } from './net.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/** How a session ended: 'clean', or the tag of its error. */
const outcome = (session: MuxSessionService): Effect.Effect<string> =>
  session.closed.pipe(
    Effect.as('clean'),
    Effect.catch((e) => Effect.succeed(e._tag)),
  );

describe('rxmux/effect over an Effect Socket (NodeSocket, loopback TCP)', () => {
  it('echoes 1 MiB on each of 3 channels through Sinks, the server opens one of its own, and a scope close ends both sessions cleanly', async () => {
    const result = await runLive(
      Effect.gen(function* () {
        const serverEnd = yield* Deferred.make<{ outcome: string; greetingSha: string }>();
        const greeting = seeded(300 * KiB, 99);
        const { port } = yield* serveSockets((socket) =>
          Effect.gen(function* () {
            const session = yield* fromSocket(socket, { role: 'server', keepAlive: false });
            // The server opens a channel too, and sends a greeting the client hashes.
            const greetingCh = yield* session.open({ meta: 'greeting' });
            yield* Effect.forkChild(greetingCh.send(chunked(greeting)));
            yield* session.incoming.pipe(
              Stream.mapEffect((request) => Effect.scoped(Effect.flatMap(request.accept(), (ch) => Stream.run(ch.stream, ch.sink))), {
                concurrency: 'unbounded',
              }),
              Stream.runDrain,
            );
            yield* Deferred.succeed(serverEnd, { outcome: yield* outcome(session), greetingSha: sha256(greeting) });
          }).pipe(Effect.orDie),
        );

        const client = yield* fromSocket(yield* NodeSocket.makeNet({ host: '127.0.0.1', port }), { role: 'client', keepAlive: false });
        const greetingFiber = yield* client.incoming.pipe(
          Stream.take(1),
          Stream.mapEffect((request) =>
            Effect.scoped(
              Effect.flatMap(request.accept(), (ch) => Effect.map(hashStream(ch.stream), (h) => ({ meta: request.metaText, ...h }))),
            ),
          ),
          Stream.runCollect,
          Effect.forkChild,
        );
        const payloads = [1, 2, 3].map((seed) => seeded(1 * MiB, seed));
        const echoes = yield* Effect.forEach(
          payloads,
          (data) =>
            Effect.scoped(
              Effect.gen(function* () {
                const ch = yield* client.open({ meta: 'echo' });
                const sending = yield* Effect.forkChild(ch.send(chunked(data, 64 * KiB)));
                const back = yield* hashStream(ch.stream);
                yield* Fiber.join(sending);
                return { id: ch.id, ...back, sent: sha256(data) };
              }),
            ),
          { concurrency: 'unbounded' },
        );
        const greetingSeen = yield* Fiber.join(greetingFiber);
        const stats = yield* client.stats;
        yield* client.close;
        const server = yield* Deferred.await(serverEnd);
        return { echoes, greetingSeen, stats, client: yield* outcome(client), server };
      }),
    );
    expect(result.echoes).toHaveLength(3);
    for (const e of result.echoes) expect({ bytes: e.bytes, sha: e.sha }).toEqual({ bytes: 1 * MiB, sha: e.sent });
    expect(new Set(result.echoes.map((e) => e.id)).size).toBe(3);
    expect(result.greetingSeen).toEqual([{ meta: 'greeting', bytes: 300 * KiB, sha: result.server.greetingSha }]);
    expect(result.stats.bytesIn).toBeGreaterThanOrEqual(3 * MiB + 300 * KiB);
    expect(result.client).toBe('clean');
    expect(result.server.outcome).toBe('clean');
  });

  it("layer() provides MuxSession over NodeSocket.layerNet's Socket: a program opens and echoes through it", async () => {
    const result = await runLive(
      Effect.gen(function* () {
        const { port } = yield* serveSockets((socket) =>
          Effect.gen(function* () {
            const session = yield* fromSocket(socket, { role: 'server', keepAlive: false });
            yield* session.incoming.pipe(
              Stream.mapEffect((request) => Effect.scoped(Effect.flatMap(request.accept(), (ch) => Stream.run(ch.stream, ch.sink)))),
              Stream.runDrain,
            );
          }).pipe(Effect.orDie),
        );
        const Live = layer({ role: 'client', keepAlive: false }).pipe(Layer.provide(NodeSocket.layerNet({ host: '127.0.0.1', port })));
        return yield* Effect.gen(function* () {
          const session = yield* MuxSession;
          return yield* Effect.scoped(
            Effect.gen(function* () {
              const ch = yield* session.open();
              yield* ch.send(Stream.make('through ', 'the layer'));
              return yield* ch.stream.pipe(Stream.decodeText(), Stream.mkString);
            }),
          );
        }).pipe(Effect.provide(Live));
      }),
    );
    expect(result).toBe('through the layer');
  });

  it('a refused connection fails fromSocket with MuxCarrierError carrying the SocketError', async () => {
    const port = await closedPort();
    const result = await runLive(
      Effect.gen(function* () {
        const socket = yield* NodeSocket.makeNet({ host: '127.0.0.1', port });
        return yield* fromSocket(socket, { role: 'client', keepAlive: false }).pipe(
          Effect.as('connected'),
          Effect.catchTag('MuxCarrierError', (e) => {
            const cause = e.cause as Socket.SocketError;
            const reason = cause.reason as Socket.SocketOpenError;
            return Effect.succeed(`${e.code} ${cause._tag} ${reason._tag} ${(reason.cause as NodeJS.ErrnoException).code} | ${e.message}`);
          }),
        );
      }),
    );
    expect(result).toMatch(/^ERR_MUX_CARRIER SocketError SocketOpenError ECONNREFUSED \| socket failed to open: /);
  });

  it("a peer whose TCP connection goes away mid-channel fails the reader's Stream and the session with MuxCarrierError", async () => {
    // The peer: an RxJS-side rxmux session on a plain node:net server, which destroys its socket once data arrived.
    const sockets: NetSocket[] = [];
    const server: Server = createServer((socket) => {
      sockets.push(socket);
      const session = createSession(nodeSocketCarrier(socket), { role: 'server', keepAlive: false });
      session.incoming$.subscribe({
        next: (request) => {
          const ch = request.accept();
          ch.incoming$.subscribe({ next: () => socket.destroy(), error: () => undefined });
        },
        error: () => undefined,
      });
      session.closed$.subscribe(() => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const result = await runLive(
        Effect.gen(function* () {
          const client = yield* fromSocket(yield* NodeSocket.makeNet({ host: '127.0.0.1', port }), { role: 'client', keepAlive: false });
          const ch = yield* client.open();
          yield* ch.write('hello');
          const reader = yield* ch.stream.pipe(
            Stream.runDrain,
            Effect.as('ended'),
            Effect.catchTag('MuxCarrierError', (e) => Effect.succeed(`${e._tag} ${e.code}`)),
          );
          return { reader, session: yield* outcome(client) };
        }),
      );
      expect(result).toEqual({ reader: 'MuxCarrierError ERR_MUX_CARRIER', session: 'MuxCarrierError' });
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

/** A loopback port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
