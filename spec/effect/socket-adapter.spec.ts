/**
 * socketCarrier against a scripted Effect Socket (Socket.make with a reader fed by the test and a writer the test
 * holds back), without any network: the carrier's write back-pressure (highWaterMark, drain$ at half), byte order,
 * end() releasing the writer, and how the reader's clean and unclean closes end incoming$.
 */
import { Effect, Exit, Latch, Queue, Scope } from 'effect';
import { Socket } from 'effect/socket';
import { firstValueFrom, toArray } from 'rxjs';
import type { Carrier } from '../../src/index.js';
import { socketCarrier } from '../../src/effect.js';
import { runTest, settle } from './support.js';

type NonEmpty<A> = readonly [A, ...A[]];

/** An Effect Socket whose reader pulls batches the test offers, and whose writer waits on `gate` for every batch. */
const scriptedSocket = Effect.gen(function* () {
  const inbound = yield* Queue.unbounded<NonEmpty<Uint8Array>, Socket.SocketError>();
  const gate = yield* Latch.make(false);
  const written: Uint8Array[] = [];
  const events: string[] = [];
  const socket = Socket.make({
    reader: Effect.acquireRelease(
      Effect.succeed<Socket.Reader>({
        pull: Queue.take(inbound),
        upgrade: () => Effect.void,
      }),
      () => Effect.sync(() => events.push('reader released')),
    ),
    writer: Effect.acquireRelease(
      Effect.succeed<Socket.Writer>({
        write: () => Effect.void,
        writeAll: (chunks) =>
          Effect.andThen(
            gate.await,
            Effect.sync(() => {
              written.push(...chunks.map((c) => (typeof c === 'string' ? new TextEncoder().encode(c) : c)));
            }),
          ),
      }),
      () => Effect.sync(() => events.push('writer released')),
    ),
  });
  return { socket, inbound, gate, written, events };
});

const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);
const closeError = (code: number) => new Socket.SocketError({ reason: new Socket.SocketCloseError({ code }) });

describe('socketCarrier over a scripted Effect Socket', () => {
  it('write() returns false from highWaterMark on, drain$ emits once the writer took it down to half, bytes keep their order', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { socket, gate, written } = yield* scriptedSocket;
        const carrier: Carrier = yield* socketCarrier(socket, { highWaterMark: 1000 });
        let drains = 0;
        carrier.drain$.subscribe(() => drains++);
        const first = carrier.write([bytes(400, 1)]);
        const second = carrier.write([bytes(400, 2), bytes(300, 3)]); // 1100 queued: at the mark
        const third = carrier.write([bytes(10, 4)]);
        yield* settle;
        const held = { written: written.length, drains };
        yield* gate.open;
        yield* settle;
        const after = carrier.write([bytes(5, 5)]);
        yield* settle;
        return { first, second, third, held, drains, after, order: written.map((c) => `${c[0]}x${c.byteLength}`) };
      }),
    );
    expect(result).toEqual({
      first: true,
      second: false,
      third: false,
      held: { written: 0, drains: 0 },
      drains: 1,
      after: true,
      order: ['1x400', '2x400', '3x300', '4x10', '5x5'],
    });
  });

  it('end() writes what is queued, then releases the writer (a half-close) but not the reader; later writes are refused', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { socket, gate, written, events } = yield* scriptedSocket;
        const scope = yield* Scope.make();
        const carrier = yield* Scope.provide(socketCarrier(socket), scope);
        carrier.write([bytes(100, 7)]);
        carrier.end();
        const refused = carrier.write([bytes(1, 8)]);
        yield* settle;
        const beforeFlush = [...events];
        yield* gate.open;
        yield* settle;
        const afterEnd = [...events];
        yield* Scope.close(scope, Exit.void);
        return { refused, beforeFlush, afterEnd, written: written.map((c) => c.byteLength) };
      }),
    );
    expect(result.refused).toBe(false);
    expect(result.beforeFlush).toEqual([]);
    expect(result.afterEnd).toEqual(['writer released']);
    expect(result.written).toEqual([100]);
  });

  it("incoming$ emits the reader's batches in order and completes on a clean close (code 1000)", async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { socket, inbound } = yield* scriptedSocket;
        const carrier = yield* socketCarrier(socket);
        const all = firstValueFrom(carrier.incoming$.pipe(toArray()));
        yield* Queue.offer(inbound, [bytes(3, 1), bytes(2, 2)]);
        yield* Queue.offer(inbound, [bytes(1, 3)]);
        yield* settle;
        yield* Queue.fail(inbound, closeError(1000));
        return (yield* Effect.promise(() => all)).map((c) => `${c[0]}x${c.byteLength}`);
      }),
    );
    expect(result).toEqual(['1x3', '2x2', '3x1']);
  });

  it('incoming$ errors with ERR_MUX_CARRIER carrying the SocketError and its close code on an unclean close (1006)', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { socket, inbound } = yield* scriptedSocket;
        const carrier = yield* socketCarrier(socket);
        const ended = firstValueFrom(carrier.incoming$.pipe(toArray())).then(
          () => 'completed',
          (e: { code: string; wireCode?: number; remote: boolean; cause: unknown }) =>
            `${e.code} wireCode=${e.wireCode} remote=${e.remote} cause=${Socket.isSocketError(e.cause)}`,
        );
        yield* Queue.fail(inbound, closeError(1006));
        return yield* Effect.promise(() => ended);
      }),
    );
    expect(result).toBe('ERR_MUX_CARRIER wireCode=1006 remote=true cause=true');
  });

  it('destroy() releases the reader and the writer at once, and refuses further writes', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { socket, events } = yield* scriptedSocket;
        const carrier = yield* socketCarrier(socket);
        carrier.write([bytes(10, 1)]); // held by the closed gate: dropped by destroy
        carrier.destroy();
        yield* settle;
        return { events: [...events].sort(), refused: carrier.write([bytes(1, 2)]) };
      }),
    );
    expect(result).toEqual({ events: ['reader released', 'writer released'], refused: false });
  });
});
