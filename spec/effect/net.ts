/**
 * Helpers for the rxmux/effect specs over real loopback TCP (Effect's live Clock, real time): run a scoped Effect,
 * serve sessions with Effect's own SocketServer (NodeSocketServer, 127.0.0.1 only), and hash bytes.
 */
import { createHash } from 'node:crypto';
import { NodeSocketServer } from '@effect/platform-node-shared';
import { Effect, Stream, type Scope } from 'effect';
import type { Socket } from 'effect/socket';

/** Runs `effect` scoped on the live runtime; resolves after Effect's dispatcher had its next turn (see support.ts). */
export async function runLive<A, E>(effect: Effect.Effect<A, E, Scope.Scope>): Promise<A> {
  try {
    return await Effect.runPromise(Effect.scoped(effect));
  } finally {
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/**
 * An Effect SocketServer on 127.0.0.1 (ephemeral port) that runs `handle` for each connection, in a fiber of the
 * current scope: closing the scope stops the server and interrupts the handlers.
 */
export const serveSockets = <E>(
  handle: (socket: Socket.Socket) => Effect.Effect<unknown, E, Scope.Scope>,
): Effect.Effect<{ port: number }, unknown, Scope.Scope> =>
  Effect.gen(function* () {
    const server = yield* NodeSocketServer.make({ host: '127.0.0.1', port: 0 });
    yield* Effect.forkScoped(server.run((socket) => Effect.scoped(handle(socket))));
    const address = server.address;
    if (address._tag === 'UnixPathAddress') throw new Error('expected a TCP address');
    return { port: address.port };
  });

/** SHA-256 (hex) and byte count of a stream of chunks, folded as they are pulled. */
export const hashStream = <E, R>(stream: Stream.Stream<Uint8Array, E, R>): Effect.Effect<{ bytes: number; sha: string }, E, R> =>
  Effect.suspend(() => {
    const hash = createHash('sha256');
    let bytes = 0;
    return Stream.runForEach(stream, (chunk) =>
      Effect.sync(() => {
        hash.update(chunk);
        bytes += chunk.byteLength;
      }),
    ).pipe(Effect.map(() => ({ bytes, sha: hash.digest('hex') })));
  });

/** SHA-256 (hex) of `data`. */
export const sha256 = (data: Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** `data` in `size`-byte chunks, as a Stream. */
export const chunked = (data: Uint8Array, size = 16 * 1024): Stream.Stream<Uint8Array> =>
  Stream.fromIterable(
    (function* () {
      for (let i = 0; i < data.byteLength; i += size) yield data.subarray(i, i + size);
    })(),
  );

/** `stream` with every chunk also fed to a SHA-256; `digest()` reads the count and hash of what passed so far. */
export function hashing<E, R>(
  stream: Stream.Stream<Uint8Array, E, R>,
): {
  stream: Stream.Stream<Uint8Array, E, R>;
  digest: () => { bytes: number; sha: string };
} {
  const hash = createHash('sha256');
  let bytes = 0;
  return {
    stream: Stream.tap(stream, (chunk) =>
      Effect.sync(() => {
        hash.update(chunk);
        bytes += chunk.byteLength;
      }),
    ),
    digest: () => ({ bytes, sha: hash.copy().digest('hex') }),
  };
}
