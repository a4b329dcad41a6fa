/**
 * rxmux/effect data, back-pressure, half-close and reset, in virtual time: a slow Effect Stream consumer holds its
 * peer at one window while another channel flows; FIN and RST as the RxJS side has them.
 */
import { Effect, Exit, Fiber, Stream } from 'effect';
import { TestClock } from 'effect/testing';
import { concat, KiB, runTest, seeded, sessionPair, settle, text } from './support.js';

const WINDOW = 256 * KiB;

describe('rxmux/effect data and back-pressure', () => {
  it('a Stream consumer that pulls one chunk every 100 ms holds the peer at one 256 KiB window while another channel flows', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        // Tuning off: the bound under test is the 256 KiB window.
        const { client, server } = yield* sessionPair({ server: { maxReceiveWindow: WINDOW }, client: { maxReceiveWindow: WINDOW } });
        const total = 1024 * KiB;
        const slowData = seeded(total, 1);
        const fastData = seeded(1024 * KiB, 2);
        const samples: { consumed: number; buffered: number }[] = [];
        // Server: channel "slow" is read one chunk per 100 ms of the Effect Clock; channel "fast" as fast as it comes.
        const serving = yield* server.incoming.pipe(
          Stream.take(2),
          Stream.mapEffect(
            (request) =>
              Effect.scoped(
                Effect.gen(function* () {
                  const ch = yield* request.accept();
                  let consumed = 0;
                  const chunks: Uint8Array[] = [];
                  const slow = request.id === 1; // opened first, without metadata (metadata would take window bytes)
                  yield* ch.stream.pipe(
                    Stream.runForEach((chunk) =>
                      Effect.gen(function* () {
                        chunks.push(chunk);
                        consumed += chunk.byteLength;
                        if (slow) {
                          const mine = yield* ch.stats;
                          samples.push({ consumed, buffered: mine.bufferedIn });
                          if (consumed < total) yield* Effect.sleep('100 millis');
                        }
                      }),
                    ),
                  );
                  return { meta: slow ? 'slow' : 'fast', data: concat(chunks) };
                }),
              ),
            { concurrency: 'unbounded' },
          ),
          Stream.runCollect,
          Effect.forkChild,
        );
        const slowCh = yield* client.open();
        const fastCh = yield* client.open();
        const sendingSlow = yield* Effect.forkChild(slowCh.send(Stream.fromIterable(chunksOf(slowData, 16 * KiB))));
        const sendingFast = yield* Effect.forkChild(fastCh.send(Stream.fromIterable(chunksOf(fastData, 16 * KiB))));
        // The fast channel finishes while the slow reader has taken at most a few chunks.
        yield* Fiber.join(sendingFast);
        yield* settle;
        const whileFastDone = yield* slowCh.stats;
        const slowConsumedThen = samples.length;
        // Advance virtual time step by step; the sender never has more than one window in flight beyond what was pulled.
        let maxInFlight = 0;
        let minCredit = Infinity;
        while (sendingSlow.pollUnsafe() === undefined || samples.at(-1)!.consumed < total) {
          yield* TestClock.adjust('100 millis');
          yield* settle;
          const st = yield* slowCh.stats;
          const consumed = samples.at(-1)?.consumed ?? 0;
          maxInFlight = Math.max(maxInFlight, st.bytesOut - consumed);
          minCredit = Math.min(minCredit, st.credit);
        }
        const served = yield* Fiber.join(serving);
        return { whileFastDone, slowConsumedThen, maxInFlight, minCredit, served, slowData, fastData, samples };
      }),
    );
    const byMeta = new Map(result.served.map((s) => [s.meta, s.data]));
    expect(byMeta.get('fast')).toEqual(result.fastData);
    expect(byMeta.get('slow')).toEqual(result.slowData);
    // When the fast channel was done, the slow one had sent exactly one window and was out of credit.
    expect(result.whileFastDone.bytesOut).toBe(WINDOW);
    expect(result.whileFastDone.credit).toBe(0);
    expect(result.slowConsumedThen).toBeLessThanOrEqual(2);
    // Never more than one window sent beyond what the consumer pulled; the receiver never buffered more than a window.
    expect(result.maxInFlight).toBeLessThanOrEqual(WINDOW);
    expect(Math.max(...result.samples.map((s) => s.buffered))).toBeLessThanOrEqual(WINDOW);
    expect(result.minCredit).toBe(0);
  });

  it('half-close: the client ends its side, the server reads to the end and still replies on the other direction', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { client, server } = yield* sessionPair();
        yield* server.incoming.pipe(
          Stream.take(1),
          Stream.mapEffect((request) =>
            Effect.scoped(
              Effect.gen(function* () {
                const ch = yield* request.accept();
                const got = yield* ch.stream.pipe(Stream.runCollect);
                const readClosed = (yield* ch.stats).readClosed;
                yield* ch.send(Stream.make(`got ${concat(got).byteLength} readClosed=${readClosed}`));
              }),
            ),
          ),
          Stream.runDrain,
          Effect.forkChild,
        );
        return yield* Effect.scoped(
          Effect.gen(function* () {
            const ch = yield* client.open();
            yield* ch.send(Stream.make('hello', ' ', 'world'));
            const afterEnd = yield* Effect.exit(ch.write('late'));
            const reply = text(concat(yield* ch.stream.pipe(Stream.runCollect)));
            yield* ch.closed;
            return { reply, afterEnd: Exit.isFailure(afterEnd) ? JSON.stringify(afterEnd) : 'ok', state: ch.channel.state };
          }),
        );
      }),
    );
    expect(result.reply).toBe('got 11 readClosed=true');
    expect(result.afterEnd).toContain('MuxWriteClosedError');
    expect(result.state).toBe('closed');
  });

  it('reset with a code and reason: the peer reading Stream fails with MuxResetError carrying both', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { client, server } = yield* sessionPair();
        const reading = yield* server.incoming.pipe(
          Stream.take(1),
          Stream.mapEffect((request) =>
            Effect.scoped(
              Effect.flatMap(request.accept(), (ch) =>
                ch.stream.pipe(
                  Stream.runDrain,
                  Effect.as('ended'),
                  Effect.catchTag('MuxResetError', (e) =>
                    Effect.succeed(`${e._tag} code=${e.wireCode} reason=${e.reason} remote=${e.remote}`),
                  ),
                ),
              ),
            ),
          ),
          Stream.runCollect,
          Effect.forkChild,
        );
        yield* Effect.scoped(
          Effect.gen(function* () {
            const ch = yield* client.open();
            yield* ch.write('partial');
            yield* ch.reset(7, 'changed my mind');
          }),
        );
        return yield* Fiber.join(reading);
      }),
    );
    expect(result).toEqual(['MuxResetError code=7 reason=changed my mind remote=true']);
  });
});

function chunksOf(data: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.byteLength; i += size) out.push(data.subarray(i, i + size));
  return out;
}
