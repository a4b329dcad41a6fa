/**
 * rxmux/effect open/accept in virtual time (TestClock): metadata both ways, reject with a reason as a tagged error,
 * async accept, interrupting a pending open, and opens after close.
 */
import { Effect, Exit, Fiber, Stream } from 'effect';
import { TestClock } from 'effect/testing';
import { runTest, sessionPair, settle, text } from './support.js';

describe('rxmux/effect open and accept', () => {
  it('the acceptor sees the opener metadata before any data, and its reply metadata reaches the opener', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { client, server } = yield* sessionPair();
        const serving = yield* server.incoming.pipe(
          Stream.take(1),
          Stream.mapEffect((request) =>
            Effect.scoped(
              Effect.gen(function* () {
                const seenMeta = request.metaText;
                const channel = yield* request.accept({ meta: `hello ${seenMeta}` });
                const data = yield* channel.stream.pipe(Stream.runCollect);
                return { seenMeta, data: data.map(text).join('') };
              }),
            ),
          ),
          Stream.runCollect,
          Effect.forkChild,
        );
        const reply = yield* Effect.scoped(
          Effect.gen(function* () {
            const channel = yield* client.open({ meta: 'files/a.txt' });
            yield* channel.send(Stream.make('abc', 'def'));
            return text(channel.replyMeta);
          }),
        );
        const served = yield* Fiber.join(serving);
        return { reply, served };
      }),
    );
    expect(result).toEqual({ reply: 'hello files/a.txt', served: [{ seenMeta: 'files/a.txt', data: 'abcdef' }] });
  });

  it('opens that arrive together (one carrier chunk) are all taken by one incoming Stream, one pull each', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { client, server } = yield* sessionPair();
        const ids: number[] = [];
        const serving = yield* server.incoming.pipe(
          Stream.take(5),
          Stream.runForEach((request) => Effect.sync(() => ids.push(request.request.accept({ meta: `ok ${request.metaText}` }).id))),
          Effect.forkChild,
        );
        const replies = yield* Effect.forEach(
          [1, 2, 3, 4, 5],
          (n) => Effect.scoped(Effect.map(client.open({ meta: String(n) }), (ch) => text(ch.replyMeta))),
          { concurrency: 'unbounded' },
        );
        yield* Fiber.join(serving);
        return { replies, ids };
      }),
    );
    expect(result).toEqual({ replies: ['ok 1', 'ok 2', 'ok 3', 'ok 4', 'ok 5'], ids: [1, 3, 5, 7, 9] });
  });

  it('a reject with a reason fails the open with MuxRejectedError carrying reason and code, matched with catchTag', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { client, server } = yield* sessionPair();
        yield* server.incoming.pipe(
          Stream.runForEach((request) => request.reject('unknown route', 404)),
          Effect.forkChild,
        );
        const outcome = yield* Effect.scoped(client.open({ meta: 'nope' })).pipe(
          Effect.as('opened'),
          Effect.catchTag('MuxRejectedError', (e) => Effect.succeed(`${e.code} ${e.reason} ${e.wireCode} remote=${e.remote}`)),
        );
        yield* settle;
        const stats = { client: (yield* client.stats).openChannels, server: (yield* server.stats).openChannels };
        return { outcome, stats };
      }),
    );
    expect(result).toEqual({ outcome: 'ERR_MUX_REJECTED unknown route 404 remote=true', stats: { client: 0, server: 0 } });
  });

  it('a reply metadata over maxMetadata resets the accepted channel: its stream fails with MuxLimitError, the open with MuxRejectedError', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { client, server } = yield* sessionPair({ server: { maxMetadata: 16 } });
        const accepted = yield* server.incoming.pipe(
          Stream.take(1),
          Stream.mapEffect((request) =>
            Effect.scoped(
              Effect.flatMap(request.accept({ meta: 'x'.repeat(17) }), (ch) =>
                ch.stream.pipe(
                  Stream.runDrain,
                  Effect.as('ended'),
                  Effect.catchTag('MuxLimitError', (e) => Effect.succeed(e._tag)),
                ),
              ),
            ),
          ),
          Stream.runCollect,
          Effect.forkChild,
        );
        const opened = yield* Effect.scoped(client.open()).pipe(
          Effect.as('opened'),
          Effect.catch((e) => Effect.succeed(e._tag)),
        );
        return { acceptor: yield* Fiber.join(accepted), opened };
      }),
    );
    expect(result.acceptor).toEqual(['MuxLimitError']);
    expect(result.opened).toBe('MuxRejectedError'); // reset while still opening: to the opener, a rejection
  });

  it('an accept that comes 5 s later makes the open wait 5 s of the Effect Clock', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { client, server } = yield* sessionPair();
        yield* server.incoming.pipe(
          Stream.mapEffect(
            (request) =>
              Effect.scoped(
                Effect.andThen(
                  Effect.sleep('5 seconds'),
                  Effect.flatMap(request.accept({ meta: 'late' }), (ch) => ch.send(ch.stream)),
                ),
              ),
            { concurrency: 'unbounded' },
          ),
          Stream.runDrain,
          Effect.forkChild,
        );
        const opening = yield* Effect.forkChild(Effect.scoped(Effect.map(client.open(), (ch) => text(ch.replyMeta))));
        yield* TestClock.adjust('4999 millis');
        const early = opening.pollUnsafe();
        yield* TestClock.adjust('1 millis');
        const reply = yield* Fiber.join(opening);
        return { early: early === undefined ? 'pending' : 'done', reply };
      }),
    );
    expect(result).toEqual({ early: 'pending', reply: 'late' });
  });

  it('an open with no answer fails with MuxTimeoutError after its timeout, in virtual time', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { client, server } = yield* sessionPair();
        const seen: number[] = [];
        yield* server.incoming.pipe(
          Stream.runForEach((r) => Effect.sync(() => seen.push(r.id))),
          Effect.forkChild,
        );
        const opening = yield* Effect.forkChild(Effect.exit(Effect.scoped(client.open({ timeout: 2000 }))));
        yield* TestClock.adjust('1999 millis');
        const before = opening.pollUnsafe();
        yield* TestClock.adjust('1 millis');
        const exit = yield* Fiber.join(opening);
        return { before: before === undefined, seen, exit };
      }),
    );
    expect(result.before).toBe(true);
    expect(result.seen).toEqual([1]);
    expect(Exit.isFailure(result.exit)).toBe(true);
    expect(JSON.stringify(result.exit)).toContain('MuxTimeoutError');
  });

  it('interrupting a pending open sends RST: the acceptor sees its request cancelled and nothing is left open', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { client, server } = yield* sessionPair();
        const requests: number[] = [];
        yield* server.incoming.pipe(
          Stream.runForEach((r) => Effect.sync(() => requests.push(r.id))),
          Effect.forkChild,
        );
        const opening = yield* Effect.forkChild(Effect.scoped(client.open()));
        yield* Effect.sleep('10 millis').pipe(Effect.forkChild);
        yield* TestClock.adjust('10 millis');
        yield* Fiber.interrupt(opening);
        yield* TestClock.adjust('10 millis');
        return { requests, client: (yield* client.stats).openChannels, server: (yield* server.stats).openChannels };
      }),
    );
    expect(result).toEqual({ requests: [1], client: 0, server: 0 });
  });

  it('after the session closed, open fails at once with MuxSessionClosedError', async () => {
    const tag = await runTest(
      Effect.gen(function* () {
        const { client } = yield* sessionPair();
        yield* client.close;
        return yield* Effect.scoped(client.open()).pipe(
          Effect.as('opened'),
          Effect.catchTag('MuxSessionClosedError', (e) => Effect.succeed(`${e._tag} ${e.code}`)),
        );
      }),
    );
    expect(tag).toBe('MuxSessionClosedError ERR_MUX_SESSION_CLOSED');
  });
});
