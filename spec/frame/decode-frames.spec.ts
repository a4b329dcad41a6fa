/**
 * decodeFrames as an RxJS operator: hot chunk streams in virtual time (marbles),
 * error and truncation timing, and teardown of the source.
 */
import { Observable, from, take } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { MuxError } from '../../src/errors.js';
import { Flag, type Frame, decodeFrames, encodeFrame, fromHex } from '../../src/frame/index.js';
import { concatBytes } from '../support/bytes.js';

function scheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

const x: Frame = { type: 'data', streamId: 1, flags: Flag.SYN, data: new Uint8Array([0x68, 0x69]) };
const y: Frame = { type: 'window-update', streamId: 1, flags: Flag.ACK, delta: 1024 };
const xBytes = encodeFrame(x); // 14 bytes: 00 00 0001 00000001 00000002 6869
const yBytes = encodeFrame(y); // 12 bytes: 00 01 0002 00000001 00000400

const concat = (...parts: Uint8Array[]): Uint8Array => concatBytes(parts);

describe('decodeFrames on a hot chunk stream (virtual time)', () => {
  it('emits each frame in the frame its last byte arrives, whatever the chunking', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const chunks = hot('-a-b-c|', {
        a: xBytes.subarray(0, 6), //                                first half of x's header
        b: concat(xBytes.subarray(6), yBytes.subarray(0, 4)), //    rest of x, first 4 bytes of y's header
        c: yBytes.subarray(4), //                                   rest of y
      });
      expectObservable(chunks.pipe(decodeFrames())).toBe('---x-y|', { x, y });
      expectSubscriptions(chunks.subscriptions).toBe('^-----!');
    });
  });

  it('errors in the frame the bad header completes, and unsubscribes from the source', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const bad = fromHex('00 02 0001 00000005 00000000'); // Ping on stream 5
      const chunks = hot('-a-b-c-|', { a: xBytes, b: bad.subarray(0, 8), c: bad.subarray(8) });
      const error = new MuxError('ERR_MUX_PROTOCOL', 'Ping frame on stream 5', { wireCode: 1 });
      expectObservable(chunks.pipe(decodeFrames())).toBe('-x---#', { x }, error);
      expectSubscriptions(chunks.subscriptions).toBe('^----!');
    });
  });

  it('errors with a truncated-frame error when the source completes mid-frame', () => {
    scheduler().run(({ hot, expectObservable }) => {
      const chunks = hot('-a-b|', { a: yBytes, b: xBytes.subarray(0, 13) });
      expectObservable(chunks.pipe(decodeFrames())).toBe('-y--#', { y }, expect.any(MuxError));
    });
  });

  it('unsubscribing downstream unsubscribes from the source', () => {
    scheduler().run(({ hot, expectObservable, expectSubscriptions }) => {
      const chunks = hot('-a-a-a-a|', { a: yBytes });
      expectObservable(chunks.pipe(decodeFrames()), '^--!').toBe('-y-', { y });
      expectSubscriptions(chunks.subscriptions).toBe('^--!');
    });
  });
});

describe('decodeFrames on a synchronous source', () => {
  /** A synchronous source of `count` chunks that records how many it handed out. */
  function countingSource(chunk: Uint8Array, count: number): { source: Observable<Uint8Array>; pulled: () => number } {
    let pulled = 0;
    const source = new Observable<Uint8Array>((subscriber) => {
      for (let i = 0; i < count && !subscriber.closed; i++) {
        pulled++;
        subscriber.next(chunk);
      }
      subscriber.complete();
    });
    return { source, pulled: () => pulled };
  }

  it('stops pulling the source once decoding has failed', () => {
    const { source, pulled } = countingSource(fromHex('01 00 0000 00000001 00000000'), 1000);
    let error: unknown;
    source.pipe(decodeFrames()).subscribe({ error: (e) => (error = e) });
    expect(error).toBeInstanceOf(MuxError);
    expect(pulled()).toBe(1);
  });

  it('stops iterating from(generator) after a decoding error (the generator would go on for a long time)', () => {
    let pulled = 0;
    function* chunks(): Generator<Uint8Array> {
      yield yBytes;
      for (; pulled < 100_000; pulled++) yield fromHex('00 04 0000 00000001 00000000'); // unknown type 4
    }
    const frames: Frame[] = [];
    let error: unknown;
    from(chunks())
      .pipe(decodeFrames())
      .subscribe({ next: (f) => frames.push(f), error: (e) => (error = e) });
    expect(frames).toEqual([y]);
    expect(error).toBeInstanceOf(MuxError);
    expect(pulled).toBe(0);
  });

  it('stops pulling the source when the consumer unsubscribes (take)', () => {
    const { source, pulled } = countingSource(yBytes, 1000);
    const frames: Frame[] = [];
    source.pipe(decodeFrames(), take(2)).subscribe((f) => frames.push(f));
    expect(frames).toEqual([y, y]);
    expect(pulled()).toBe(2);
  });
});
