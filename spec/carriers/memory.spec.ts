import fc from 'fast-check';
import { firstValueFrom, type Observable } from 'rxjs';
import { toArray } from 'rxjs/operators';
import { TestScheduler } from 'rxjs/testing';
import { memoryPair, type MemoryPairOptions } from '../../src/carriers/memory.js';
import { isMuxError, MuxError } from '../../src/errors.js';
import { concatBytes as concat, seededBytes } from '../support/bytes.js';

const u = (...bytes: number[]): Uint8Array => Uint8Array.from(bytes);

interface Recording {
  readonly values: Uint8Array[];
  readonly times: number[];
  completedAt: number | undefined;
  error: unknown;
  erroredAt: number | undefined;
}

/** Subscribes now and records values with their virtual time. */
function record(ts: TestScheduler, source: Observable<Uint8Array>): Recording {
  const rec: Recording = { values: [], times: [], completedAt: undefined, error: undefined, erroredAt: undefined };
  source.subscribe({
    next: (v) => {
      rec.values.push(v);
      rec.times.push(ts.now());
    },
    complete: () => {
      rec.completedAt = ts.now();
    },
    error: (e: unknown) => {
      rec.error = e;
      rec.erroredAt = ts.now();
    },
  });
  return rec;
}

function expectCarrierError(e: unknown, cause?: unknown): MuxError {
  expect(isMuxError(e, 'ERR_MUX_CARRIER')).toBe(true);
  if (cause !== undefined) expect((e as MuxError).cause).toBe(cause);
  return e as MuxError;
}

describe('memoryPair', () => {
  let ts: TestScheduler;
  beforeEach(() => {
    ts = new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
  });

  describe('delivery', () => {
    it('delivers after the one-way latency, in both directions', () => {
      ts.run(({ expectObservable }) => {
        const [a, b] = memoryPair({ scheduler: ts, latency: 5 });
        ts.schedule(() => a.write([u(1, 2, 3)]), 10);
        ts.schedule(() => b.write([u(9)]), 12);
        expectObservable(b.incoming$).toBe('15ms x', { x: u(1, 2, 3) });
        expectObservable(a.incoming$).toBe('17ms y', { y: u(9) });
      });
    });

    it('with latency 0 delivers in the same frame but never synchronously inside write', () => {
      ts.run(() => {
        const [a, b] = memoryPair({ scheduler: ts });
        const rec = record(ts, b.incoming$);
        ts.schedule(() => {
          expect(a.write([u(1)])).toBe(true);
          expect(rec.values).toEqual([]);
        }, 3);
        ts.flush();
        expect(rec.values).toEqual([u(1)]);
        expect(rec.times).toEqual([3]);
      });
    });

    it('keeps order across writes and chunks, and counts bytes', () => {
      ts.run(() => {
        const [a, b] = memoryPair({ scheduler: ts, latency: 2 });
        const rec = record(ts, b.incoming$);
        ts.schedule(() => a.write([u(1, 2), u(3)]), 0);
        ts.schedule(() => a.write([u(4), u(), u(5, 6)]), 0);
        ts.schedule(() => a.write([u(7)]), 1);
        ts.flush();
        expect(rec.values).toEqual([u(1, 2), u(3), u(4), u(5, 6), u(7)]);
        expect(rec.times).toEqual([2, 2, 2, 2, 3]);
        expect(a.bytesWritten).toBe(7);
        expect(a.bytesDelivered).toBe(7);
        expect(a.bytesInFlight).toBe(0);
        expect(b.bytesWritten).toBe(0);
      });
    });

    it('does not copy: delivered chunks are the written chunks (or views of them)', () => {
      ts.run(() => {
        const [a, b] = memoryPair({ scheduler: ts, chunkSize: 2 });
        const rec = record(ts, b.incoming$);
        const chunk = u(1, 2, 3);
        const whole = u(4);
        a.write([chunk, whole]);
        ts.flush();
        expect(rec.values.map((v) => v.buffer)).toEqual([chunk.buffer, chunk.buffer, whole.buffer]);
        expect(rec.values[2]).toBe(whole);
      });
    });

    it('a reader that makes the writer write again at latency 0 is fed from later actions, without recursion', () => {
      ts.run(() => {
        const [a, b] = memoryPair({ scheduler: ts });
        let depth = 0;
        let maxDepth = 0;
        let received = 0;
        b.incoming$.subscribe((chunk) => {
          depth++;
          maxDepth = Math.max(maxDepth, depth);
          received += chunk.byteLength;
          if (received < 10_000) a.write([u(1)]);
          depth--;
        });
        a.write([u(1)]);
        ts.flush();
        expect(received).toBe(10_000);
        expect(maxDepth).toBe(1);
        expect(ts.now()).toBe(0);
      });
    });

    it('one delivery action only delivers bytes written before it started (other work interleaves)', () => {
      ts.run(() => {
        const [a, b] = memoryPair({ scheduler: ts });
        const log: string[] = [];
        b.incoming$.subscribe((chunk) => {
          log.push(`chunk ${chunk[0]}`);
          if (chunk[0] === 1) {
            ts.schedule(() => log.push('other'), 0);
            a.write([u(2)]);
          }
        });
        a.write([u(1)]);
        ts.flush();
        expect(log).toEqual(['chunk 1', 'other', 'chunk 2']);
      });
    });

    it('ping-pong at latency 0 runs many round trips without growing the stack', () => {
      ts.run(() => {
        const [a, b] = memoryPair({ scheduler: ts });
        let rounds = 0;
        b.incoming$.subscribe((chunk) => b.write([chunk]));
        a.incoming$.subscribe((chunk) => {
          if (++rounds < 5_000) a.write([chunk]);
        });
        a.write([u(42)]);
        ts.flush();
        expect(rounds).toBe(5_000);
      });
    });
  });

  describe('chunking', () => {
    it('cuts into pieces of at most chunkSize bytes, never merging chunks', () => {
      ts.run(({ expectObservable }) => {
        const [a, b] = memoryPair({ scheduler: ts, latency: 1, chunkSize: 4 });
        a.write([u(0, 1, 2, 3, 4, 5, 6, 7, 8, 9), u(10, 11)]);
        expectObservable(b.incoming$).toBe('1ms (wxyz)', {
          w: u(0, 1, 2, 3),
          x: u(4, 5, 6, 7),
          y: u(8, 9),
          z: u(10, 11),
        });
      });
    });

    it('seeded random chunking preserves every byte, respects min/max and is reproducible', () => {
      const data = seededBytes(5000, 7);
      const run = (seed: number): number[] => {
        const local = new TestScheduler((x, y) => expect(x).toEqual(y));
        let sizes: number[] = [];
        local.run(() => {
          const [a, b] = memoryPair({ scheduler: local, latency: 3, chunkSize: { min: 3, max: 9 }, seed });
          const rec = record(local, b.incoming$);
          // Chunks of 100 bytes: pieces are 3..9 except the tail of each chunk.
          const chunks: Uint8Array[] = [];
          for (let i = 0; i < data.length; i += 100) chunks.push(data.subarray(i, i + 100));
          a.write(chunks.slice(0, 25));
          local.schedule(() => a.write(chunks.slice(25)), 1);
          local.schedule(() => a.end(), 2);
          local.flush();
          expect(concat(rec.values)).toEqual(data);
          expect(rec.completedAt).toBe(5);
          sizes = rec.values.map((v) => v.byteLength);
          const bad: number[] = [];
          let inChunk = 0;
          for (const size of sizes) {
            inChunk += size;
            const tail = inChunk === 100;
            if (tail) inChunk = 0;
            if (size > 9 || (!tail && size < 3)) bad.push(size);
          }
          expect(bad).toEqual([]);
        });
        return sizes;
      };
      const first = run(42);
      expect(run(42)).toEqual(first);
      expect(run(43)).not.toEqual(first);
    });

    it('a chunkSize function gets the remaining bytes and the seeded rng; results are clamped', () => {
      ts.run(() => {
        const seen: number[] = [];
        const [a, b] = memoryPair({
          scheduler: ts,
          seed: 5,
          chunkSize: (remaining, rng) => {
            seen.push(remaining);
            expect(rng()).toBeGreaterThanOrEqual(0);
            return remaining > 6 ? 3 : 0; // 0 is clamped to 1
          },
        });
        const rec = record(ts, b.incoming$);
        a.write([u(1, 2, 3, 4, 5, 6, 7, 8, 9)]);
        ts.flush();
        expect(rec.values).toEqual([u(1, 2, 3), u(4), u(5), u(6), u(7), u(8), u(9)]);
        expect(seen).toEqual([9, 6, 5, 4, 3, 2, 1]);
      });
    });

    it('property: any writes, chunking and latency deliver the same bytes in order', () => {
      fc.assert(
        fc.property(
          fc.array(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 4 }), { maxLength: 20 }),
          fc.integer({ min: 1, max: 16 }),
          fc.integer({ min: 0, max: 16 }),
          fc.integer({ min: 0, max: 20 }),
          fc.integer(),
          (writes, min, extra, latency, seed) => {
            const local = new TestScheduler((x, y) => expect(x).toEqual(y));
            local.run(() => {
              const [a, b] = memoryPair({ scheduler: local, latency, chunkSize: { min, max: min + extra }, seed });
              const rec = record(local, b.incoming$);
              writes.forEach((chunks, i) => {
                local.schedule(() => a.write(chunks), i);
              });
              local.schedule(() => a.end(), writes.length);
              local.flush();
              expect(concat(rec.values)).toEqual(concat(writes.flat()));
              expect(rec.completedAt).toBe(writes.length + latency);
            });
          },
        ),
        { seed: 20240601, numRuns: 200 },
      );
    });
  });

  describe('capacity and drain$', () => {
    it('write returns false once in flight reaches capacity; drain$ emits at <= capacity/2', () => {
      ts.run(({ expectObservable }) => {
        const [a, b] = memoryPair({ scheduler: ts, latency: 5, capacity: 10 });
        b.incoming$.subscribe();
        ts.schedule(() => expect(a.write([new Uint8Array(6)])).toBe(true), 0);
        ts.schedule(() => {
          expect(a.write([new Uint8Array(6)])).toBe(false);
          expect(a.bytesInFlight).toBe(12);
        }, 2);
        // At 5 the first 6 bytes land: 6 in flight > 5, no drain yet. At 7 the rest: 0 in flight -> drain.
        ts.schedule(() => expect(a.bytesInFlight).toBe(6), 6);
        expectObservable(a.drain$).toBe('7ms d', { d: undefined });
      });
    });

    it('a write reaching exactly capacity returns false; drain fires once per saturation', () => {
      ts.run(({ expectObservable }) => {
        const [a, b] = memoryPair({ scheduler: ts, latency: 1, chunkSize: 1, capacity: 4 });
        b.incoming$.subscribe();
        ts.schedule(() => expect(a.write([new Uint8Array(4)])).toBe(false), 0);
        ts.schedule(() => expect(a.write([new Uint8Array(1)])).toBe(true), 2);
        ts.schedule(() => expect(a.write([new Uint8Array(8)])).toBe(false), 3);
        expectObservable(a.drain$).toBe('1ms d 2ms d', { d: undefined });
      });
    });

    it('bytes held for a reader that has not subscribed count as in flight', () => {
      ts.run(() => {
        const [a, b] = memoryPair({ scheduler: ts, capacity: 4 });
        const drains: number[] = [];
        a.drain$.subscribe(() => drains.push(ts.now()));
        expect(a.write([new Uint8Array(5)])).toBe(false);
        ts.schedule(() => b.incoming$.subscribe(), 10);
        ts.flush();
        expect(drains).toEqual([10]);
        expect(a.bytesDelivered).toBe(5);
      });
    });
  });

  describe('stall', () => {
    it('stall holds delivery and makes writes return false; unstall delivers overdue bytes then drains', () => {
      ts.run(({ expectObservable }) => {
        const [a, b] = memoryPair({ scheduler: ts, latency: 5 });
        ts.schedule(() => a.stall(), 0);
        ts.schedule(() => {
          expect(a.stalled).toBe(true);
          expect(a.write([u(1)])).toBe(false);
        }, 1);
        ts.schedule(() => expect(a.write([u(2)])).toBe(false), 18);
        ts.schedule(() => a.unstall(), 20);
        // u(1) was due at 6 (overdue at 20), u(2) is due at 23.
        expectObservable(b.incoming$).toBe('20ms x 2ms y', { x: u(1), y: u(2) });
        expectObservable(a.drain$).toBe('20ms d', { d: undefined });
      });
    });

    it('a stall() from inside a delivery holds the rest of that delivery', () => {
      ts.run(() => {
        const [a, b] = memoryPair({ scheduler: ts, latency: 1 });
        const rec = record(ts, b.incoming$);
        a.write([u(1), u(2), u(3)]);
        ts.schedule(() => a.stall(), 0);
        ts.flush();
        expect(rec.values).toEqual([]);
        a.unstall();
        ts.flush();
        expect(rec.values).toEqual([u(1), u(2), u(3)]);
      });
      const local = new TestScheduler((x, y) => expect(x).toEqual(y));
      local.run(() => {
        const [a, b] = memoryPair({ scheduler: local, latency: 1 });
        const got: Uint8Array[] = [];
        b.incoming$.subscribe((chunk) => {
          got.push(chunk);
          a.stall();
        });
        a.write([u(1), u(2), u(3)]);
        local.schedule(() => {
          expect(got).toEqual([u(1)]);
          a.unstall();
        }, 10);
        local.flush();
        expect(got).toEqual([u(1), u(2)]); // stalled again by the handler
        expect(a.bytesInFlight).toBe(1);
      });
    });

    it('stall on one end does not affect the other direction', () => {
      ts.run(({ expectObservable }) => {
        const [a, b] = memoryPair({ scheduler: ts, latency: 1 });
        a.stall();
        ts.schedule(() => expect(b.write([u(7)])).toBe(true), 2);
        expectObservable(a.incoming$).toBe('3ms x', { x: u(7) });
      });
    });
  });

  describe('end', () => {
    it('completes the peer after the pending bytes; half-close keeps the other direction open', () => {
      ts.run(({ expectObservable }) => {
        const [a, b] = memoryPair({ scheduler: ts, latency: 5 });
        const drain = record(ts, a.drain$ as unknown as Observable<Uint8Array>);
        ts.schedule(() => a.write([u(1)]), 0);
        ts.schedule(() => a.write([u(2)]), 2);
        ts.schedule(() => a.end(), 3);
        ts.schedule(() => {
          expect(a.write([u(99)])).toBe(false);
          expect(a.bytesWritten).toBe(2);
          b.write([u(3)]);
        }, 4);
        expectObservable(b.incoming$).toBe('5ms x-y|', { x: u(1), y: u(2) });
        expectObservable(a.incoming$).toBe('9ms z', { z: u(3) });
        ts.schedule(() => expect(drain.completedAt).toBe(3), 4);
      });
    });

    it('end is delivered with the latency even with nothing pending', () => {
      ts.run(({ expectObservable }) => {
        const [a, b] = memoryPair({ scheduler: ts, latency: 4 });
        ts.schedule(() => a.end(), 1);
        expectObservable(b.incoming$).toBe('5ms |');
      });
    });
  });

  describe('destroy', () => {
    it('without error: drops pending bytes, peer completes after the latency, own incoming$ completes at once', () => {
      ts.run(({ expectObservable }) => {
        const [a, b] = memoryPair({ scheduler: ts, latency: 5 });
        ts.schedule(() => a.write([u(1)]), 0);
        ts.schedule(() => b.write([u(2)]), 1);
        ts.schedule(() => a.destroy(), 2);
        ts.schedule(() => {
          expect(a.write([u(3)])).toBe(false);
          // b does not know yet: its write is accepted, then dropped.
          expect(b.write([u(4)])).toBe(true);
        }, 3);
        ts.schedule(() => {
          expect(b.write([u(5)])).toBe(false);
          expect(b.bytesDelivered).toBe(0);
          expect(a.bytesDelivered).toBe(0);
        }, 8);
        expectObservable(a.incoming$).toBe('2ms |');
        expectObservable(b.incoming$).toBe('7ms |');
      });
    });

    it('with an error: peer incoming$ errors with ERR_MUX_CARRIER carrying the cause', () => {
      ts.run(() => {
        const [a, b] = memoryPair({ scheduler: ts, latency: 5 });
        const recA = record(ts, a.incoming$);
        const recB = record(ts, b.incoming$);
        const boom = new Error('boom');
        ts.schedule(() => a.destroy(boom), 2);
        ts.flush();
        expect(recA.completedAt).toBe(2);
        expect(recB.erroredAt).toBe(7);
        const e = expectCarrierError(recB.error, boom);
        expect(e.remote).toBe(true);
      });
    });

    it('destroy overrides an end that has not arrived yet, and is a no-op after it arrived', () => {
      ts.run(({ expectObservable }) => {
        const [a, b] = memoryPair({ scheduler: ts, latency: 5 });
        const [c, d] = memoryPair({ scheduler: ts, latency: 5 });
        ts.schedule(() => {
          a.write([u(1)]);
          a.end();
          c.write([u(1)]);
          c.end();
        }, 0);
        ts.schedule(() => a.destroy(new Error('x')), 2);
        ts.schedule(() => c.destroy(new Error('x')), 6);
        expectObservable(b.incoming$).toBe('7ms #', undefined, expect.any(MuxError));
        expectObservable(d.incoming$).toBe('5ms (x|)', { x: u(1) });
      });
    });

    it('drain$ completes after end() or destroy()', () => {
      ts.run(({ expectObservable }) => {
        const [a, b] = memoryPair({ scheduler: ts });
        ts.schedule(() => a.end(), 3);
        ts.schedule(() => b.destroy(), 4);
        expectObservable(a.drain$).toBe('3ms |');
        expectObservable(b.drain$).toBe('4ms |');
      });
    });
  });

  describe('fail', () => {
    it('errors this end only; the peer keeps going until this end is destroyed', () => {
      ts.run(() => {
        const [a, b] = memoryPair({ scheduler: ts, latency: 2 });
        const recA = record(ts, a.incoming$);
        const recB = record(ts, b.incoming$);
        const cause = new Error('ECONNRESET');
        ts.schedule(() => b.write([u(1)]), 0);
        ts.schedule(() => b.write([u(2)]), 2);
        ts.schedule(() => a.fail(cause), 3); // u(2) was due at 4: dropped
        ts.schedule(() => {
          expect(a.write([u(3)])).toBe(true);
        }, 4);
        ts.schedule(() => a.destroy(), 10);
        ts.flush();
        expect(recA.values).toEqual([u(1)]);
        expect(recA.erroredAt).toBe(3);
        expectCarrierError(recA.error, cause);
        expect(b.bytesDelivered).toBe(1);
        expect(recB.values).toEqual([u(3)]);
        expect(recB.completedAt).toBe(12);
      });
    });
  });

  describe('incoming$ subscription', () => {
    it('buffers bytes and the end that arrive before the subscription', () => {
      ts.run(({ expectObservable }) => {
        const [a, b] = memoryPair({ scheduler: ts, latency: 1 });
        ts.schedule(() => a.write([u(1)]), 0);
        ts.schedule(() => a.write([u(2)]), 1);
        ts.schedule(() => a.end(), 2);
        ts.schedule(() => expect(a.bytesInFlight).toBe(2), 9);
        expectObservable(b.incoming$, '10ms ^').toBe('10ms (xy|)', { x: u(1), y: u(2) });
      });
    });

    it('a fail() before the subscription is reported on subscription', () => {
      ts.run(() => {
        const [a] = memoryPair({ scheduler: ts });
        a.fail(new Error('early'));
        const rec = record(ts, a.incoming$);
        ts.flush();
        expectCarrierError(rec.error);
      });
    });

    it('a second subscription errors with ERR_MUX_READ_BUSY, even after the first unsubscribed', () => {
      ts.run(() => {
        const [, b] = memoryPair({ scheduler: ts });
        const sub = b.incoming$.subscribe();
        let err: unknown;
        b.incoming$.subscribe({ error: (e: unknown) => (err = e) });
        expect(isMuxError(err, 'ERR_MUX_READ_BUSY')).toBe(true);
        sub.unsubscribe();
        err = undefined;
        b.incoming$.subscribe({ error: (e: unknown) => (err = e) });
        expect(isMuxError(err, 'ERR_MUX_READ_BUSY')).toBe(true);
      });
    });

    it('unsubscribing stops reading: bytes in flight are dropped and a saturated writer drains', () => {
      ts.run(() => {
        const [a, b] = memoryPair({ scheduler: ts, latency: 5, capacity: 4 });
        const drains: number[] = [];
        a.drain$.subscribe(() => drains.push(ts.now()));
        const sub = b.incoming$.subscribe();
        ts.schedule(() => expect(a.write([new Uint8Array(8)])).toBe(false), 0);
        ts.schedule(() => sub.unsubscribe(), 2);
        ts.schedule(() => expect(a.write([new Uint8Array(8)])).toBe(true), 3);
        ts.flush();
        expect(drains).toEqual([2]);
        expect(a.bytesInFlight).toBe(0);
        expect(a.bytesDelivered).toBe(0);
        expect(a.bytesWritten).toBe(16);
      });
    });
  });

  describe('options', () => {
    it.each<[string, MemoryPairOptions]>([
      ['negative latency', { latency: -1 }],
      ['NaN latency', { latency: NaN }],
      ['zero capacity', { capacity: 0 }],
      ['zero chunkSize', { chunkSize: 0 }],
      ['fractional chunkSize', { chunkSize: 1.5 }],
      ['min > max', { chunkSize: { min: 5, max: 2 } }],
      ['fractional seed', { seed: 1.5 }],
      ['bad scheduler', { scheduler: {} as never }],
    ])('rejects %s with ERR_MUX_INVALID_OPTION', (_name, options) => {
      let err: unknown;
      try {
        memoryPair(options);
      } catch (e) {
        err = e;
      }
      expect(isMuxError(err, 'ERR_MUX_INVALID_OPTION')).toBe(true);
    });

    it('defaults to asyncScheduler', async () => {
      const [a, b] = memoryPair();
      const received = firstValueFrom(b.incoming$.pipe(toArray()));
      a.write([u(1, 2)]);
      a.end();
      expect(await received).toEqual([u(1, 2)]);
      b.destroy();
    });
  });
});
