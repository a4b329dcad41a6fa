import fc from 'fast-check';
import { from } from 'rxjs';
import { jsonMessages, lengthPrefixed } from '../../src/index.js';
import { concat, cut, outcome } from './support.js';

const SEED = 7311;

describe('jsonMessages', () => {
  it('round-trips any JSON value whatever the chunking', () => {
    const { encode, decode } = jsonMessages();
    fc.assert(
      fc.property(fc.array(fc.jsonValue(), { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 30 }), (values, positions) => {
        const bytes = concat(outcome(from(values).pipe(encode)).values);
        const decoded = outcome(from(cut(bytes, positions)).pipe(decode));
        expect(decoded.error).toBeUndefined();
        expect(decoded.completed).toBe(true);
        // What JSON can carry: -0 becomes 0, as with JSON.stringify/parse.
        expect(decoded.values).toEqual(values.map((v) => JSON.parse(JSON.stringify(v))));
      }),
      { seed: SEED, numRuns: 200 },
    );
  });

  it('puts one length-prefixed UTF-8 JSON text on the wire per value', () => {
    const { encode } = jsonMessages();
    const [bytes] = outcome(from([{ a: 'é' }]).pipe(encode)).values;
    expect(Array.from(bytes!)).toEqual([0, 0, 0, 10, ...new TextEncoder().encode('{"a":"é"}')]);
  });

  it('bad JSON from the peer errors with ERR_MUX_DECODE', () => {
    const { frame } = lengthPrefixed();
    const { decode } = jsonMessages();
    const good = frame(new TextEncoder().encode('{"ok":1}'));
    const bad = frame(new TextEncoder().encode('{"ok":'));
    const result = outcome(from([concat([good, bad, good])]).pipe(decode));
    expect(result.values).toEqual([{ ok: 1 }]);
    expect(result.error).toMatchObject({ code: 'ERR_MUX_DECODE' });
  });

  it('invalid UTF-8 from the peer errors with ERR_MUX_DECODE', () => {
    const { frame } = lengthPrefixed();
    const { decode } = jsonMessages();
    expect(outcome(from([frame(Uint8Array.of(0x22, 0xff, 0x22))]).pipe(decode)).error).toMatchObject({ code: 'ERR_MUX_DECODE' });
  });

  it('values JSON cannot carry error with ERR_MUX_INVALID_ARGUMENT', () => {
    const { encode } = jsonMessages<unknown>();
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const v of [undefined, () => 1, 10n, cyclic]) {
      expect(outcome(from([v]).pipe(encode)).error).toMatchObject({ code: 'ERR_MUX_INVALID_ARGUMENT' });
    }
  });

  it('a message over maxMessageSize errors with ERR_MUX_LIMIT on either side', () => {
    const { encode, decode } = jsonMessages({ maxMessageSize: 10 });
    expect(outcome(from([{ abcdefgh: 1 }]).pipe(encode)).error).toMatchObject({ code: 'ERR_MUX_LIMIT' });
    const big = lengthPrefixed().frame(new TextEncoder().encode('"0123456789"'));
    expect(outcome(from([big]).pipe(decode)).error).toMatchObject({ code: 'ERR_MUX_LIMIT' });
  });
});
