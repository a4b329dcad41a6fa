import { TestScheduler } from 'rxjs/testing';

/** A TestScheduler whose assertions are jest's deep equality. */
export function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => {
    expect(actual).toEqual(expected);
  });
}

/** The `hot` helper that `TestScheduler.run` hands its callback. */
export type Hot = TestScheduler['createHotObservable'];

/**
 * Runs `fn` at virtual frame `t` (or at each of the frames `t`, in order) inside `TestScheduler.run`.
 * It is a hot marble with one event per frame, so at equal frames it runs in the order it was called relative to
 * other hot observables, exactly as a hand-written timer marble subscribed with `fn` would.
 */
export function at(hot: Hot, t: number | readonly number[], fn: () => void): void {
  const times = typeof t === 'number' ? [t] : t;
  let marble = '';
  let now = 0;
  for (const time of times) {
    if (!Number.isInteger(time) || time < now) throw new Error(`at: frame ${time} is not an integer at or after ${now}`);
    if (time > now) marble += ` ${time - now}ms `;
    marble += 'x';
    now = time + 1;
  }
  hot(marble).subscribe(fn);
}
