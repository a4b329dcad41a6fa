import fc from 'fast-check';
import { from, Subject } from 'rxjs';
import { utf8Lines } from '../../src/index.js';
import { cut, outcome } from './support.js';

const SEED = 99001;
const enc = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('utf8Lines', () => {
  it('splits into the same lines whatever the chunking, characters split across chunks included', () => {
    const line = fc.string({ unit: 'grapheme', maxLength: 40 }).map((s) => s.replace(/[\r\n]/g, ''));
    fc.assert(
      fc.property(
        fc.array(fc.tuple(line, fc.boolean()), { maxLength: 15 }),
        fc.option(
          line.filter((s) => s.length > 0),
          { nil: undefined },
        ),
        fc.array(fc.nat(), { maxLength: 60 }),
        (lines, last, positions) => {
          const text = lines.map(([l, crlf]) => l + (crlf ? '\r\n' : '\n')).join('') + (last ?? '');
          const result = outcome(from(cut(enc(text), positions)).pipe(utf8Lines()));
          expect(result.error).toBeUndefined();
          expect(result.values).toEqual([...lines.map(([l]) => l), ...(last === undefined ? [] : [last])]);
        },
      ),
      { seed: SEED, numRuns: 300 },
    );
  });

  it('decodes a multibyte character cut into single bytes', () => {
    const bytes = enc('x€😀y\n');
    const result = outcome(from(Array.from(bytes, (b) => Uint8Array.of(b))).pipe(utf8Lines()));
    expect(result.values).toEqual(['x€😀y']);
  });

  it('a CRLF cut between the CR and the LF ends the line without a CR', () => {
    expect(outcome(from([enc('a\r'), enc('\nb\r'), enc('\n')]).pipe(utf8Lines())).values).toEqual(['a', 'b']);
  });

  it('keeps empty lines and emits a last line without an ending when the bytes complete', () => {
    expect(outcome(from([enc('a\n\nb')]).pipe(utf8Lines())).values).toEqual(['a', '', 'b']);
  });

  it('counts maxLineLength in UTF-8 bytes: a line of exactly the limit passes, one byte more errors with ERR_MUX_LIMIT', () => {
    expect(outcome(from([enc('€€€\n')]).pipe(utf8Lines({ maxLineLength: 9 }))).values).toEqual(['€€€']);
    const over = outcome(from([enc('ok\n€€€\nnever\n')]).pipe(utf8Lines({ maxLineLength: 8 })));
    expect(over.values).toEqual(['ok']);
    expect(over.error).toMatchObject({ code: 'ERR_MUX_LIMIT' });
  });

  it('errors as soon as an unfinished line outgrows the limit, without waiting for its end', () => {
    const input = new Subject<Uint8Array>();
    let error: unknown;
    input.pipe(utf8Lines({ maxLineLength: 10 })).subscribe({ error: (e) => (error = e) });
    input.next(enc('0123456789')); // 10 bytes: could still end here
    input.next(enc('\r')); // 11: could be the CR of a CRLF
    expect(error).toBeUndefined();
    input.next(enc('x')); // 12 bytes without an end
    expect(error).toMatchObject({ code: 'ERR_MUX_LIMIT' });
    expect(input.observed).toBe(false);
  });

  it('replaces invalid UTF-8 with U+FFFD', () => {
    expect(outcome(from([Uint8Array.of(0x61, 0xff, 0x62, 0x0a)]).pipe(utf8Lines())).values).toEqual(['a\uFFFDb']);
  });
});
