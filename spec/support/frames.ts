import { createHash } from 'node:crypto';
import { map, type Observable } from 'rxjs';
import type { TestScheduler } from 'rxjs/testing';
import { formatFrame, type Frame } from '../../src/index.js';

/** One line per frame, with a digest of the payload so that large frames compare exactly but diff readably. */
export function sig(frame: Frame): string {
  if (frame.type === 'data' && frame.data.byteLength > 0) {
    return `${formatFrame(frame, 0)} sha256:${createHash('sha256').update(frame.data).digest('hex').slice(0, 16)}`;
  }
  return formatFrame(frame);
}

const KEYS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** [virtual frame, frames written at that frame]; '|' marks the carrier being released (written$ completes). */
export type Step = [frame: number, frames: (Frame | '|')[]];

/** Asserts the exact frames written, in virtual time, as a marble built from `steps`. */
export function expectFrames(expectObservable: TestScheduler['expectObservable'], written$: Observable<Frame>, steps: Step[]): void {
  const values: Record<string, string> = {};
  const keyOf = new Map<string, string>();
  let marble = '';
  let at = 0;
  for (const [frame, frames] of steps) {
    if (frame < at) throw new Error(`expectFrames: step at ${frame} overlaps the previous one (ends at ${at})`);
    if (frame > at) marble += ` ${frame - at}ms `;
    const tokens = frames.map((fr) => {
      if (fr === '|') return '|';
      const s = sig(fr);
      let key = keyOf.get(s);
      if (key === undefined) {
        key = KEYS[keyOf.size];
        if (key === undefined) throw new Error('expectFrames: too many distinct frames for one marble');
        keyOf.set(s, key);
        values[key] = s;
      }
      return key;
    });
    marble += tokens.length > 1 ? `(${tokens.join('')})` : tokens[0];
    at = frame + (tokens.length > 1 ? tokens.length + 2 : 1);
  }
  expectObservable(written$.pipe(map(sig))).toBe(marble, values);
}

/** A raw 12-byte yamux header (big-endian), for inputs the frame builders cannot express. */
export function header(version: number, type: number, flags: number, streamId: number, length: number): Uint8Array {
  const out = new Uint8Array(12);
  const v = new DataView(out.buffer);
  v.setUint8(0, version);
  v.setUint8(1, type);
  v.setUint16(2, flags);
  v.setUint32(4, streamId);
  v.setUint32(8, length);
  return out;
}
