import type { Observable } from 'rxjs';
import { concatBytes } from '../support/bytes.js';

/** Cuts `bytes` at the given positions (taken modulo length + 1, sorted; repeats make empty chunks). */
export function cut(bytes: Uint8Array, positions: readonly number[]): Uint8Array[] {
  const at = positions.map((p) => p % (bytes.byteLength + 1)).sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const p of at) {
    out.push(bytes.subarray(from, p));
    from = p;
  }
  out.push(bytes.subarray(from));
  return out;
}

/** What a synchronous Observable did when subscribed. */
interface Outcome<T> {
  readonly values: T[];
  readonly error: unknown;
  readonly completed: boolean;
}

/** Subscribes and records values, error and completion (for synchronous sources). */
export function outcome<T>(source: Observable<T>): Outcome<T> {
  const values: T[] = [];
  let error: unknown;
  let completed = false;
  source.subscribe({ next: (v) => values.push(v), error: (e) => (error = e), complete: () => (completed = true) });
  return { values, error, completed };
}

/** The parts joined into one new array. */
export const concat = concatBytes;
