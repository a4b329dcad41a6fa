/**
 * FrameDecoder with `onDataPart`: large flagless Data frames split across carrier chunks arrive in pieces that are
 * views of the chunks (no reassembly copy); everything else arrives whole, as without the option.
 */
import fc from 'fast-check';
import { seededBytes as seeded } from '../support/bytes.js';
import { Flag, FrameDecoder, PART_MIN_BYTES, encodeFrames, type Frame } from '../../src/frame/index.js';

const big = seeded(20_000, 1);
const frames: Frame[] = [
  { type: 'data', streamId: 1, flags: 0, data: big },
  { type: 'window-update', streamId: 3, flags: 0, delta: 7 },
  { type: 'data', streamId: 3, flags: 0, data: seeded(PART_MIN_BYTES - 1, 2) },
  { type: 'data', streamId: 5, flags: Flag.FIN, data: seeded(12_000, 3) },
  { type: 'data', streamId: 7, flags: 0, data: seeded(PART_MIN_BYTES, 4) },
];
const bytes = encodeFrames(frames);

interface Piece {
  readonly id: number;
  readonly data: Uint8Array;
  readonly last: boolean;
  readonly chunk: Uint8Array;
}

function decode(chunks: readonly Uint8Array[]): { whole: Frame[]; pieces: Piece[]; idle: boolean } {
  const whole: Frame[] = [];
  const pieces: Piece[] = [];
  let current: Uint8Array = new Uint8Array(0);
  const decoder = new FrameDecoder((f) => whole.push(f), {
    onDataPart: (id, data, last) => pieces.push({ id, data, last, chunk: current }),
  });
  for (const c of chunks) {
    current = c;
    decoder.push(c);
  }
  return { whole, pieces, idle: decoder.idle };
}

function cut(points: number[]): Uint8Array[] {
  const sorted = [...new Set(points.map((p) => p % bytes.byteLength))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of [...sorted, bytes.byteLength]) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  return out;
}

describe('FrameDecoder onDataPart', () => {
  it('one chunk: every frame arrives whole, no pieces', () => {
    const { whole, pieces } = decode([bytes]);
    expect(pieces).toEqual([]);
    expect(whole).toEqual(frames);
  });

  it('a big flagless frame cut in three arrives as three views of the chunks, the last one marked', () => {
    const start = 12; // the first frame's payload
    const { whole, pieces } = decode(cut([start + 100, start + 15_000]));
    expect(pieces.map((p) => [p.id, p.data.byteLength, p.last])).toEqual([
      [1, 100, false],
      [1, 14_900, false],
      [1, 5_000, true],
    ]);
    for (const p of pieces) expect(p.data.buffer).toBe(p.chunk.buffer); // views, not copies
    expect(Buffer.concat(pieces.map((p) => p.data))).toEqual(Buffer.from(big));
    expect(whole).toEqual(frames.slice(1));
  });

  it('any chunking: the same bytes per stream; frames with flags or under PART_MIN_BYTES arrive whole', () => {
    fc.assert(
      fc.property(fc.array(fc.nat(), { maxLength: 60 }), (points) => {
        const { whole, pieces, idle } = decode(cut(points));
        expect(idle).toBe(true);
        // Reassemble: pieces of a stream, closed by a `last` piece, stand for one whole frame in its place.
        const rebuilt: Frame[] = [...whole];
        const open = new Map<number, Uint8Array[]>();
        for (const p of pieces) {
          open.set(p.id, [...(open.get(p.id) ?? []), p.data]);
          if (p.last) {
            rebuilt.push({ type: 'data', streamId: p.id, flags: 0, data: new Uint8Array(Buffer.concat(open.get(p.id)!)) });
            open.delete(p.id);
          }
        }
        expect(open.size).toBe(0);
        const byStream = (fs: Frame[]) => [...fs].sort((a, b) => a.streamId - b.streamId || a.type.localeCompare(b.type));
        expect(byStream(rebuilt)).toEqual(byStream(frames));
        // Only the big flagless frames (streams 1 and 7) may come in pieces.
        for (const p of pieces) expect([1, 7]).toContain(p.id);
        expect(whole.filter((f) => f.flags !== 0 || (f.type === 'data' && f.data.byteLength < PART_MIN_BYTES))).toEqual(
          frames.filter((f) => f.flags !== 0 || (f.type === 'data' && f.data.byteLength < PART_MIN_BYTES)),
        );
      }),
      { seed: 0x5eed_0b1e, numRuns: 300 },
    );
  });
});
