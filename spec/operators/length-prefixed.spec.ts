import fc from 'fast-check';
import { from, Subject } from 'rxjs';
import { createSession, lengthPrefixed, memoryPair, type Channel } from '../../src/index.js';
import { testScheduler } from '../support/marbles.js';
import { concat, cut, outcome } from './support.js';

const SEED = 20240611;

describe('lengthPrefixed', () => {
  it('frames a message as a u32 big-endian length then the bytes', () => {
    const { encode } = lengthPrefixed();
    const { values } = outcome(from([Uint8Array.of(0xaa, 0xbb, 0xcc), new Uint8Array(0), new Uint8Array(258)]).pipe(encode));
    expect(values.map((v) => Array.from(v.subarray(0, 7)))).toEqual([
      [0, 0, 0, 3, 0xaa, 0xbb, 0xcc],
      [0, 0, 0, 0],
      [0, 0, 1, 2, 0, 0, 0],
    ]);
    expect(values[2]!.byteLength).toBe(262);
  });

  it('decodes the same messages whatever the chunking (random cuts, empty chunks, one byte at a time)', () => {
    const { encode, decode } = lengthPrefixed({ maxMessageSize: 600 });
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ minLength: 0, maxLength: 600 }), { maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 40 }),
        (messages, positions) => {
          const bytes = concat(outcome(from(messages).pipe(encode)).values);
          const decoded = outcome(from(cut(bytes, positions)).pipe(decode));
          expect(decoded.error).toBeUndefined();
          expect(decoded.completed).toBe(true);
          expect(decoded.values.map((m) => Array.from(m))).toEqual(messages.map((m) => Array.from(m)));
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
    const bytes = concat(outcome(from([Uint8Array.of(1, 2, 3), Uint8Array.of(4)]).pipe(encode)).values);
    const oneByOne = Array.from(bytes, (b) => Uint8Array.of(b));
    expect(outcome(from(oneByOne).pipe(decode)).values.map((m) => Array.from(m))).toEqual([[1, 2, 3], [4]]);
  });

  it('errors with ERR_MUX_LIMIT as soon as a prefix declares too much, before any of it arrives', () => {
    const { decode } = lengthPrefixed({ maxMessageSize: 1000 });
    const input = new Subject<Uint8Array>();
    let error: unknown;
    const got: Uint8Array[] = [];
    input.pipe(decode).subscribe({ next: (m) => got.push(m), error: (e) => (error = e) });
    input.next(Uint8Array.of(0, 0, 0, 2, 9, 9)); // a good message of 2 bytes
    input.next(Uint8Array.of(0, 0, 3)); // three bytes of a prefix: nothing decided yet
    expect(error).toBeUndefined();
    input.next(Uint8Array.of(0xe9)); // 0x3e9 = 1001 bytes declared, no payload byte sent
    expect(error).toMatchObject({ code: 'ERR_MUX_LIMIT' });
    expect(got.map((m) => Array.from(m))).toEqual([[9, 9]]);
    expect(input.observed).toBe(false);
  });

  it('accepts a message of exactly maxMessageSize', () => {
    const { encode, decode } = lengthPrefixed({ maxMessageSize: 5 });
    const bytes = concat(outcome(from([new Uint8Array(5).fill(7)]).pipe(encode)).values);
    expect(outcome(from(cut(bytes, [2, 6])).pipe(decode)).values.map((m) => m.byteLength)).toEqual([5]);
  });

  it('the encoder refuses a message over maxMessageSize with ERR_MUX_LIMIT', () => {
    const { encode, frame } = lengthPrefixed({ maxMessageSize: 4 });
    const result = outcome(from([new Uint8Array(4), new Uint8Array(5)]).pipe(encode));
    expect(result.values).toHaveLength(1);
    expect(result.error).toMatchObject({ code: 'ERR_MUX_LIMIT' });
    expect(() => frame(new Uint8Array(5))).toThrow(expect.objectContaining({ code: 'ERR_MUX_LIMIT' }));
  });

  it('errors with ERR_MUX_DECODE when the bytes end inside a message or inside a prefix', () => {
    const { decode } = lengthPrefixed();
    expect(outcome(from([Uint8Array.of(0, 0, 0, 5, 1, 2)]).pipe(decode)).error).toMatchObject({ code: 'ERR_MUX_DECODE' });
    expect(outcome(from([Uint8Array.of(0, 0)]).pipe(decode)).error).toMatchObject({ code: 'ERR_MUX_DECODE' });
    expect(outcome(from([Uint8Array.of(0, 0, 0, 0)]).pipe(decode))).toMatchObject({ completed: true, error: undefined });
  });

  it('rejects a bad maxMessageSize with ERR_MUX_INVALID_OPTION', () => {
    expect(() => lengthPrefixed({ maxMessageSize: -1 })).toThrow(expect.objectContaining({ code: 'ERR_MUX_INVALID_OPTION' }));
    expect(() => lengthPrefixed({ maxMessageSize: 1.5 })).toThrow(expect.objectContaining({ code: 'ERR_MUX_INVALID_OPTION' }));
  });

  it('carries messages over a channel whose carrier cuts bytes at random (virtual time)', () => {
    const scheduler = testScheduler();
    scheduler.run(({ flush }) => {
      const [a, b] = memoryPair({ latency: 3, chunkSize: { min: 1, max: 9 }, seed: 5 });
      const client = createSession(a, { role: 'client', keepAlive: false });
      const server = createSession(b, { role: 'server', keepAlive: false });
      const { encode, decode } = lengthPrefixed({ maxMessageSize: 100_000 });
      const messages = [new Uint8Array(0), Uint8Array.of(1), new Uint8Array(70_000).fill(3), Uint8Array.of(4, 5)];
      const got: number[][] = [];
      let completed = false;
      server.incoming$.subscribe((req) => {
        req
          .accept()
          .incoming$.pipe(decode)
          .subscribe({ next: (m) => got.push([m.byteLength, m[0] ?? -1]), complete: () => (completed = true) });
      });
      client.open().subscribe((ch: Channel) => ch.send(from(messages).pipe(encode)).subscribe());
      flush();
      expect(got).toEqual([
        [0, -1],
        [1, 1],
        [70_000, 3],
        [2, 4],
      ]);
      expect(completed).toBe(true);
    });
  });
});
