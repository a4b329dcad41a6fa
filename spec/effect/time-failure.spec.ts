/**
 * rxmux/effect under TestClock: keep-alive, ping RTT, per-channel read timeout; carrier failure and carrier end as
 * tagged errors; what interrupting a reading or writing fiber does to the channel (it is reset, as documented).
 */
import { Effect, Exit, Fiber, Stream } from 'effect';
import { TestClock } from 'effect/testing';
import { runTest, sessionPair, settle, utf8 } from './support.js';

describe('rxmux/effect timers on the Effect Clock', () => {
  it('keep-alive: a peer that goes silent ends the session with MuxTimeoutError 30 s + 10 s later, not before', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { client, b } = yield* sessionPair({ client: { keepAlive: true, keepAliveInterval: 30_000, keepAliveTimeout: 10_000 } });
        b.stall(); // the server's answers stop reaching the client
        const ending = yield* Effect.forkChild(
          client.closed.pipe(
            Effect.as('clean'),
            Effect.catchTag('MuxTimeoutError', (e) => Effect.succeed(`${e._tag}: ${e.message}`)),
          ),
        );
        yield* TestClock.adjust('39999 millis');
        yield* settle;
        const before = ending.pollUnsafe();
        yield* TestClock.adjust('1 millis');
        const outcome = yield* Fiber.join(ending);
        return { before: before === undefined, outcome };
      }),
    );
    expect(result).toEqual({ before: true, outcome: 'MuxTimeoutError: peer sent nothing for 10000 ms after a keep-alive ping' });
  });

  it('keep-alive with an answering peer: the session is still up after 10 keep-alive intervals', async () => {
    const stats = await runTest(
      Effect.gen(function* () {
        const { client, server } = yield* sessionPair({ client: { keepAlive: true, keepAliveInterval: 30_000 } });
        for (let i = 0; i < 10; i++) {
          yield* TestClock.adjust('30 seconds');
          yield* settle;
        }
        return {
          client: client.session.isClosed,
          pingsAnswered: (yield* server.stats).framesOut,
          pingsSent: (yield* client.stats).framesOut,
        };
      }),
    );
    expect(stats).toEqual({ client: false, pingsAnswered: 10, pingsSent: 10 });
  });

  it('ping() measures the round trip in virtual ms: 2 x 25 ms of latency is 50 ms', async () => {
    const rtt = await runTest(
      Effect.gen(function* () {
        const { client } = yield* sessionPair({ pair: { latency: 25 } });
        const pinging = yield* Effect.forkChild(client.ping());
        yield* TestClock.adjust('50 millis');
        return yield* Fiber.join(pinging);
      }),
    );
    expect(rtt).toBe(50);
  });

  it('a channel read timeout fails only that channel with MuxTimeoutError after 1 s of silence', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { client, server } = yield* sessionPair();
        yield* server.incoming.pipe(
          Stream.mapEffect((r) => Effect.scoped(Effect.flatMap(r.accept(), (ch) => ch.stream.pipe(Stream.runDrain, Effect.ignore))), {
            concurrency: 'unbounded',
          }),
          Stream.runDrain,
          Effect.forkChild,
        );
        const quiet = yield* client.open({ readTimeout: 1000 });
        const other = yield* client.open();
        const reading = yield* Effect.forkChild(
          quiet.stream.pipe(
            Stream.runDrain,
            Effect.as('ended'),
            Effect.catchTag('MuxTimeoutError', (e) => Effect.succeed(e.code)),
          ),
        );
        yield* TestClock.adjust('999 millis');
        yield* settle;
        const before = reading.pollUnsafe();
        yield* TestClock.adjust('1 millis');
        const outcome = yield* Fiber.join(reading);
        yield* other.write('still fine');
        return { before: before === undefined, outcome, other: other.channel.state };
      }),
    );
    expect(result).toEqual({ before: true, outcome: 'ERR_MUX_TIMEOUT', other: 'open' });
  });
});

describe('rxmux/effect carrier failure', () => {
  it('a carrier error fails the open channel and the session with MuxCarrierError carrying the cause, matched with catchTag', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { client, server, a } = yield* sessionPair();
        yield* server.incoming.pipe(
          Stream.mapEffect((r) => Effect.scoped(Effect.flatMap(r.accept(), (ch) => ch.stream.pipe(Stream.runDrain, Effect.ignore))), {
            concurrency: 'unbounded',
          }),
          Stream.runDrain,
          Effect.ignore,
          Effect.forkChild,
        );
        const ch = yield* client.open();
        const reading = yield* Effect.forkChild(
          ch.stream.pipe(
            Stream.runDrain,
            Effect.as('ended'),
            Effect.catchTag('MuxCarrierError', (e) => Effect.succeed(`${e.code} cause=${(e.cause as Error).message}`)),
          ),
        );
        yield* settle;
        a.fail(new Error('cable cut'));
        const channelOutcome = yield* Fiber.join(reading);
        const sessionOutcome = yield* client.closed.pipe(
          Effect.as('clean'),
          Effect.catchTags({ MuxCarrierError: (e) => Effect.succeed(e._tag), MuxTimeoutError: (e) => Effect.succeed(e._tag) }),
        );
        const openAfter = yield* Effect.scoped(client.open()).pipe(
          Effect.as('opened'),
          Effect.catchTag('MuxCarrierError', (e) => Effect.succeed(e._tag)),
          Effect.catchTag('MuxSessionClosedError', (e) => Effect.succeed(e._tag)),
        );
        return { channelOutcome, sessionOutcome, openAfter };
      }),
    );
    expect(result.channelOutcome).toMatch(/^ERR_MUX_CARRIER cause=/);
    expect(result.sessionOutcome).toBe('MuxCarrierError');
    expect(['MuxCarrierError', 'MuxSessionClosedError']).toContain(result.openAfter);
  });

  it('the carrier ending under open channels fails each one with MuxCarrierError, once', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { client, server, b } = yield* sessionPair();
        yield* server.incoming.pipe(
          Stream.mapEffect((r) => Effect.scoped(Effect.flatMap(r.accept(), (ch) => ch.stream.pipe(Stream.runDrain, Effect.ignore))), {
            concurrency: 'unbounded',
          }),
          Stream.runDrain,
          Effect.ignore,
          Effect.forkChild,
        );
        const chs = [yield* client.open(), yield* client.open()];
        const readers = yield* Effect.forEach(chs, (ch) =>
          Effect.forkChild(
            ch.stream.pipe(
              Stream.runDrain,
              Effect.as('ended'),
              Effect.catchTag('MuxCarrierError', (e) => Effect.succeed(e._tag)),
            ),
          ),
        );
        yield* settle;
        b.destroy(); // the server's end goes away without a GoAway: the client sees its carrier end
        return yield* Effect.forEach(readers, Fiber.join);
      }),
    );
    expect(result).toEqual(['MuxCarrierError', 'MuxCarrierError']);
  });
});

describe('rxmux/effect interruption', () => {
  const echoless = (
    server: { incoming: Stream.Stream<import('../../src/effect.js').MuxIncoming, unknown> },
    handle: (ch: import('../../src/effect.js').MuxChannel) => Effect.Effect<string, never>,
  ) =>
    server.incoming.pipe(
      Stream.take(1),
      Stream.mapEffect((r) => Effect.scoped(Effect.flatMap(r.accept(), handle))),
      Stream.runCollect,
      Effect.forkChild,
    );

  it('interrupting a fiber that reads a channel resets it: the peer sees MuxResetError "reader stopped"', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { client, server } = yield* sessionPair();
        const serving = yield* echoless(server, (ch) =>
          Effect.andThen(ch.write(new Uint8Array(16 * 1024)), ch.closed).pipe(
            Effect.as('closed'),
            Effect.catchTag('MuxResetError', (e) => Effect.succeed(`${e._tag} reason=${e.reason}`)),
            Effect.orDie,
          ),
        );
        const ch = yield* client.open();
        let pulled = 0;
        const reader = yield* Effect.forkChild(ch.stream.pipe(Stream.runForEach((c) => Effect.sync(() => (pulled += c.byteLength)))));
        yield* settle;
        yield* Fiber.interrupt(reader);
        const peer = yield* Fiber.join(serving);
        return { pulled, peer, state: ch.channel.state };
      }),
    );
    expect(result).toEqual({ pulled: 16 * 1024, peer: ['MuxResetError reason=reader stopped'], state: 'closed' });
  });

  it('interrupting a fiber blocked writing (no credit) resets the channel: the peer reader fails with MuxResetError', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { client, server } = yield* sessionPair();
        const serving = yield* echoless(server, (ch) =>
          // Reads nothing until the writer is interrupted, then drains: the reset arrives after the queued bytes.
          Effect.andThen(
            Effect.sleep('1 second'),
            ch.stream.pipe(
              Stream.runDrain,
              Effect.as('ended'),
              Effect.catchTag('MuxResetError', (e) => Effect.succeed(`${e._tag} code=${e.wireCode}`)),
              Effect.orDie,
            ),
          ),
        );
        const ch = yield* client.open();
        const writer = yield* Effect.forkChild(ch.send(Stream.forever(Stream.succeed(new Uint8Array(16 * 1024)))));
        yield* settle;
        const blocked = { credit: (yield* ch.stats).credit, done: writer.pollUnsafe() !== undefined };
        yield* Fiber.interrupt(writer);
        yield* TestClock.adjust('1 second');
        const peer = yield* Fiber.join(serving);
        return { blocked, peer };
      }),
    );
    expect(result).toEqual({ blocked: { credit: 0, done: false }, peer: ['MuxResetError code=0'] }); // no credit left: a bare RST, without the reason (docs/PROTOCOL.md)
  });

  it("a reader that stops early with onStop 'keep' leaves the channel open, and the next reader goes on from the next chunk", async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { client, server } = yield* sessionPair();
        yield* echoless(server, (ch) => Effect.as(Effect.orDie(ch.send(Stream.make('one', 'two', 'three'))), 'sent'));
        const ch = yield* client.open();
        const first = yield* ch.readable({ onStop: 'keep' }).pipe(Stream.take(1), Stream.runCollect);
        const rest = yield* ch.stream.pipe(Stream.runCollect);
        return {
          first: first.map((c) => new TextDecoder().decode(c)),
          rest: new TextDecoder().decode(Uint8Array.from(rest.flatMap((c) => [...c]))),
        };
      }),
    );
    expect(result).toEqual({ first: ['one'], rest: 'twothree' });
  });

  it('a scope that fails resets its channel (reason "scope failed"); one that succeeds ends it with a FIN', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const { client, server } = yield* sessionPair();
        const outcomes: string[] = [];
        yield* server.incoming.pipe(
          Stream.take(2),
          Stream.mapEffect(
            (r) =>
              Effect.scoped(
                Effect.flatMap(r.accept(), (ch) =>
                  ch.stream.pipe(
                    Stream.runDrain,
                    Effect.as('FIN'),
                    Effect.catchTag('MuxResetError', (e) => Effect.succeed(`reset: ${e.reason}`)),
                    Effect.orDie,
                    Effect.tap((o) => Effect.sync(() => outcomes.push(`${r.id} ${o}`))),
                  ),
                ),
              ),
            { concurrency: 'unbounded' },
          ),
          Stream.runDrain,
          Effect.forkChild,
        );
        const failed = yield* Effect.exit(Effect.scoped(Effect.andThen(client.open(), Effect.fail('boom'))));
        yield* Effect.scoped(Effect.flatMap(client.open(), (ch) => ch.write(utf8('ok'))));
        yield* settle;
        return { failed: Exit.isFailure(failed), outcomes: outcomes.sort() };
      }),
    );
    expect(result).toEqual({ failed: true, outcomes: ['1 reset: scope failed', '3 FIN'] });
  });
});
