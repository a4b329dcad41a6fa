/**
 * rxmux/effect's MuxSession service and layerCarrier, and the bridge from Effect's Clock to an RxJS scheduler
 * (clockScheduler), in virtual time (TestClock).
 */
import { Effect, Layer, Stream } from 'effect';
import { TestClock } from 'effect/testing';
import { timer } from 'rxjs';
import { memoryPair } from '../../src/carriers/memory.js';
import { clockScheduler, layerCarrier, make, MuxSession } from '../../src/effect.js';
import { runTest, settle } from './support.js';

describe('rxmux/effect MuxSession service and layerCarrier', () => {
  it('a program that uses MuxSession from the context runs over layerCarrier; releasing the layer closes the session cleanly', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const scheduler = yield* clockScheduler;
        const [a, b] = memoryPair({ scheduler });
        const server = yield* make(b, { role: 'server', keepAlive: false });
        yield* server.incoming.pipe(
          Stream.mapEffect((r) => Effect.scoped(Effect.flatMap(r.accept({ meta: 'hi' }), (ch) => Stream.run(ch.stream, ch.sink)))),
          Stream.runDrain,
          Effect.forkChild,
        );
        const program = Effect.gen(function* () {
          const session = yield* MuxSession;
          return yield* Effect.scoped(
            Effect.gen(function* () {
              const ch = yield* session.open();
              yield* ch.send(Stream.make('over ', 'a layer'));
              const echo = yield* ch.stream.pipe(Stream.decodeText(), Stream.mkString);
              return { role: session.role, reply: new TextDecoder().decode(ch.replyMeta), echo };
            }),
          );
        });
        const used = yield* program.pipe(Effect.provide(layerCarrier(a, { role: 'client', keepAlive: false, scheduler })));
        const serverEnd = yield* server.closed.pipe(
          Effect.as('clean'),
          Effect.catch((e) => Effect.succeed(e._tag)),
        );
        return { used, serverEnd };
      }),
    );
    expect(result).toEqual({ used: { role: 'client', reply: 'hi', echo: 'over a layer' }, serverEnd: 'clean' });
  });

  it('a bad session option fails the layer with MuxInvalidOptionError', async () => {
    const tag = await runTest(
      Effect.gen(function* () {
        const [a] = memoryPair({ scheduler: yield* clockScheduler });
        return yield* Layer.build(layerCarrier(a, { role: 'client', maxOpen: -1 })).pipe(
          Effect.as('built'),
          Effect.catchTag('MuxInvalidOptionError', (e) => Effect.succeed(`${e._tag} ${e.code}`)),
        );
      }),
    );
    expect(tag).toBe('MuxInvalidOptionError ERR_MUX_INVALID_OPTION');
  });
});

describe('clockScheduler: an RxJS scheduler on the Effect Clock', () => {
  it('now() is the Effect Clock in ms, and timers fire only when TestClock moves past them', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const scheduler = yield* clockScheduler;
        const fired: number[] = [];
        scheduler.schedule(() => fired.push(scheduler.now()), 250);
        const start = scheduler.now();
        yield* settle;
        const beforeAdjust = [...fired];
        yield* TestClock.adjust('249 millis');
        const at249 = [...fired];
        yield* TestClock.adjust('1 millis');
        return { start, beforeAdjust, at249, fired };
      }),
    );
    expect(result).toEqual({ start: 0, beforeAdjust: [], at249: [], fired: [250] });
  });

  it('an RxJS timer on it emits at 100, 200 and 300 virtual ms; an unsubscribed action never runs', async () => {
    const result = await runTest(
      Effect.gen(function* () {
        const scheduler = yield* clockScheduler;
        const ticks: number[] = [];
        const sub = timer(100, 100, scheduler).subscribe(() => ticks.push(scheduler.now()));
        let cancelledRan = false;
        scheduler.schedule(() => (cancelledRan = true), 150).unsubscribe();
        for (let i = 0; i < 3; i++) {
          yield* TestClock.adjust('100 millis');
          yield* settle;
        }
        sub.unsubscribe();
        yield* TestClock.adjust('1 second');
        return { ticks, cancelledRan };
      }),
    );
    expect(result).toEqual({ ticks: [100, 200, 300], cancelledRan: false });
  });
});
