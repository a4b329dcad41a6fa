/**
 * rxmux/effect in virtual time (TestClock): the peer's GoAway(0), the maxOpen limit, a ping that gets no answer, and
 * a half-closed channel left idle past closeTimeout, as tagged errors.
 */
import { Effect, Exit, Fiber, Stream } from 'effect';
import { TestClock } from 'effect/testing';
import type { MuxSessionService } from '../../src/effect.js';
import { runTest, sessionPair, settle, text } from './support.js';

/** Accepts every open and echoes it through its Sink. */
const echoServer = (server: MuxSessionService) =>
  server.incoming.pipe(
    Stream.mapEffect((r) => Effect.scoped(Effect.flatMap(r.accept(), (ch) => Stream.run(ch.stream, ch.sink))), {
      concurrency: 'unbounded',
    }),
    Stream.runDrain,
    Effect.ignore,
    Effect.forkChild,
  );

describe('rxmux/effect GoAway and limits', () => {
  it("after the peer's GoAway(0) a new open fails with MuxGoAwayError, and a channel already open runs to completion", async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { client, server } = yield* sessionPair();
        yield* echoServer(server);
        return yield* Effect.scoped(
          Effect.gen(function* () {
            const before = yield* client.open();
            yield* server.goAway;
            yield* settle;
            const refused = yield* Effect.scoped(client.open()).pipe(
              Effect.as('opened'),
              Effect.catchTag('MuxGoAwayError', (e) => Effect.succeed(`${e._tag} ${e.code}`)),
            );
            yield* before.send(Stream.make('still ', 'here'));
            const echo = yield* before.stream.pipe(Stream.decodeText(), Stream.mkString);
            return { refused, echo };
          }),
        );
      }),
    );
    expect(result).toEqual({ refused: 'MuxGoAwayError ERR_MUX_GOAWAY', echo: 'still here' });
  });

  it('maxOpen 2: a third open fails with MuxLimitError; once a channel has closed, opens work again', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { client, server } = yield* sessionPair({ client: { maxOpen: 2 } });
        yield* echoServer(server);
        const first = yield* Effect.forkChild(
          Effect.scoped(
            Effect.gen(function* () {
              const ch = yield* client.open();
              yield* Effect.sleep('1 second'); // holds its channel open for a virtual second
              yield* ch.end;
              yield* Stream.runDrain(ch.stream);
            }),
          ),
        );
        yield* client.open();
        yield* settle;
        const openBefore = (yield* client.stats).openChannels;
        const third = yield* Effect.scoped(client.open()).pipe(
          Effect.as('opened'),
          Effect.catchTag('MuxLimitError', (e) => Effect.succeed(e._tag)),
        );
        yield* TestClock.adjust('1 second');
        yield* Fiber.join(first);
        yield* settle;
        const again = yield* Effect.scoped(Effect.map(client.open(), (ch) => ch.id));
        return { openBefore, third, again: again > 0 };
      }),
    );
    expect(result).toEqual({ openBefore: 2, third: 'MuxLimitError', again: true });
  });
});

describe('rxmux/effect pings and idle channels', () => {
  it('a ping the peer never answers fails with MuxTimeoutError after its timeout; once the peer answers again, the next ping works', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { client, b } = yield* sessionPair({ pair: { latency: 10 } });
        b.stall(); // the server's answers stop reaching the client
        const unanswered = yield* Effect.forkChild(
          client.ping(1000).pipe(
            Effect.map((rtt) => `rtt ${rtt}`),
            Effect.catchTag('MuxTimeoutError', (e) => Effect.succeed(e._tag)),
          ),
        );
        yield* TestClock.adjust('999 millis');
        const early = unanswered.pollUnsafe();
        yield* TestClock.adjust('1 millis');
        const first = yield* Fiber.join(unanswered);
        b.unstall();
        yield* settle;
        const next = yield* Effect.forkChild(client.ping(1000));
        yield* TestClock.adjust('20 millis');
        return { early: early === undefined, first, next: yield* Fiber.join(next), up: !client.session.isClosed };
      }),
    );
    expect(result).toEqual({ early: true, first: 'MuxTimeoutError', next: 20, up: true });
  });

  it('a channel one end half-closed and the other never closes is reset after closeTimeout (5 s): MuxTimeoutError there, MuxResetError here', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { client, server } = yield* sessionPair({ client: { closeTimeout: 5000 }, server: { closeTimeout: 5000 } });
        const serverSide = yield* server.incoming.pipe(
          Stream.take(1),
          Stream.mapEffect((r) =>
            Effect.scoped(
              Effect.flatMap(r.accept(), (ch) =>
                Effect.andThen(
                  ch.end, // the server half-closes at once and never reads
                  ch.closed.pipe(
                    Effect.as('closed'),
                    Effect.catchTag('MuxResetError', (e) => Effect.succeed(e._tag)),
                    Effect.catchTag('MuxTimeoutError', (e) => Effect.succeed(e._tag)),
                  ),
                ),
              ),
            ),
          ),
          Stream.runCollect,
          Effect.forkChild,
        );
        const ch = yield* client.open();
        const inbound = text(new Uint8Array((yield* Stream.runCollect(ch.stream)).flatMap((c) => [...c])));
        const waiting = yield* Effect.forkChild(Effect.exit(ch.closed));
        yield* TestClock.adjust('4999 millis');
        yield* settle;
        const before = waiting.pollUnsafe();
        yield* TestClock.adjust('1 millis');
        yield* settle;
        const exit = yield* Fiber.join(waiting);
        return {
          inbound,
          before: before === undefined,
          client: Exit.isFailure(exit) ? JSON.stringify(exit.cause).match(/Mux\w+Error/)?.[0] : 'closed',
          server: yield* Fiber.join(serverSide),
        };
      }),
    );
    expect(result.inbound).toBe('');
    expect(result.before).toBe(true);
    // The end that half-closed times out; the other end sees the reset it sends.
    expect({ client: result.client, server: result.server }).toEqual({ client: 'MuxResetError', server: ['MuxTimeoutError'] });
  });
});
