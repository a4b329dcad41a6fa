import { Effect, Stream } from 'effect';
import { TestClock } from 'effect/testing';
it('probe', async () => {
  const r = await Effect.runPromise(Effect.gen(function* () {
    const xs = yield* Stream.runCollect(Stream.make(1, 2, 3));
    yield* TestClock.adjust(10);
    return xs;
  }).pipe(Effect.provide(TestClock.layer())));
  expect(r).toEqual([1, 2, 3]);
});
