/**
 * Property tests: the fast codec in src/frame against the naive reference codec in
 * ./reference-codec.ts, on generated frame sequences fed in generated chunkings.
 * Every fc.assert has a fixed seed, so a failure reproduces exactly.
 */
import fc from 'fast-check';
import { from } from 'rxjs';
import { type Frame, FrameDecoder, decodeAll, decodeFrames, encodeFrame, encodeFrames } from '../../src/frame/index.js';
import { isMuxError } from '../../src/errors.js';
import { plainFrame, referenceDecode, referenceEncode } from './reference-codec.js';

const SEED = 0x5eed_0001;
const RUNS = 300;
const options = (seed: number): fc.Parameters<unknown> => ({ seed, numRuns: RUNS });

const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const streamId = fc.oneof(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 0xffff_ffff }), fc.constant(0xffff_ffff));
const flags = fc.oneof(fc.constantFrom(0, 1, 2, 4, 8, 1 | 2, 2 | 4, 4 | 8), fc.integer({ min: 0, max: 0xffff }));
const payload = fc.oneof(
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 40 }) },
  { weight: 1, arbitrary: fc.uint8Array({ minLength: 200, maxLength: 3000 }) },
);

const frameArb: fc.Arbitrary<Frame> = fc.oneof(
  fc.record({ type: fc.constant('data' as const), streamId, flags, data: payload }),
  fc.record({ type: fc.constant('window-update' as const), streamId, flags, delta: u32 }),
  fc.record({ type: fc.constant('ping' as const), streamId: fc.constant(0 as const), flags, opaque: u32 }),
  fc.record({
    type: fc.constant('go-away' as const),
    streamId: fc.constant(0 as const),
    flags,
    code: fc.oneof(fc.constantFrom(0, 1, 2), u32),
  }),
);
const framesArb = fc.array(frameArb, { maxLength: 12 });

/** Splits `bytes` at the given cut points (any order, repeats allowed: repeats make empty chunks). */
function splitAt(bytes: Uint8Array, cuts: readonly number[]): Uint8Array[] {
  const points = cuts.map((c) => c % (bytes.length + 1)).sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    chunks.push(bytes.subarray(prev, p));
    prev = p;
  }
  chunks.push(bytes.subarray(prev));
  return chunks;
}

/** A chunking plan: arbitrary cut points, or one byte per chunk, each optionally with empty chunks spliced in. */
const chunkingArb = fc.record({
  mode: fc.constantFrom('cuts', 'cuts', 'cuts', 'bytewise'),
  cuts: fc.array(fc.nat(), { maxLength: 40 }),
  empties: fc.array(fc.nat(), { maxLength: 4 }),
});

function chunk(bytes: Uint8Array, plan: { mode: string; cuts: number[]; empties: number[] }): Uint8Array[] {
  const chunks = plan.mode === 'bytewise' ? Array.from(bytes, (_, i) => bytes.subarray(i, i + 1)) : splitAt(bytes, plan.cuts);
  for (const e of plan.empties) chunks.splice(e % (chunks.length + 1), 0, new Uint8Array(0));
  return chunks;
}

function decodeChunks(chunks: readonly Uint8Array[]): { frames: Frame[]; idle: boolean } {
  const frames: Frame[] = [];
  const decoder = new FrameDecoder((f) => frames.push(f));
  for (const c of chunks) decoder.push(c);
  return { frames, idle: decoder.idle };
}

function decodeWithOperator(chunks: readonly Uint8Array[]): { frames: Frame[]; completed: boolean; error: unknown } {
  const frames: Frame[] = [];
  let completed = false;
  let error: unknown;
  from(chunks)
    .pipe(decodeFrames())
    .subscribe({
      next: (f) => frames.push(f),
      error: (e) => (error = e),
      complete: () => (completed = true),
    });
  return { frames, completed, error };
}

const plain = (frames: readonly Frame[]) => frames.map(plainFrame);

describe('fast codec vs reference codec', () => {
  it('encodeFrame/encodeFrames give the same bytes as the reference encoder', () => {
    fc.assert(
      fc.property(framesArb, (frames) => {
        const reference = referenceEncode(frames);
        expect(encodeFrames(frames)).toEqual(reference);
        const oneByOne = frames.flatMap((f) => Array.from(encodeFrame(f)));
        expect(oneByOne).toEqual(Array.from(reference));
      }),
      options(SEED),
    );
  });

  it('the reference decoder inverts the reference encoder (sanity check of the reference)', () => {
    fc.assert(
      fc.property(framesArb, (frames) => {
        const decoded = referenceDecode(referenceEncode(frames));
        expect(decoded.error).toBeUndefined();
        expect(plain(decoded.frames)).toEqual(plain(frames));
      }),
      options(SEED + 1),
    );
  });

  it('FrameDecoder fed any chunking yields the frames the reference decoder sees', () => {
    fc.assert(
      fc.property(framesArb, chunkingArb, (frames, plan) => {
        const bytes = referenceEncode(frames);
        const reference = referenceDecode(bytes);
        expect(reference.error).toBeUndefined();
        const fast = decodeChunks(chunk(bytes, plan));
        expect(fast.idle).toBe(true);
        expect(plain(fast.frames)).toEqual(plain(reference.frames));
      }),
      options(SEED + 2),
    );
  });

  it('decodeFrames() over from(chunks) yields the same frames and completes', () => {
    fc.assert(
      fc.property(framesArb, chunkingArb, (frames, plan) => {
        const bytes = referenceEncode(frames);
        const result = decodeWithOperator(chunk(bytes, plan));
        expect(result.error).toBeUndefined();
        expect(result.completed).toBe(true);
        expect(plain(result.frames)).toEqual(plain(referenceDecode(bytes).frames));
      }),
      options(SEED + 3),
    );
  });

  it('decodeAll round trips encodeFrames', () => {
    fc.assert(
      fc.property(framesArb, (frames) => {
        expect(plain(decodeAll(encodeFrames(frames)))).toEqual(plain(frames));
      }),
      options(SEED + 4),
    );
  });

  it('on corrupted input both decoders agree on the frames before the fault and on whether it is a fault', () => {
    const corruption = fc.record({
      at: fc.nat(),
      value: fc.integer({ min: 0, max: 255 }),
      dropTail: fc.nat({ max: 20 }),
    });
    fc.assert(
      fc.property(framesArb, corruption, chunkingArb, (frames, { at, value, dropTail }, plan) => {
        const clean = referenceEncode(frames);
        if (clean.length === 0) return;
        const bytes = clean.slice(0, Math.max(0, clean.length - dropTail));
        if (bytes.length > 0) bytes[at % bytes.length] = value;
        const reference = referenceDecode(bytes);

        const fastFrames: Frame[] = [];
        const decoder = new FrameDecoder((f) => fastFrames.push(f));
        let thrown: unknown;
        for (const c of chunk(bytes, plan)) {
          try {
            decoder.push(c);
          } catch (e) {
            thrown = e;
            break;
          }
        }
        expect(plain(fastFrames)).toEqual(plain(reference.frames));
        if (reference.error === 'protocol') {
          expect(isMuxError(thrown, 'ERR_MUX_PROTOCOL')).toBe(true);
        } else {
          expect(thrown).toBeUndefined();
          expect(decoder.idle).toBe(reference.error === undefined);
          // decodeAll agrees too: throws exactly when the reference saw a fault.
          if (reference.error === 'truncated') expect(() => decodeAll(bytes)).toThrow();
          else expect(plain(decodeAll(bytes))).toEqual(plain(reference.frames));
        }
      }),
      options(SEED + 5),
    );
  });
});

describe('deterministic chunkings of one mixed stream', () => {
  const frames: Frame[] = [
    { type: 'data', streamId: 1, flags: 1, data: new Uint8Array([1, 2, 3, 4, 5, 6, 7]) },
    { type: 'window-update', streamId: 1, flags: 2, delta: 0x12345678 },
    { type: 'data', streamId: 2, flags: 0, data: new Uint8Array(0) },
    { type: 'ping', streamId: 0, flags: 1, opaque: 0xcafebabe },
    { type: 'data', streamId: 0xfffffffe, flags: 4, data: new Uint8Array(30).fill(0xab) },
    { type: 'go-away', streamId: 0, flags: 0, code: 2 },
  ];
  const bytes = referenceEncode(frames);
  const expected = plain(frames);

  it('decodes the same when split into two at every position (including inside every header)', () => {
    for (let cut = 0; cut <= bytes.length; cut++) {
      const result = decodeChunks([bytes.subarray(0, cut), bytes.subarray(cut)]);
      expect({ cut, frames: plain(result.frames) }).toEqual({ cut, frames: expected });
      expect(result.idle).toBe(true);
    }
  });

  it('decodes the same one byte at a time with an empty chunk between every byte', () => {
    const chunks: Uint8Array[] = [new Uint8Array(0)];
    for (let i = 0; i < bytes.length; i++) chunks.push(bytes.subarray(i, i + 1), new Uint8Array(0));
    expect(plain(decodeChunks(chunks).frames)).toEqual(expected);
    expect(plain(decodeWithOperator(chunks).frames)).toEqual(expected);
  });
});
