import { DeadlineSweeper, type Expiring } from '../../src/util/deadlines.js';
import { at, testScheduler } from '../support/marbles.js';

/** An item whose deadline can move; it records the virtual time it expired at. */
function item(log: string[], name: string, deadline: number | undefined, now: () => number): Expiring & { deadlineAt: number | undefined } {
  return {
    deadlineAt: deadline,
    deadline() {
      return this.deadlineAt;
    },
    expire() {
      log.push(`${now()} ${name}`);
    },
  };
}

describe('DeadlineSweeper', () => {
  it('fires expire() at the deadline, not before', () => {
    const log: string[] = [];
    const ts = testScheduler();
    ts.run(({ hot }) => {
      const now = (): number => ts.now();
      const sweeper = new DeadlineSweeper(ts, now);
      const a = item(log, 'a', 10, now);
      sweeper.add(a, 10);
      at(hot, 9, () => log.push('9 check'));
    });
    expect(log).toEqual(['9 check', '10 a']);
  });

  it('uses one timer for many items: the earliest first, then it re-arms for the next', () => {
    const log: string[] = [];
    const ts = testScheduler();
    let pending = -1;
    ts.run(({ hot }) => {
      const now = (): number => ts.now();
      const sweeper = new DeadlineSweeper(ts, now);
      for (const [name, d] of [
        ['c', 30],
        ['a', 10],
        ['b', 20],
        ['a2', 10],
      ] as const)
        sweeper.add(item(log, name, d, now), d);
      // Only one action is scheduled, however many items are watched.
      at(hot, 5, () => (pending = ts.actions.length));
    });
    expect(pending).toBe(1);
    expect(log).toEqual(['10 a', '10 a2', '20 b', '30 c']);
  });

  it('delete() before the deadline: no expire()', () => {
    const log: string[] = [];
    const ts = testScheduler();
    ts.run(({ hot }) => {
      const now = (): number => ts.now();
      const sweeper = new DeadlineSweeper(ts, now);
      const a = item(log, 'a', 10, now);
      const b = item(log, 'b', 15, now);
      sweeper.add(a, 10);
      sweeper.add(b, 15);
      at(hot, 5, () => sweeper.delete(a));
    });
    expect(log).toEqual(['15 b']);
  });

  it('an item whose deadline() moved later is not expired early and is swept at its new deadline', () => {
    const log: string[] = [];
    const ts = testScheduler();
    ts.run(({ hot }) => {
      const now = (): number => ts.now();
      const sweeper = new DeadlineSweeper(ts, now);
      const a = item(log, 'a', 10, now);
      sweeper.add(a, 10);
      at(hot, 4, () => (a.deadlineAt = 25));
      at(hot, 24, () => log.push('24 check'));
    });
    expect(log).toEqual(['24 check', '25 a']);
  });

  it('deadline() returning undefined drops the item: it never expires, even if its deadline comes back', () => {
    const log: string[] = [];
    const ts = testScheduler();
    ts.run(({ hot }) => {
      const now = (): number => ts.now();
      const sweeper = new DeadlineSweeper(ts, now);
      const a = item(log, 'a', 10, now);
      const b = item(log, 'b', 40, now);
      sweeper.add(a, 10);
      sweeper.add(b, 40);
      at(hot, 5, () => (a.deadlineAt = undefined));
      at(hot, 20, () => (a.deadlineAt = 30));
    });
    expect(log).toEqual(['40 b']);
  });

  it('clear() cancels everything: no expire() and no timer left', () => {
    const log: string[] = [];
    const ts = testScheduler();
    let pending = -1;
    ts.run(({ hot }) => {
      const now = (): number => ts.now();
      const sweeper = new DeadlineSweeper(ts, now);
      sweeper.add(item(log, 'a', 10, now), 10);
      sweeper.add(item(log, 'b', 20, now), 20);
      at(hot, 5, () => {
        sweeper.clear();
        pending = ts.actions.length;
      });
    });
    expect(pending).toBe(0);
    expect(log).toEqual([]);
  });
});
